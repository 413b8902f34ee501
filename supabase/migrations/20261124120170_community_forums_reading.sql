-- community: forums, continued — reading: keyset listings, thread pages, read tracking
-- and full-text search.

-- API: reading ------------------------------------------------------------------------------
create view api.community_forum_threads with (security_invoker = true) as
select
    t.id,
    t.category_id,
    t.author_id,
    private.community_username(t.author_id) as author_username,
    t.title,
    t.tags,
    t.pinned,
    t.locked_at is not null as locked,
    t.solved_post_id,
    t.hidden_at is not null as hidden,
    t.deleted_at is not null as deleted,
    t.post_count,
    t.reaction_count,
    t.score,
    t.last_activity_at,
    t.last_poster_id,
    t.created_at
from community.threads as t
where (select private.key_may_read('api.community_forum_threads'));
comment on view api.community_forum_threads is
'Threads you may read. For pages use api.community_list_threads (keyset pagination).';
grant select on api.community_forum_threads to anon, authenticated, service_role;

create view api.community_forum_posts with (security_invoker = true) as
select
    p.id,
    p.thread_id,
    p.post_number,
    p.author_id,
    private.community_username(p.author_id) as author_username,
    p.reply_to_post_id,
    p.quoted_post_ids,
    p.body,
    p.reactions,
    p.reaction_count,
    p.edit_count,
    p.hidden_at is not null as hidden,
    p.deleted_at is not null as deleted,
    p.created_at,
    p.updated_at
from community.posts as p
where (select private.key_may_read('api.community_forum_posts'));
comment on view api.community_forum_posts is
'Posts you may read. For a thread page use api.community_list_thread_posts.';
grant select on api.community_forum_posts to anon, authenticated, service_role;

create view api.community_post_revisions with (security_invoker = true) as
select
    r.post_id,
    r.revision,
    r.title,
    r.body,
    r.editor_id,
    r.created_at
from community.post_revisions as r
where (select private.key_may_read('api.community_post_revisions'));
comment on view api.community_post_revisions is
'Edit history of posts you may read: the text before each edit.';
grant select on api.community_post_revisions to anon, authenticated, service_role;

create view api.community_post_reactions with (security_invoker = true) as
select
    r.post_id,
    r.user_id,
    r.kind,
    r.created_at
from community.reactions as r
where (select private.key_may_read('api.community_post_reactions'));
comment on view api.community_post_reactions is 'Who reacted how to posts you may read.';
grant select on api.community_post_reactions to anon, authenticated, service_role;

create function api.community_list_threads(
    p_category_id int default null,
    p_order text default 'latest',
    p_tag text default null,
    p_cursor text default null,
    p_limit int default 30
)
returns table (
    id bigint,
    category_id int,
    title text,
    tags text[],
    author_id uuid,
    author_username text,
    pinned boolean,
    locked boolean,
    solved boolean,
    hidden boolean,
    post_count int,
    reaction_count int,
    score int,
    last_activity_at timestamptz,
    last_read_post_number int,
    next_cursor text
)
language plpgsql stable
set search_path = ''
-- Plans for the actual arguments, so that "cursor is null or (...)" folds away and the
-- keyset condition becomes an index condition.
set plan_cache_mode = 'force_custom_plan'
as $$
declare
    v_after jsonb;
    v_pinned boolean;
    v_ts timestamptz;
    v_score int;
    v_id bigint;
begin
    if p_limit is null or p_limit not between 1 and 100 then
        perform private.raise_error('invalid_argument', 'p_limit is between 1 and 100.', '22023',
            jsonb_build_object('field', 'p_limit'));
    end if;
    if p_order is null or p_order not in ('latest', 'top') then
        perform private.raise_error('invalid_argument', 'p_order is latest or top.', '22023',
            jsonb_build_object('field', 'p_order'));
    end if;
    if p_cursor is not null then
        begin
            v_after := convert_from(decode(p_cursor, 'base64'), 'utf8')::jsonb;
            v_pinned := coalesce((v_after ->> 'p')::boolean, false);
            v_ts := (v_after ->> 't')::timestamptz;
            v_score := (v_after ->> 's')::int;
            v_id := (v_after ->> 'i')::bigint;
        exception when others then
            perform private.raise_error('cursor_invalid', 'Bad cursor.', '22023');
        end;
        if v_id is null then
            perform private.raise_error('cursor_invalid', 'Bad cursor.', '22023');
        end if;
    end if;
    -- Four shapes, each matching one index; RLS adds the category and visibility filter.
    return query
    with page as (
        (
            select t.* from community.threads as t
            where p_order = 'latest' and p_category_id is not null
              and t.category_id = p_category_id
              and (p_tag is null or t.tags @> array[p_tag])
              and (v_id is null or (t.pinned, t.last_activity_at, t.id) < (v_pinned, v_ts, v_id))
            order by t.pinned desc, t.last_activity_at desc, t.id desc
            limit p_limit
        )
        union all
        (
            select t.* from community.threads as t
            where p_order = 'latest' and p_category_id is null
              and (p_tag is null or t.tags @> array[p_tag])
              and (v_id is null or (t.last_activity_at, t.id) < (v_ts, v_id))
            order by t.last_activity_at desc, t.id desc
            limit p_limit
        )
        union all
        (
            select t.* from community.threads as t
            where p_order = 'top' and p_category_id is not null
              and t.category_id = p_category_id
              and (p_tag is null or t.tags @> array[p_tag])
              and (v_id is null or (t.score, t.id) < (v_score, v_id))
            order by t.score desc, t.id desc
            limit p_limit
        )
        union all
        (
            select t.* from community.threads as t
            where p_order = 'top' and p_category_id is null
              and (p_tag is null or t.tags @> array[p_tag])
              and (v_id is null or (t.score, t.id) < (v_score, v_id))
            order by t.score desc, t.id desc
            limit p_limit
        )
    )
    select
        pg.id, pg.category_id, pg.title, pg.tags, pg.author_id,
        private.community_username(pg.author_id),
        pg.pinned and p_category_id is not null and p_order = 'latest',
        pg.locked_at is not null, pg.solved_post_id is not null, pg.hidden_at is not null,
        pg.post_count, pg.reaction_count, pg.score, pg.last_activity_at,
        (select r.last_read_post_number from community.thread_reads as r
         where r.user_id = (select auth.uid()) and r.thread_id = pg.id),
        encode(convert_to(jsonb_build_object(
            'p', pg.pinned and p_category_id is not null, 't', pg.last_activity_at,
            's', pg.score, 'i', pg.id)::text, 'utf8'), 'base64')
    from page as pg
    order by
        case when p_order = 'latest' and p_category_id is not null then pg.pinned end desc,
        case when p_order = 'latest' then pg.last_activity_at end desc,
        case when p_order = 'top' then pg.score end desc,
        pg.id desc;
end;
$$;
comment on function api.community_list_threads(int, text, text, text, int) is
'A page of threads you may read: in a category (pinned first) or across categories, by
latest activity (p_order = latest) or score (top), optionally with a tag. Pass the last
row''s next_cursor as p_cursor for the next page (keyset pagination).
last_read_post_number vs post_count gives unread posts. Errors: invalid_argument,
cursor_invalid.';
revoke execute on function api.community_list_threads(int, text, text, text, int) from public;
grant execute on function api.community_list_threads(int, text, text, text, int)
to anon, authenticated, service_role;

create function api.community_list_thread_posts(
    p_thread_id bigint, p_after_post_number int default 0, p_limit int default 20
)
returns table (
    id bigint,
    post_number int,
    author_id uuid,
    author_username text,
    reply_to_post_id bigint,
    quoted_post_ids bigint[],
    body text,
    reactions jsonb,
    my_reaction text,
    edit_count int,
    hidden boolean,
    deleted boolean,
    created_at timestamptz,
    updated_at timestamptz,
    body_html text
)
language plpgsql stable
set search_path = ''
as $$
begin
    if p_limit is null or p_limit not between 1 and 100 then
        perform private.raise_error('invalid_argument', 'p_limit is between 1 and 100.', '22023',
            jsonb_build_object('field', 'p_limit'));
    end if;
    if not exists (select 1 from community.threads as t where t.id = p_thread_id) then
        perform private.raise_error('not_found', 'No such thread.', 'PT404');
    end if;
    return query
    select
        p.id, p.post_number, p.author_id, private.community_username(p.author_id),
        p.reply_to_post_id, p.quoted_post_ids, p.body, p.reactions,
        (select r.kind from community.reactions as r
         where r.post_id = p.id and r.user_id = (select auth.uid())),
        p.edit_count, p.hidden_at is not null, p.deleted_at is not null, p.created_at,
        p.updated_at, p.body_html -- column added by the content rendering migration
    from community.posts as p
    where p.thread_id = p_thread_id and p.post_number > coalesce(p_after_post_number, 0)
    order by p.post_number
    limit p_limit;
end;
$$;
comment on function api.community_list_thread_posts(bigint, int, int) is
'A page of a thread''s posts you may read, in order, after post number p_after_post_number
(keyset), with your own reaction. body_html is the sanitised rendering of body (null until
the worker rendered it: show body escaped). Errors: invalid_argument, not_found.';
revoke execute on function api.community_list_thread_posts(bigint, int, int) from public;
grant execute on function api.community_list_thread_posts(bigint, int, int)
to anon, authenticated, service_role;

create function api.community_search_forum(
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
    select coalesce(array_agg(c.id), '{}') into v_categories from community.categories as c
    where private.community_level_ok(c.read_level, v_uid)
      and (p_category_id is null or c.id = p_category_id);
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
revoke execute on function api.community_search_forum(text, int, int, int) from public;
grant execute on function api.community_search_forum(text, int, int, int)
to anon, authenticated, service_role;
