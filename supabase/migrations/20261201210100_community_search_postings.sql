-- community: postings for one-word forum search. A common word matches thousands of posts;
-- the GIN index finds them, but every match is then a heap page read (5,300 pages for one
-- word at 1M posts) before the 1,000 newest are ranked. community.post_terms lists each
-- post under every lexeme of its body (term, post id), so the newest matches of one word are
-- a backward index-only range scan of at most 1,000 entries. Multi-word, phrase, negated and
-- "or" queries keep the GIN path (their matches are few, or they need positions).

create table community.post_terms (
    term text not null,
    post_id bigint not null
);
comment on table community.post_terms is
'Postings of the forum: one row per (lexeme, post) for every lexeme of the post''s body and,
for post number 1, of its thread''s title. Read only by api.community_search_forum (a
one-word query takes the newest posts of the term from the primary key, backwards). Kept in
the same transaction by the statement triggers posts_terms_* and threads_terms_*. No foreign
key: rows of a deleted post are removed through the primary key by those triggers (an index
on post_id alone would double the table''s size for no reader).';
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

-- Replace the postings of changed posts: (post, old lexemes, new lexemes) in p_changes.
create function private.community_post_terms_apply(p_changes jsonb) returns void
language sql
security definer
set search_path = ''
as $$
    with c as (
        select (x ->> 'id')::bigint as id,
            array(select jsonb_array_elements_text(x -> 'old')) as old,
            array(select jsonb_array_elements_text(x -> 'new')) as new
        from jsonb_array_elements(p_changes) as x
    ),
    gone as (
        delete from community.post_terms as pt
        using c, unnest(c.old) as t (term)
        where not (t.term = any(c.new)) and pt.term = t.term and pt.post_id = c.id
    )
    insert into community.post_terms (term, post_id)
    select t.term, c.id from c, unnest(c.new) as t (term)
    where not (t.term = any(c.old))
    on conflict do nothing
$$;
comment on function private.community_post_terms_apply(jsonb) is
'Postings of changed posts: [{id, old: [lexemes], new: [lexemes]}]; removes old-only terms
and adds new-only ones. For the posts_terms_* and threads_terms_* triggers.';
revoke execute on function private.community_post_terms_apply(jsonb) from public;

create function private.community_post_terms_posts() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_changes jsonb;
begin
    if tg_op = 'INSERT' then
        insert into community.post_terms (term, post_id)
        select t.term, n.id
        from new_posts as n
        left join community.threads as th on th.id = n.thread_id and n.post_number = 1,
            unnest(private.community_post_lexemes(n.body_tsv, th.title_tsv, n.post_number))
            as t (term)
        on conflict do nothing;
        return null;
    end if;
    if tg_op = 'UPDATE' then
        -- only posts whose body changed (reactions and moderation update posts too)
        select jsonb_agg(jsonb_build_object(
            'id', n.id,
            'old', private.community_post_lexemes(o.body_tsv, th.title_tsv, o.post_number),
            'new', private.community_post_lexemes(n.body_tsv, th.title_tsv, n.post_number)
        )) into v_changes
        from old_posts as o
        join new_posts as n on n.id = o.id
        left join community.threads as th on th.id = n.thread_id
        where o.body_tsv is distinct from n.body_tsv or o.post_number <> n.post_number;
    else
        select jsonb_agg(jsonb_build_object(
            'id', o.id,
            'old', private.community_post_lexemes(o.body_tsv, th.title_tsv, o.post_number),
            'new', '[]'::jsonb
        )) into v_changes
        from old_posts as o
        left join community.threads as th on th.id = o.thread_id;
    end if;
    if v_changes is not null then
        perform private.community_post_terms_apply(v_changes);
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
        perform private.community_post_terms_apply(jsonb_build_array(jsonb_build_object(
            'id', p.id,
            'old', private.community_post_lexemes(p.body_tsv, old.title_tsv, 1),
            'new', '[]'::jsonb
        )))
        from community.posts as p where p.thread_id = old.id and p.post_number = 1;
        return old;
    end if;
    select jsonb_agg(jsonb_build_object(
        'id', p.id,
        'old', private.community_post_lexemes(p.body_tsv, o.title_tsv, 1),
        'new', private.community_post_lexemes(p.body_tsv, n.title_tsv, 1)
    )) into v_changes
    from old_threads as o
    join new_threads as n on n.id = o.id
    join community.posts as p on p.thread_id = o.id and p.post_number = 1
    where o.title_tsv is distinct from n.title_tsv;
    if v_changes is not null then
        perform private.community_post_terms_apply(v_changes);
    end if;
    return null;
end;
$$;
comment on function private.community_post_terms_threads() is
'Triggers on community.threads: the title postings of a thread''s first post follow a title
change (statement trigger) and go before the thread is deleted (row trigger).';
revoke execute on function private.community_post_terms_threads() from public;

-- Existing posts first, then the triggers keep it.
insert into community.post_terms (term, post_id)
select
    t.term,
    p.id
from community.posts as p
left join community.threads as th on p.thread_id = th.id and p.post_number = 1,
    unnest(private.community_post_lexemes(p.body_tsv, th.title_tsv, p.post_number)) as t (term);
-- The key after the load: one sorted build instead of 20M random inserts at 1M posts.
alter table community.post_terms add primary key (term, post_id);
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
    return query
    -- Rank only the 1,000 newest matches: ranking reads every candidate's document, and
    -- a common word matches thousands of posts. One word: the newest 1,000 postings of its
    -- lexeme (bodies and first posts' titles; an index-only range scan); otherwise the GIN
    -- indexes of bodies and titles.
    with hits as (
        select m.id from (
            (
                select pt.post_id as id from community.post_terms as pt
                where v_term is not null and pt.term = v_term
                order by pt.post_id desc
                limit 1000
            )
            union
            select p.id from community.posts as p
            where v_term is null and p.body_tsv @@ v_query
            union
            select p.id from community.threads as t
            join community.posts as p on p.thread_id = t.id and p.post_number = 1
            where v_term is null and t.title_tsv @@ v_query
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
