-- community: postings for one-word forum search. A common word matches thousands of posts;
-- the GIN index finds them, but every match is then a heap page read (5,300 pages for one
-- word at 1M posts) before the 1,000 newest are ranked, and ranking reads each post and its
-- thread again (7,000 more). community.post_terms lists each post under every lexeme of its
-- body (and post 1 under its thread's title) with the post's rank for that word alone, so a
-- one-word query reads the 1,000 newest postings of the word from one index (rank included),
-- orders them by rank, and reads posts and threads only for the page it returns.
-- Multi-word, phrase, negated and "or" queries keep the GIN path.

create table community.post_terms (
    term text not null,
    post_id bigint not null,
    rank real not null
);
comment on table community.post_terms is
'Postings of the forum: one row per (lexeme, post) for every lexeme of the post''s body and,
for post number 1, of its thread''s title, with rank = what api.community_search_forum ranks
the post by for that one word (private.community_term_rank: body rank + 2 x title rank).
Read only by api.community_search_forum (a one-word query takes the newest posts of the term
from the primary key, backwards, rank included). Kept in the same transaction by the
triggers posts_terms_* and threads_terms_*. No foreign key: rows of a deleted post are
removed through the primary key by those triggers (an index on post_id alone would double
the table''s size for no reader).';
alter table community.post_terms enable row level security;
-- No client grant and no policy: only the definer search reads it.
grant select on community.post_terms to service_role;

-- The postings of a post: its body's lexemes and, for the first post, its title's.
create function private.community_post_lexemes(
    p_body tsvector, p_title tsvector, p_post_number int
) returns text[]
language sql immutable
set search_path = ''
as $$
    select tsvector_to_array(case when p_post_number = 1
        then p_body || coalesce(p_title, ''::tsvector) else p_body end)
$$;
comment on function private.community_post_lexemes(tsvector, tsvector, int) is
'The terms a post is listed under in community.post_terms (body, and title for post 1).';
revoke execute on function private.community_post_lexemes(tsvector, tsvector, int) from public;

-- The rank api.community_search_forum gives a post for a query of this one lexeme.
create function private.community_term_rank(p_body tsvector, p_title tsvector, p_term text)
returns real
language sql immutable
set search_path = ''
as $$
    select (ts_rank(p_body, x.q) + ts_rank(coalesce(p_title, ''::tsvector), x.q) * 2)::real
    from (
        select ('''' || replace(replace(p_term, '\', '\\'), '''', '''''') || '''')::tsquery as q
    ) as x
$$;
comment on function private.community_term_rank(tsvector, tsvector, text) is
'ts_rank(body, term) + 2 x ts_rank(thread title, term): the rank of a post for a one-word
query, as api.community_search_forum computes it for any query.';
revoke execute on function private.community_term_rank(tsvector, tsvector, text) from public;

-- Recompute the postings of posts for some terms: [{id, terms: [...]}]. Each (term, post) is
-- removed, then put back where the term is still one of the post's (with its current rank);
-- p_keep = false only removes (a thread about to be deleted).
create function private.community_post_terms_refresh(p_changes jsonb, p_keep boolean)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    delete from community.post_terms as pt
    using jsonb_array_elements(p_changes) as c,
        jsonb_array_elements_text(c -> 'terms') as t (term)
    where pt.term = t.term and pt.post_id = (c ->> 'id')::bigint;
    if p_keep then
        insert into community.post_terms (term, post_id, rank)
        select t.term, p.id, private.community_term_rank(p.body_tsv, th.title_tsv, t.term)
        from jsonb_array_elements(p_changes) as c
        inner join community.posts as p on p.id = (c ->> 'id')::bigint
        inner join community.threads as th on p.thread_id = th.id
        cross join lateral jsonb_array_elements_text(c -> 'terms') as t (term)
        where t.term = any(private.community_post_lexemes(p.body_tsv, th.title_tsv, p.post_number))
        on conflict do nothing;
    end if;
end;
$$;
comment on function private.community_post_terms_refresh(jsonb, boolean) is
'Postings of changed posts for the given terms ([{id, terms}]): removed, and put back with
their current rank where the term is still the post''s (unless p_keep is false).';
revoke execute on function private.community_post_terms_refresh(jsonb, boolean) from public;

create function private.community_post_terms_posts() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_changes jsonb;
begin
    if tg_op = 'INSERT' then
        insert into community.post_terms (term, post_id, rank)
        select t.term, n.id, private.community_term_rank(n.body_tsv, th.title_tsv, t.term)
        from new_posts as n
        left join community.threads as th on n.thread_id = th.id,
            unnest(private.community_post_lexemes(n.body_tsv, th.title_tsv, n.post_number))
            as t (term)
        on conflict do nothing;
        return null;
    end if;
    if tg_op = 'UPDATE' then
        -- the terms of the old and the new body, of posts whose body changed
        select jsonb_agg(jsonb_build_object('id', o.id, 'terms', to_jsonb(
            private.community_post_lexemes(o.body_tsv, th.title_tsv, o.post_number)
            || private.community_post_lexemes(n.body_tsv, th.title_tsv, n.post_number)
        ))) into v_changes
        from old_posts as o
        inner join new_posts as n on o.id = n.id
        left join community.threads as th on o.thread_id = th.id
        where o.body_tsv is distinct from n.body_tsv or o.post_number <> n.post_number;
    else
        select jsonb_agg(jsonb_build_object('id', o.id, 'terms', to_jsonb(
            private.community_post_lexemes(o.body_tsv, th.title_tsv, o.post_number)
        ))) into v_changes
        from old_posts as o
        left join community.threads as th on o.thread_id = th.id;
    end if;
    if v_changes is not null then
        perform private.community_post_terms_refresh(v_changes, true);
    end if;
    return null;
end;
$$;
comment on function private.community_post_terms_posts() is
'Statement trigger on community.posts: the postings of inserted, edited and deleted posts.';
revoke execute on function private.community_post_terms_posts() from public;

create function private.community_post_terms_threads() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_changes jsonb;
begin
    if tg_op = 'DELETE' then
        -- before the cascade removes the posts, while the title is still known
        select jsonb_agg(jsonb_build_object(
            'id', p.id, 'terms', to_jsonb(tsvector_to_array(old.title_tsv))
        )) into v_changes
        from community.posts as p where p.thread_id = old.id and p.post_number = 1;
        if v_changes is not null then
            perform private.community_post_terms_refresh(v_changes, false);
        end if;
        return old;
    end if;
    -- A new title changes which terms list post 1, and every post's rank for its words.
    select jsonb_agg(jsonb_build_object('id', p.id, 'terms', to_jsonb(
        tsvector_to_array(o.title_tsv) || tsvector_to_array(n.title_tsv)
    ))) into v_changes
    from old_threads as o
    inner join new_threads as n on o.id = n.id
    inner join community.posts as p on o.id = p.thread_id
    where o.title_tsv is distinct from n.title_tsv;
    if v_changes is not null then
        perform private.community_post_terms_refresh(v_changes, true);
    end if;
    return null;
end;
$$;
comment on function private.community_post_terms_threads() is
'Triggers on community.threads: postings follow a title change (statement trigger: post 1''s
title terms, every post''s rank for the title''s words) and post 1''s title postings go
before the thread is deleted (row trigger).';
revoke execute on function private.community_post_terms_threads() from public;

-- Existing posts first, then the triggers keep it.
insert into community.post_terms (term, post_id, rank)
select
    t.term,
    p.id,
    private.community_term_rank(p.body_tsv, th.title_tsv, t.term) as rank
from community.posts as p
inner join community.threads as th on p.thread_id = th.id,
    unnest(private.community_post_lexemes(p.body_tsv, th.title_tsv, p.post_number)) as t (term);
-- The key after the load: one sorted build instead of 20M random inserts at 1M posts.
alter table community.post_terms add primary key (term, post_id) include (rank);
analyze community.post_terms;

create trigger posts_terms_insert after insert on community.posts
referencing new table as new_posts
for each statement execute function private.community_post_terms_posts();
create trigger posts_terms_update after update on community.posts
referencing old table as old_posts new table as new_posts
for each statement execute function private.community_post_terms_posts();
create trigger posts_terms_delete after delete on community.posts
referencing old table as old_posts
for each statement execute function private.community_post_terms_posts();
create trigger threads_terms_update after update on community.threads
referencing old table as old_threads new table as new_threads
for each statement execute function private.community_post_terms_threads();
create trigger threads_terms_delete before delete on community.threads
for each row execute function private.community_post_terms_threads();

create or replace function api.community_search_forum(
    p_query text, p_category_id int default null, p_limit int default 20, p_offset int default 0
)
returns table (
    post_id bigint,
    thread_id bigint,
    post_number int,
    category_id int,
    title text,
    snippet text,
    author_username text,
    rank real,
    created_at timestamptz
)
language plpgsql stable
-- Definer, with the read rules applied below: under RLS the planner may not use the GIN
-- indexes for the non-leakproof @@ operator and falls back to scanning every post.
security definer
set search_path = ''
as $$
declare
    v_uid uuid := (select auth.uid());
    v_staff boolean := v_uid is not null and private.user_has_permission(v_uid, 'community.moderate');
    v_categories int[];
    v_query tsquery;
    v_term text;  -- the lexeme of a one-word query (postings path), else null
begin
    perform private.require_scope('api.community_search_forum');  -- API key scope
    if p_query is null or char_length(btrim(p_query)) not between 2 and 200 then
        perform private.raise_error('invalid_argument', 'p_query is 2-200 characters.', '22023',
            jsonb_build_object('field', 'p_query'));
    end if;
    if p_limit is null or p_limit not between 1 and 50 or p_offset is null
        or p_offset not between 0 and 500 then
        perform private.raise_error('invalid_argument',
            'p_limit is 1-50 and p_offset 0-500.', '22023');
    end if;
    v_query := websearch_to_tsquery('english', p_query);
    if v_query::text = '' then
        return;
    end if;
    if numnode(v_query) = 1 then  -- one operand: a single lexeme (no operator, no "not")
        v_term := (tsvector_to_array(v_query::text::tsvector))[1];
    end if;
    select coalesce(array_agg(c.id), '{}') into v_categories from community.categories as c
    where private.community_level_ok(c.read_level, v_uid)
      and (p_category_id is null or c.id = p_category_id);
    if v_term is not null then
        -- One word: the 1,000 newest postings of its lexeme (bodies and first posts' titles)
        -- with their stored rank, from one index; posts and threads are read best first,
        -- only until the page is full.
        return query
        with hits as (
            select h.id, h.rank from (
                select pt.post_id as id, pt.rank from community.post_terms as pt
                where pt.term = v_term
                order by pt.post_id desc
                limit 1000
            ) as h
            order by h.rank desc, h.id desc
        ),
        ranked as (
            select
                p.id, p.thread_id, p.post_number, p.author_id, p.body, p.created_at,
                t.category_id, t.title, h.rank
            from hits as h
            join community.posts as p on p.id = h.id
            join community.threads as t on t.id = p.thread_id
            where t.category_id = any(v_categories)
              -- Inline copies of private.community_content_visible, as below.
              and ((t.hidden_at is null and t.deleted_at is null)
                   or (t.author_id = v_uid and t.deleted_at is null) or v_staff)
              and ((p.hidden_at is null and p.deleted_at is null)
                   or (p.author_id = v_uid and p.deleted_at is null) or v_staff)
            order by h.rank desc, h.id desc
            limit p_limit offset p_offset
        )
        select
            r.id, r.thread_id, r.post_number, r.category_id, r.title,
            ts_headline('english', left(r.body, 2000), v_query,
                'MaxWords=30, MinWords=10, MaxFragments=1'),
            private.community_username(r.author_id), r.rank, r.created_at
        from ranked as r
        order by r.rank desc, r.id desc;
        return;
    end if;
    return query
    -- Rank only the 1,000 newest matches: ranking reads every candidate's document, and
    -- a common word matches thousands of posts (measured: p95 190 ms at 1M posts when
    -- ranking all of them).
    with hits as (
        select m.id from (
            select p.id from community.posts as p where p.body_tsv @@ v_query
            union
            select p.id from community.threads as t
            join community.posts as p on p.thread_id = t.id and p.post_number = 1
            where t.title_tsv @@ v_query
        ) as m
        order by m.id desc
        limit 1000
    ),
    ranked as (
        select
            p.id, p.thread_id, p.post_number, p.author_id, p.body, p.created_at,
            t.category_id, t.title,
            (ts_rank(p.body_tsv, v_query) + ts_rank(t.title_tsv, v_query) * 2)::real as rank
        from hits as h
        join community.posts as p on p.id = h.id
        join community.threads as t on t.id = p.thread_id
        where t.category_id = any(v_categories)
          -- Inline copies of private.community_content_visible (the planner keeps the
          -- candidate scan cheap); tests/community/test_visibility_agreement.py checks them.
          and ((t.hidden_at is null and t.deleted_at is null)
               or (t.author_id = v_uid and t.deleted_at is null) or v_staff)
          and ((p.hidden_at is null and p.deleted_at is null)
               or (p.author_id = v_uid and p.deleted_at is null) or v_staff)
        order by rank desc, p.id desc
        limit p_limit offset p_offset
    )
    select
        r.id, r.thread_id, r.post_number, r.category_id, r.title,
        ts_headline('english', left(r.body, 2000), v_query,
            'MaxWords=30, MinWords=10, MaxFragments=1'),
        private.community_username(r.author_id), r.rank, r.created_at
    from ranked as r
    order by r.rank desc, r.id desc;
end;
$$;
comment on function api.community_search_forum(text, int, int, int) is
'Full-text search (English stemming, web-search syntax: "quoted phrase", -not, or) over
thread titles and post bodies you may read, best first among the 1,000 newest matches,
with a highlighted snippet.
Pages by p_offset (at most 500). Errors: invalid_argument.';
