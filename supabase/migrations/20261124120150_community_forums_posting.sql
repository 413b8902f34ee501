-- community: forums, continued — categories, threads and posts (create, edit, delete,
-- reactions, watching, solutions). Helpers are in the forums migration before it.

-- API: categories ---------------------------------------------------------------------------
create view api.community_forum_categories with (security_invoker = true) as
select
    c.id,
    c.slug,
    c.name,
    c.description,
    c.read_level,
    c.post_level,
    c.position,
    c.thread_count,
    c.post_count,
    c.last_activity_at
from community.categories as c
where (select private.key_may_read('api.community_forum_categories'));
comment on view api.community_forum_categories is
'Categories you may read (order by position). read_level / post_level tell who may read
and post.';
grant select on api.community_forum_categories to anon, authenticated, service_role;

create function api.community_save_category(
    p_slug text,
    p_name text,
    p_description text default null,
    p_read_level text default 'everyone',
    p_post_level text default 'members',
    p_position int default 0
) returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_id int;
begin
    perform private.require_permission('community.moderate');
    if p_slug is null or p_slug !~ '^[a-z0-9][a-z0-9-]{1,48}$' then
        perform private.raise_error('invalid_argument',
            'p_slug is 2-49 lowercase letters, digits and dashes.', '22023',
            jsonb_build_object('field', 'p_slug'));
    end if;
    if p_name is null or char_length(btrim(p_name)) not between 1 and 80
        or char_length(p_description) > 1000 then
        perform private.raise_error('invalid_argument',
            'p_name is 1-80 characters, p_description at most 1000.', '22023');
    end if;
    if p_read_level is null or p_post_level is null
        or p_read_level not in ('everyone', 'members', 'pro', 'staff')
        or p_post_level not in ('everyone', 'members', 'pro', 'staff')
        or p_post_level::community.access_level < p_read_level::community.access_level then
        perform private.raise_error('invalid_argument',
            'Levels are everyone, members, pro or staff; post level >= read level.', '22023');
    end if;
    insert into community.categories as c (slug, name, description, read_level, post_level,
                                           position)
    values (p_slug, btrim(p_name), p_description, p_read_level::community.access_level,
            p_post_level::community.access_level, coalesce(p_position, 0))
    on conflict (slug) do update set
        name = excluded.name, description = excluded.description,
        read_level = excluded.read_level, post_level = excluded.post_level,
        position = excluded.position
    returning id into v_id;
    perform private.audit('community.category_saved', 'category', v_id::text,
        jsonb_build_object('slug', p_slug, 'read_level', p_read_level,
            'post_level', p_post_level));
    return v_id;
end;
$$;
comment on function api.community_save_category(text, text, text, text, text, int) is
'Staff: create or update (by slug) a category with its read and post levels. Audited.
Errors: not_authenticated, forbidden, invalid_argument.';
revoke execute on function api.community_save_category(text, text, text, text, text, int)
from public, anon;
grant execute on function api.community_save_category(text, text, text, text, text, int)
to authenticated;

-- API: threads and posts --------------------------------------------------------------------
create function api.community_create_thread(
    p_category_id int, p_title text, p_body text, p_tags text[] default '{}'
) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_member community.members := private.community_actor(true);
    v_category community.categories;
    v_tags text[];
    v_mentions text[];
    v_thread community.threads;
begin
    select * into v_category from community.categories where id = p_category_id;
    if not found or not private.community_level_ok(v_category.read_level, v_member.user_id)
    then
        perform private.raise_error('not_found', 'No such category.', 'PT404');
    end if;
    if not private.community_level_ok(v_category.post_level, v_member.user_id) then
        perform private.raise_error('community_cannot_post',
            'You may not start threads in this category.', '42501',
            jsonb_build_object('post_level', v_category.post_level));
    end if;
    perform private.arg_text(p_title,
        (private.community_limits() ->> 'max_title')::int, 'title');
    v_tags := private.community_check_tags(p_tags);
    v_mentions := private.community_check_body(p_body, v_member);
    perform private.community_rate_limit(v_member, 'thread');
    perform private.community_rate_limit(v_member, 'post');
    insert into community.threads (category_id, author_id, title, tags, last_poster_id)
    values (p_category_id, v_member.user_id, btrim(p_title), v_tags, v_member.user_id)
    returning * into v_thread;
    update community.categories set thread_count = thread_count + 1 where id = p_category_id;
    update community.members set thread_count = thread_count + 1
    where user_id = v_member.user_id;
    perform private.community_insert_post(v_member, v_thread, p_body, null, null, v_mentions,
        true);
    return v_thread.id;
end;
$$;
comment on function api.community_create_thread(int, text, text, text[]) is
'Start a thread (its body is post 1). @mentions notify; category watchers are notified.
Errors: not_authenticated, community_suspended, community_silenced, not_found (category),
community_cannot_post, invalid_argument, text_too_long, community_tag_invalid,
community_too_many_links, community_too_many_mentions, rate_limited (threads per day and
posts per 10 minutes of your trust level).';
revoke execute on function api.community_create_thread(int, text, text, text[]) from public, anon;
grant execute on function api.community_create_thread(int, text, text, text[]) to authenticated;

create function api.community_create_post(
    p_thread_id bigint,
    p_body text,
    p_reply_to_post_id bigint default null,
    p_quote_post_ids bigint[] default null
) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_member community.members := private.community_actor(true);
    v_thread community.threads := private.community_visible_thread(p_thread_id, v_member.user_id);
    v_post_level community.access_level;
    v_mentions text[];
    v_quote bigint;
    v_post community.posts;
begin
    select c.post_level into v_post_level from community.categories as c
    where c.id = v_thread.category_id;
    if not private.community_level_ok(v_post_level, v_member.user_id) then
        perform private.raise_error('community_cannot_post',
            'You may not post in this category.', '42501',
            jsonb_build_object('post_level', v_post_level));
    end if;
    if v_thread.locked_at is not null
        and not private.user_has_permission(v_member.user_id, 'community.moderate') then
        perform private.raise_error('community_thread_locked', 'The thread is locked.', 'PT423');
    end if;
    if v_thread.hidden_at is not null
        and not private.user_has_permission(v_member.user_id, 'community.moderate') then
        perform private.raise_error('community_cannot_post', 'The thread is hidden.', '42501');
    end if;
    if p_reply_to_post_id is not null and not exists (
        select 1 from community.posts
        where id = p_reply_to_post_id and thread_id = p_thread_id and deleted_at is null
    ) then
        perform private.raise_error('invalid_argument',
            'p_reply_to_post_id must be a post of this thread.', '22023',
            jsonb_build_object('field', 'p_reply_to_post_id'));
    end if;
    if cardinality(p_quote_post_ids) > 10 then
        perform private.raise_error('invalid_argument', 'At most 10 quoted posts.', '22023',
            jsonb_build_object('field', 'p_quote_post_ids'));
    end if;
    foreach v_quote in array coalesce(p_quote_post_ids, '{}') loop
        perform private.community_visible_post(v_quote, v_member.user_id);
    end loop;
    v_mentions := private.community_check_body(p_body, v_member);
    perform private.community_rate_limit(v_member, 'post');
    v_post := private.community_insert_post(v_member, v_thread, p_body, p_reply_to_post_id,
        array(select distinct q from unnest(p_quote_post_ids) as q), v_mentions, false);
    return v_post.id;
end;
$$;
comment on function api.community_create_post(bigint, text, bigint, bigint[]) is
'Post in a thread, optionally replying to a post of it and quoting posts you may see
(the frontend renders quotes; quoted authors are notified). @username mentions notify
(at most 10 per post). Errors: not_authenticated, community_suspended, community_silenced,
not_found (thread or quoted post), community_cannot_post, community_thread_locked,
invalid_argument, text_too_long, community_too_many_links,
community_too_many_mentions, rate_limited.';
revoke execute on function api.community_create_post(bigint, text, bigint, bigint[])
from public, anon;
grant execute on function api.community_create_post(bigint, text, bigint, bigint[])
to authenticated;

create function api.community_edit_post(p_post_id bigint, p_body text, p_title text default null)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_member community.members := private.community_actor(true);
    v_post community.posts := private.community_visible_post(p_post_id, v_member.user_id);
    v_thread community.threads;
    v_staff boolean := private.user_has_permission(v_member.user_id, 'community.moderate');
begin
    if v_post.author_id is distinct from v_member.user_id and not v_staff then
        perform private.raise_error('forbidden', 'Only the author or staff may edit a post.',
            '42501');
    end if;
    select * into v_thread from community.threads where id = v_post.thread_id;
    if v_thread.locked_at is not null and not v_staff then
        perform private.raise_error('community_thread_locked', 'The thread is locked.', 'PT423');
    end if;
    if p_title is not null then
        if v_post.post_number <> 1 then
            perform private.raise_error('invalid_argument',
                'Only the first post carries the thread title.', '22023',
                jsonb_build_object('field', 'p_title'));
        end if;
        perform private.arg_text(p_title,
            (private.community_limits() ->> 'max_title')::int, 'title');
    end if;
    -- Edits are checked like new posts (links, mentions) but do not notify again.
    perform private.community_check_body(p_body, v_member);
    insert into community.post_revisions (post_id, revision, title, body, editor_id)
    values (p_post_id, v_post.edit_count + 1,
            case when v_post.post_number = 1 then v_thread.title end, v_post.body,
            v_member.user_id);
    update community.posts set body = p_body, edit_count = edit_count + 1 where id = p_post_id;
    if p_title is not null then
        update community.threads set title = btrim(p_title) where id = v_thread.id;
    end if;
    if v_post.author_id is distinct from v_member.user_id then
        perform private.audit('community.post_edited', 'post', p_post_id::text,
            jsonb_build_object('author_id', v_post.author_id));
    end if;
end;
$$;
comment on function api.community_edit_post(bigint, text, text) is
'Edit your post (staff: any post); the previous text is kept in api.community_post_revisions.
p_title
renames the thread (post 1 only). Errors: not_authenticated, community_suspended,
community_silenced, not_found, forbidden, community_thread_locked, invalid_argument,
text_too_long, community_too_many_links, community_too_many_mentions.';
revoke execute on function api.community_edit_post(bigint, text, text) from public, anon;
grant execute on function api.community_edit_post(bigint, text, text) to authenticated;

create function api.community_delete_post(p_post_id bigint) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_member community.members := private.community_actor(false);
    v_post community.posts := private.community_visible_post(p_post_id, v_member.user_id);
begin
    if v_post.author_id is distinct from v_member.user_id then
        perform private.raise_error('forbidden',
            'Only the author deletes a post this way; staff use api.community_moderate.', '42501');
    end if;
    update community.posts set deleted_at = now() where id = p_post_id;
    if v_post.post_number = 1 then
        update community.threads set deleted_at = now() where id = v_post.thread_id;
    end if;
end;
$$;
comment on function api.community_delete_post(bigint) is
'Delete your own post (soft: staff still see it; deleting post 1 deletes the thread).
Errors: not_authenticated, community_suspended, not_found, forbidden.';
revoke execute on function api.community_delete_post(bigint) from public, anon;
grant execute on function api.community_delete_post(bigint) to authenticated;

create function api.community_react(p_post_id bigint, p_kind text) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_member community.members := private.community_actor(true);
    v_post community.posts := private.community_visible_post(p_post_id, v_member.user_id);
    v_allowed text[] := array['like', 'love', 'laugh', 'insightful', 'celebrate'];
begin
    if p_kind is null or not p_kind = any(v_allowed) then
        perform private.raise_error('community_reaction_invalid', 'Unknown reaction.', '22023',
            jsonb_build_object('allowed', v_allowed));
    end if;
    if v_post.author_id = v_member.user_id then
        perform private.raise_error('invalid_argument', 'You cannot react to your own post.',
            '22023');
    end if;
    begin
        insert into community.reactions (post_id, user_id, kind)
        values (p_post_id, v_member.user_id, p_kind);
    exception when unique_violation then
        perform private.raise_error('community_already_reacted',
            'You already reacted to this post; remove it first to change it.', 'PT409');
    end;
    update community.posts set
        reaction_count = reaction_count + 1,
        reactions = jsonb_set(reactions, array[p_kind],
            to_jsonb(coalesce((reactions ->> p_kind)::int, 0) + 1))
    where id = p_post_id;
    update community.threads set reaction_count = reaction_count + 1, score = score + 2
    where id = v_post.thread_id;
    update community.members set likes_given = likes_given + 1 where user_id = v_member.user_id;
    if v_post.author_id is not null then
        perform private.community_member(v_post.author_id);
        update community.members set likes_received = likes_received + 1
        where user_id = v_post.author_id;
        perform private.community_recompute_trust(v_post.author_id);
        perform private.notify(v_post.author_id, 'reaction', 'post', p_post_id::text,
            jsonb_build_object('thread_id', v_post.thread_id, 'post_id', p_post_id,
                'post_number', v_post.post_number),
            v_member.user_id, 'reaction:post:' || p_post_id);
    end if;
end;
$$;
comment on function api.community_react(bigint, text) is
'React to a post (like, love, laugh, insightful, celebrate): one reaction per member per
post; the author gets one consolidated notification per post. Errors: not_authenticated,
community_suspended, community_silenced, not_found, community_reaction_invalid,
invalid_argument (own post), community_already_reacted.';
revoke execute on function api.community_react(bigint, text) from public, anon;
grant execute on function api.community_react(bigint, text) to authenticated;

create function api.community_unreact(p_post_id bigint) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_member community.members := private.community_actor(false);
    v_kind text;
    v_post community.posts;
begin
    delete from community.reactions where post_id = p_post_id and user_id = v_member.user_id
    returning kind into v_kind;
    if v_kind is null then
        perform private.raise_error('not_found', 'You have not reacted to this post.', 'PT404');
    end if;
    update community.posts set
        reaction_count = reaction_count - 1,
        reactions = jsonb_set(reactions, array[v_kind],
            to_jsonb(greatest(coalesce((reactions ->> v_kind)::int, 1) - 1, 0)))
    where id = p_post_id
    returning * into v_post;
    update community.threads set reaction_count = reaction_count - 1, score = score - 2
    where id = v_post.thread_id;
    update community.members set likes_received = greatest(likes_received - 1, 0)
    where user_id = v_post.author_id;
end;
$$;
comment on function api.community_unreact(bigint) is
'Remove your reaction from a post. Errors: not_authenticated, community_suspended, not_found.';
revoke execute on function api.community_unreact(bigint) from public, anon;
grant execute on function api.community_unreact(bigint) to authenticated;

create function api.community_mark_solved(p_thread_id bigint, p_post_id bigint) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_member community.members := private.community_actor(true);
    v_thread community.threads := private.community_visible_thread(p_thread_id, v_member.user_id);
    v_author uuid;
begin
    if v_thread.author_id is distinct from v_member.user_id
        and not private.user_has_permission(v_member.user_id, 'community.moderate') then
        perform private.raise_error('forbidden',
            'Only the thread''s author or staff mark the answer.', '42501');
    end if;
    if p_post_id is not null then
        select p.author_id into v_author from community.posts as p
        where p.id = p_post_id and p.thread_id = p_thread_id and p.post_number > 1
          and p.deleted_at is null and p.hidden_at is null;
        if not found then
            perform private.raise_error('invalid_argument',
                'p_post_id must be a visible reply in this thread.', '22023',
                jsonb_build_object('field', 'p_post_id'));
        end if;
    end if;
    update community.threads set solved_post_id = p_post_id where id = p_thread_id;
    if p_post_id is not null then
        perform private.notify(v_author, 'solved', 'post', p_post_id::text,
            jsonb_build_object('thread_id', p_thread_id, 'post_id', p_post_id,
                'title', v_thread.title), v_member.user_id);
    end if;
end;
$$;
comment on function api.community_mark_solved(bigint, bigint) is
'Mark a reply as the thread''s answer (null clears it); thread author or staff. Errors:
not_authenticated, community_suspended, community_silenced, not_found, forbidden,
invalid_argument.';
revoke execute on function api.community_mark_solved(bigint, bigint) from public, anon;
grant execute on function api.community_mark_solved(bigint, bigint) to authenticated;

create function api.community_watch(
    p_target_type text, p_target_id bigint, p_level text
) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_member community.members := private.community_actor(false);
    v_level community.access_level;
begin
    if p_level is null or p_level not in ('watching', 'tracking', 'normal', 'muted') then
        perform private.raise_error('invalid_argument',
            'p_level is watching, tracking, normal or muted.', '22023',
            jsonb_build_object('field', 'p_level'));
    end if;
    if p_target_type = 'thread' then
        perform private.community_visible_thread(p_target_id, v_member.user_id);
        insert into community.thread_watches as w (user_id, thread_id, level)
        values (v_member.user_id, p_target_id, p_level::community.watch_level)
        on conflict (user_id, thread_id) do update set level = excluded.level;
    elsif p_target_type = 'category' then
        select c.read_level into v_level from community.categories as c where c.id = p_target_id;
        if not found or not private.community_level_ok(v_level, v_member.user_id) then
            perform private.raise_error('not_found', 'No such category.', 'PT404');
        end if;
        insert into community.category_watches as w (user_id, category_id, level)
        values (v_member.user_id, p_target_id::int, p_level::community.watch_level)
        on conflict (user_id, category_id) do update set level = excluded.level;
    else
        perform private.raise_error('invalid_argument', 'p_target_type is thread or category.',
            '22023', jsonb_build_object('field', 'p_target_type'));
    end if;
end;
$$;
comment on function api.community_watch(text, bigint, text) is
'Set your watch level for a thread or a category: watching (every new post), tracking,
normal (replies and mentions), muted (nothing). Errors: not_authenticated,
community_suspended, invalid_argument, not_found.';
revoke execute on function api.community_watch(text, bigint, text) from public, anon;
grant execute on function api.community_watch(text, bigint, text) to authenticated;

create view api.community_my_watches with (security_invoker = true) as
select
    'thread' as target_type,
    w.thread_id as target_id,
    w.level,
    w.updated_at
from community.thread_watches as w
where (select private.key_may_read('api.community_my_watches'))
union all
select
    'category' as target_type,
    cw.category_id,
    cw.level,
    cw.updated_at
from community.category_watches as cw
where (select private.key_may_read('api.community_my_watches'));
comment on view api.community_my_watches is 'Your watch levels for threads and categories.';
grant select on api.community_my_watches to authenticated, service_role;

create function api.community_mark_thread_read(p_thread_id bigint, p_post_number int) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_member community.members := private.community_actor(false);
    v_thread community.threads := private.community_visible_thread(p_thread_id, v_member.user_id);
    v_before int;
    v_upto int := least(greatest(coalesce(p_post_number, 0), 0), v_thread.post_count);
begin
    select r.last_read_post_number into v_before from community.thread_reads as r
    where r.user_id = v_member.user_id and r.thread_id = p_thread_id;
    if v_upto <= coalesce(v_before, 0) then
        return;
    end if;
    insert into community.thread_reads as r (user_id, thread_id, last_read_post_number)
    values (v_member.user_id, p_thread_id, v_upto)
    on conflict (user_id, thread_id) do update
    set last_read_post_number = excluded.last_read_post_number, updated_at = now();
    update community.members set posts_read = posts_read + (v_upto - coalesce(v_before, 0))
    where user_id = v_member.user_id;
    perform private.community_recompute_trust(v_member.user_id);
end;
$$;

comment on function api.community_mark_thread_read(bigint, int) is
'Record that you read a thread up to a post number (unread counts; posts read count toward
trust). Errors: not_authenticated, community_suspended, not_found.';
revoke execute on function api.community_mark_thread_read(bigint, int) from public, anon;
grant execute on function api.community_mark_thread_read(bigint, int) to authenticated;
