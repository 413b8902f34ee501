-- community: forums — categories with read/post levels, threads, posts with replies and
-- quotes, edit history, soft deletion, reactions, mentions, watching, read tracking,
-- keyset listings and full-text search.

create type community.access_level as enum ('everyone', 'members', 'pro', 'staff');
comment on type community.access_level is
'Who may read or post in a category, in increasing order: everyone (anon included for
reading; posting always needs a member), members, pro (private.user_has_entitlement(user, ''pro'')
or staff), staff (community.moderate).';

create type community.watch_level as enum ('muted', 'normal', 'tracking', 'watching');
comment on type community.watch_level is
'Per thread or category: watching (notified of every new post), tracking (unread counts,
notified of replies and mentions), normal (replies and mentions only), muted (nothing).';

create table community.categories (
    id int generated always as identity primary key,
    slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{1,48}$'),
    name text not null check (char_length(name) between 1 and 80),
    description text check (char_length(description) <= 1000),
    read_level community.access_level not null default 'everyone',
    post_level community.access_level not null default 'members',
    position int not null default 0,
    thread_count int not null default 0,
    post_count int not null default 0,
    last_activity_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check (post_level >= read_level)
);
comment on table community.categories is
'Forum categories. read_level decides who sees the category and everything in it;
post_level (never lower than read_level) who may start threads and post.';
create trigger categories_touch before update on community.categories
for each row execute function private.touch_updated_at();
alter table community.categories enable row level security;

create function private.community_readable_categories() returns int[]
language sql stable
security definer
set search_path = ''
as $$
    select coalesce(array_agg(c.id), '{}') from community.categories as c
    where c.read_level = 'everyone'
       or (c.read_level = 'members' and (select auth.uid()) is not null)
       or (c.read_level = 'pro' and (select auth.uid()) is not null and (
           private.jwt_is_staff()
           or private.user_has_entitlement((select auth.uid()), 'pro')))
       or (c.read_level = 'staff' and private.jwt_is_staff())
$$;
comment on function private.community_readable_categories() is
'Ids of the categories the caller may read, for policies as an init-plan (evaluated once
per statement; int equality keeps indexes usable under RLS). Definer because the pro check
reads billing data the caller cannot.';
revoke execute on function private.community_readable_categories() from public;
grant execute on function private.community_readable_categories()
to anon, authenticated, service_role;

create function private.community_level_ok(p_level community.access_level, p_user uuid)
returns boolean
language sql stable
security definer
set search_path = ''
as $$
    select case p_level
        when 'everyone' then true
        when 'members' then p_user is not null
        when 'pro' then p_user is not null and (
            private.user_has_permission(p_user, 'community.moderate')
            or private.user_has_entitlement(p_user, 'pro'))
        when 'staff' then p_user is not null
            and private.user_has_permission(p_user, 'community.moderate')
        else false
    end
$$;
comment on function private.community_level_ok(community.access_level, uuid) is
'Authoritative (table-based) check that a given user meets an access level; used by RPCs
for the caller and for notification recipients.';
revoke execute on function private.community_level_ok(community.access_level, uuid) from public;

-- The one rule for hidden and deleted forum content (threads and posts): hidden content is
-- seen by its author and staff, deleted content by staff only. Definer RPCs call it; the
-- threads/posts policies and api.community_search_forum keep inline copies for the planner
-- (keyset listings and search), and tests/community/test_visibility_agreement.py checks that
-- every copy agrees with it for every role.
create function private.community_content_visible(
    p_hidden_at timestamptz,
    p_deleted_at timestamptz,
    p_author_id uuid,
    p_viewer uuid,
    p_staff boolean
) returns boolean
language sql immutable
set search_path = ''
as $$
    select (p_hidden_at is null and p_deleted_at is null)
        or (p_deleted_at is null and coalesce(p_author_id = p_viewer, false))
        or coalesce(p_staff, false)
$$;
comment on function private.community_content_visible(timestamptz, timestamptz, uuid, uuid, boolean)
is
'Whether p_viewer (null: anonymous; p_staff: holds community.moderate) may see a thread or
post with these hidden/deleted times and author, category access aside. Never null.';
revoke execute on function private.community_content_visible(
    timestamptz, timestamptz, uuid, uuid, boolean
) from public;

create policy categories_read on community.categories for select to anon, authenticated
using (id = any((select private.community_readable_categories())::int[]));
grant select on community.categories to anon, authenticated, service_role;

create table community.threads (
    id bigint generated always as identity primary key,
    category_id int not null references community.categories (id),
    author_id uuid references auth.users (id) on delete set null,
    title text not null check (char_length(title) between 1 and 200),
    title_tsv tsvector generated always as (to_tsvector('english', title)) stored,
    tags text[] not null default '{}',
    pinned boolean not null default false,
    locked_at timestamptz,
    solved_post_id bigint,
    hidden_at timestamptz,
    deleted_at timestamptz,
    post_count int not null default 0,
    reaction_count int not null default 0,
    score int not null default 0,
    last_activity_at timestamptz not null default now(),
    last_poster_id uuid references auth.users (id) on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table community.threads is
'Forum threads. The body is post number 1. post_count numbers posts (deleted ones too);
score = posts + 2 x reactions orders the "top" listing. hidden_at (moderation, or flags
past the threshold) shows the thread only to its author and staff; deleted_at only to staff.';
create index threads_category_latest_idx on community.threads
(category_id, pinned desc, last_activity_at desc, id desc);
create index threads_latest_idx on community.threads (last_activity_at desc, id desc);
create index threads_category_top_idx on community.threads (category_id, score desc, id desc);
create index threads_top_idx on community.threads (score desc, id desc);
create index threads_author_idx on community.threads (author_id);
create index threads_last_poster_idx on community.threads (last_poster_id);
create index threads_solved_idx on community.threads (solved_post_id);
create index threads_tags_idx on community.threads using gin (tags);
create index threads_title_tsv_idx on community.threads using gin (title_tsv);
create trigger threads_touch before update on community.threads
for each row execute function private.touch_updated_at();
alter table community.threads enable row level security;
-- Inline copy of private.community_content_visible, so keyset listings stay index scans.
create policy threads_read on community.threads for select to anon, authenticated
using (
    category_id = any((select private.community_readable_categories())::int[])
    and (
        (hidden_at is null and deleted_at is null)
        or (author_id = (select auth.uid()) and deleted_at is null)
        or (select private.jwt_is_staff())
    )
);
grant select on community.threads to anon, authenticated, service_role;

create table community.posts (
    id bigint generated always as identity primary key,
    thread_id bigint not null references community.threads (id) on delete cascade,
    post_number int not null,
    author_id uuid references auth.users (id) on delete set null,
    reply_to_post_id bigint references community.posts (id) on delete set null,
    quoted_post_ids bigint[] not null default '{}',
    body text not null check (char_length(body) <= 20000),
    body_tsv tsvector generated always as (to_tsvector('english', body)) stored,
    reactions jsonb not null default '{}',
    reaction_count int not null default 0,
    edit_count int not null default 0,
    hidden_at timestamptz,
    deleted_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (thread_id, post_number)
);
comment on table community.posts is
'Posts (markdown bodies). Number 1 is the thread''s body. reactions counts each kind.
Visible when the thread is; hidden posts only to their author and staff, deleted posts
(soft deletion) only to staff.';
create index posts_author_idx on community.posts (author_id, created_at desc);
create index posts_reply_to_idx on community.posts (reply_to_post_id);
create index posts_body_tsv_idx on community.posts using gin (body_tsv);
create trigger posts_touch before update on community.posts
for each row execute function private.touch_updated_at();
alter table community.threads add constraint threads_solved_post_fk
foreign key (solved_post_id) references community.posts (id) on delete set null;
alter table community.posts enable row level security;
-- Inline copy of private.community_content_visible (thread pages read posts under RLS).
create policy posts_read on community.posts for select to anon, authenticated
using (
    exists (select 1 from community.threads as t where t.id = posts.thread_id)
    and (
        (hidden_at is null and deleted_at is null)
        or (author_id = (select auth.uid()) and deleted_at is null)
        or (select private.jwt_is_staff())
    )
);
grant select on community.posts to anon, authenticated, service_role;

create table community.post_revisions (
    id bigint generated always as identity primary key,
    post_id bigint not null references community.posts (id) on delete cascade,
    revision int not null,
    title text,
    body text not null,
    editor_id uuid references auth.users (id) on delete set null,
    created_at timestamptz not null default now(),
    unique (post_id, revision)
);
comment on table community.post_revisions is
'Edit history: the text (and thread title, for post 1) as it was before each edit.
Visible to whoever may see the post.';
create index post_revisions_editor_idx on community.post_revisions (editor_id);
alter table community.post_revisions enable row level security;
create policy post_revisions_read on community.post_revisions for select to anon, authenticated
using (exists (select 1 from community.posts as p where p.id = post_revisions.post_id));
grant select on community.post_revisions to anon, authenticated, service_role;

create table community.reactions (
    post_id bigint not null references community.posts (id) on delete cascade,
    user_id uuid not null references auth.users (id) on delete cascade,
    kind text not null check (kind in ('like', 'love', 'laugh', 'insightful', 'celebrate')),
    created_at timestamptz not null default now(),
    primary key (post_id, user_id)
);
comment on table community.reactions is
'One reaction per member per post, from a small fixed set. Counts as a like received.';
create index reactions_user_idx on community.reactions (user_id);
alter table community.reactions enable row level security;
create policy reactions_read on community.reactions for select to anon, authenticated
using (exists (select 1 from community.posts as p where p.id = reactions.post_id));
grant select on community.reactions to anon, authenticated, service_role;

create table community.thread_watches (
    user_id uuid not null references auth.users (id) on delete cascade,
    thread_id bigint not null references community.threads (id) on delete cascade,
    level community.watch_level not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (user_id, thread_id)
);
comment on table community.thread_watches is
'Watch level per member and thread (overrides the category''s). Authors watch their threads;
posting in a thread tracks it.';
create index thread_watches_thread_idx on community.thread_watches (thread_id, level);
create trigger thread_watches_touch before update on community.thread_watches
for each row execute function private.touch_updated_at();
alter table community.thread_watches enable row level security;
create policy thread_watches_read_own on community.thread_watches for select to authenticated
using (user_id = (select auth.uid()));
grant select on community.thread_watches to authenticated, service_role;

create table community.category_watches (
    user_id uuid not null references auth.users (id) on delete cascade,
    category_id int not null references community.categories (id) on delete cascade,
    level community.watch_level not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (user_id, category_id)
);
comment on table community.category_watches is
'Watch level per member and category (watching: every new post in it; muted: nothing).';
create index category_watches_category_idx on community.category_watches (category_id, level);
create trigger category_watches_touch before update on community.category_watches
for each row execute function private.touch_updated_at();
alter table community.category_watches enable row level security;
create policy category_watches_read_own on community.category_watches for select
to authenticated using (user_id = (select auth.uid()));
grant select on community.category_watches to authenticated, service_role;

create table community.thread_reads (
    user_id uuid not null references auth.users (id) on delete cascade,
    thread_id bigint not null references community.threads (id) on delete cascade,
    last_read_post_number int not null default 0,
    updated_at timestamptz not null default now(),
    primary key (user_id, thread_id)
);
comment on table community.thread_reads is
'How far each member read each thread: unread counts in listings, and posts read (trust).';
create index thread_reads_thread_idx on community.thread_reads (thread_id);
alter table community.thread_reads enable row level security;
create policy thread_reads_read_own on community.thread_reads for select to authenticated
using (user_id = (select auth.uid()));
-- anon holds the grant (list_threads reads it) but no policy: it sees no rows.
grant select on community.thread_reads to anon, authenticated, service_role;

-- Helpers -----------------------------------------------------------------------------------
create function private.community_username(p_user uuid) returns text
language sql stable
security definer
set search_path = ''
as $$
    select p.username from accounts.profiles as p
    where p.id = p_user and exists (select 1 from community.members as m where m.user_id = p_user)
$$;
comment on function private.community_username(uuid) is
'The username shown on community content: authors are named on what they post whatever
their profile visibility (only for users who took part in the community).';
revoke execute on function private.community_username(uuid) from public;
grant execute on function private.community_username(uuid) to anon, authenticated, service_role;

create function private.community_visible_thread(p_thread_id bigint, p_user uuid)
returns community.threads
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_thread community.threads;
    v_level community.access_level;
begin
    select t.* into v_thread from community.threads as t where t.id = p_thread_id;
    if found then
        select c.read_level into v_level from community.categories as c
        where c.id = v_thread.category_id;
    end if;
    if not found or not private.community_level_ok(v_level, p_user)
        or not private.community_content_visible(v_thread.hidden_at, v_thread.deleted_at,
            v_thread.author_id, p_user,
            p_user is not null and private.user_has_permission(p_user, 'community.moderate'))
    then
        perform private.raise_error('not_found', 'No such thread.', 'PT404',
            jsonb_build_object('thread_id', p_thread_id));
    end if;
    return v_thread;
end;
$$;
comment on function private.community_visible_thread(bigint, uuid) is
'The thread if p_user may see it (category level, hidden, deleted), else not_found.';
revoke execute on function private.community_visible_thread(bigint, uuid) from public;

create function private.community_visible_post(p_post_id bigint, p_user uuid)
returns community.posts
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_post community.posts;
begin
    select p.* into v_post from community.posts as p where p.id = p_post_id;
    if not found
        or not private.community_content_visible(v_post.hidden_at, v_post.deleted_at,
            v_post.author_id, p_user,
            p_user is not null and private.user_has_permission(p_user, 'community.moderate'))
    then
        perform private.raise_error('not_found', 'No such post.', 'PT404',
            jsonb_build_object('post_id', p_post_id));
    end if;
    perform private.community_visible_thread(v_post.thread_id, p_user);
    return v_post;
end;
$$;
comment on function private.community_visible_post(bigint, uuid) is
'The post if p_user may see it (and its thread), else not_found.';
revoke execute on function private.community_visible_post(bigint, uuid) from public;

create function private.community_check_body(p_body text, p_member community.members)
returns text[]
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_limits jsonb := private.community_limits();
    v_links int;
    v_max_links int;
    v_names text[];
begin
    perform private.arg_text(p_body, (v_limits ->> 'max_body')::int, 'body');
    select t.links_per_post into v_max_links from community.trust_levels as t
    where t.level = p_member.trust_level;
    select count(*) into v_links from regexp_matches(p_body, 'https?://', 'gi');
    if v_links > v_max_links and not private.user_has_permission(p_member.user_id,
        'community.moderate') then
        perform private.raise_error('community_too_many_links',
            format('At most %s links per post at your trust level.', v_max_links), '22023',
            jsonb_build_object('max', v_max_links, 'trust_level', p_member.trust_level));
    end if;
    select coalesce(array_agg(distinct lower(m[1])), '{}') into v_names
    from regexp_matches(p_body, '(?:^|[^A-Za-z0-9_@])@([A-Za-z][A-Za-z0-9_]{2,23})', 'g') as m;
    if cardinality(v_names) > (v_limits ->> 'max_mentions')::int then
        perform private.raise_error('community_too_many_mentions',
            format('At most %s mentions per post.', v_limits ->> 'max_mentions'), '22023',
            jsonb_build_object('max', (v_limits ->> 'max_mentions')::int));
    end if;
    return v_names;
end;
$$;
comment on function private.community_check_body(text, community.members) is
'Validate a post body for its author: size, links for the trust level, mention storms.
Returns the lower-cased usernames mentioned.';
revoke execute on function private.community_check_body(text, community.members) from public;

create function private.community_rate_limit(
    p_member community.members, p_kind text
) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_t community.trust_levels;
begin
    if private.user_has_permission(p_member.user_id, 'community.moderate') then
        return; -- staff are not rate limited
    end if;
    select * into v_t from community.trust_levels where level = p_member.trust_level;
    if p_kind = 'post' then
        perform private.rate_limit('community.post:' || p_member.user_id, v_t.posts_per_10min,
            interval '10 minutes');
    elsif p_kind = 'thread' then
        perform private.rate_limit('community.thread:' || p_member.user_id, v_t.threads_per_day,
            interval '1 day');
    elsif p_kind = 'message' then
        perform private.rate_limit('community.message:' || p_member.user_id,
            v_t.messages_per_10min, interval '10 minutes');
    end if;
end;
$$;
comment on function private.community_rate_limit(community.members, text) is
'Trust-level limits (posts per 10 minutes, threads per day, messages per 10 minutes) as
fixed-window counters; raises rate_limited (PT429, details.retry_after). Staff are exempt.';
revoke execute on function private.community_rate_limit(community.members, text) from public;

create function private.community_check_tags(p_tags text[]) returns text[]
language plpgsql immutable
set search_path = ''
as $$
declare
    v_tags text[] := coalesce(array(select distinct lower(t) from unnest(p_tags) as t), '{}');
begin
    if cardinality(v_tags) > 5 or exists (
        select 1 from unnest(v_tags) as t where t is null or t !~ '^[a-z0-9][a-z0-9-]{0,29}$'
    ) then
        perform private.raise_error('community_tag_invalid',
            'At most 5 tags of lowercase letters, digits and dashes (1-30).', '22023');
    end if;
    return v_tags;
end;
$$;
comment on function private.community_check_tags(text[]) is
'Normalise and validate thread tags; raises community_tag_invalid.';
revoke execute on function private.community_check_tags(text[]) from public;

-- Who hears about a new post: one notification per user, the strongest reason wins
-- (mention > reply > quote > watching), never the author, never users who muted the thread
-- or its category, never users who may not read the category.
create function private.community_notify_post(
    p_post community.posts, p_thread community.threads, p_mentions text[], p_new_thread boolean
) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_level community.access_level;
    v_recipient record;
    v_data jsonb;
begin
    select c.read_level into v_level from community.categories as c
    where c.id = p_thread.category_id;
    v_data := jsonb_build_object('thread_id', p_thread.id, 'post_id', p_post.id,
        'post_number', p_post.post_number, 'title', p_thread.title,
        'category_id', p_thread.category_id);
    for v_recipient in
        with candidates as (
            select pr.id as user_id, 'mention' as kind, 1 as prio
            from accounts.profiles as pr where lower(pr.username) = any(p_mentions)
            union all
            select rp.author_id, 'reply', 2 from community.posts as rp
            where rp.id = p_post.reply_to_post_id
            union all
            select qp.author_id, 'quote', 3 from community.posts as qp
            where qp.id = any(p_post.quoted_post_ids)
            union all
            select w.user_id, 'posted', 4 from community.thread_watches as w
            where w.thread_id = p_thread.id and w.level = 'watching'
            union all
            select cw.user_id, case when p_new_thread then 'thread_created' else 'posted' end, 5
            from community.category_watches as cw
            where cw.category_id = p_thread.category_id and cw.level = 'watching'
        ),
        best as (
            select distinct on (c.user_id) c.user_id, c.kind
            from candidates as c where c.user_id is not null
            order by c.user_id, c.prio
        )
        select b.user_id, b.kind from best as b
        where b.user_id is distinct from p_post.author_id
          and coalesce(
              (select tw.level from community.thread_watches as tw
               where tw.user_id = b.user_id and tw.thread_id = p_thread.id),
              (select cw.level from community.category_watches as cw
               where cw.user_id = b.user_id and cw.category_id = p_thread.category_id),
              'normal'
          ) <> 'muted'
    loop
        if private.community_level_ok(v_level, v_recipient.user_id) then
            perform private.notify(
                v_recipient.user_id, v_recipient.kind, 'post', p_post.id::text, v_data,
                p_post.author_id,
                case when v_recipient.kind in ('posted', 'reply')
                     then 'thread:' || p_thread.id || ':' || v_recipient.kind end
            );
        end if;
    end loop;
end;
$$;
comment on function private.community_notify_post(
    community.posts, community.threads, text[], boolean
) is
'Notify mentioned users, the replied-to and quoted authors, and watchers of a new post.';
revoke execute on function private.community_notify_post(
    community.posts, community.threads, text[], boolean
) from public;

create function private.community_insert_post(
    p_member community.members,
    p_thread community.threads,
    p_body text,
    p_reply_to bigint,
    p_quotes bigint[],
    p_mentions text[],
    p_new_thread boolean
) returns community.posts
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_number int;
    v_post community.posts;
begin
    -- The thread row lock serialises numbering within a thread.
    update community.threads set
        post_count = post_count + 1,
        score = score + 1,
        last_activity_at = now(),
        last_poster_id = p_member.user_id
    where id = p_thread.id
    returning post_count into v_number;
    insert into community.posts (thread_id, post_number, author_id, reply_to_post_id,
                                 quoted_post_ids, body)
    values (p_thread.id, v_number, p_member.user_id, p_reply_to, coalesce(p_quotes, '{}'),
            p_body)
    returning * into v_post;
    update community.categories set post_count = post_count + 1, last_activity_at = now()
    where id = p_thread.category_id;
    update community.members set post_count = post_count + 1, last_seen_at = now()
    where user_id = p_member.user_id;
    insert into community.thread_watches (user_id, thread_id, level)
    values (p_member.user_id, p_thread.id,
            case when p_new_thread then 'watching' else 'tracking' end::community.watch_level)
    on conflict do nothing;
    insert into community.thread_reads as r (user_id, thread_id, last_read_post_number)
    values (p_member.user_id, p_thread.id, v_number)
    on conflict (user_id, thread_id) do update
    set last_read_post_number = greatest(r.last_read_post_number, excluded.last_read_post_number),
        updated_at = now();
    perform private.community_notify_post(v_post, p_thread, p_mentions, p_new_thread);
    perform private.record_activity(p_member.user_id,
        case when p_new_thread then 'community.thread_created' else 'community.posted' end,
        'post', v_post.id::text, jsonb_build_object('thread_id', p_thread.id));
    return v_post;
end;
$$;
comment on function private.community_insert_post(
    community.members, community.threads, text, bigint, bigint[], text[], boolean
) is
'Write a validated post: number it under the thread lock, update counters, watch/read
state, notify, record activity.';
revoke execute on function private.community_insert_post(
    community.members, community.threads, text, bigint, bigint[], text[], boolean
) from public;
