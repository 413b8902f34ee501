-- community: forums — categories with read/post levels, threads, posts with replies and
-- quotes, edit history, soft deletion, reactions, mentions, watching, read tracking,
-- keyset listings and full-text search.

create type community.access_level as enum ('everyone', 'members', 'pro', 'staff');
comment on type community.access_level is
'Who may read or post in a category, in increasing order: everyone (anon included for
reading; posting always needs a member), members, pro (private.has_entitlement(user, ''pro'')
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
           private.community_is_staff()
           or private.has_entitlement((select auth.uid()), 'pro')))
       or (c.read_level = 'staff' and private.community_is_staff())
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
            private.holds_permission(p_user, 'community.moderate')
            or private.has_entitlement(p_user, 'pro'))
        when 'staff' then p_user is not null
            and private.holds_permission(p_user, 'community.moderate')
        else false
    end
$$;
comment on function private.community_level_ok(community.access_level, uuid) is
'Authoritative (table-based) check that a given user meets an access level; used by RPCs
for the caller and for notification recipients.';
revoke execute on function private.community_level_ok(community.access_level, uuid) from public;

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
create policy threads_read on community.threads for select to anon, authenticated
using (
    category_id = any((select private.community_readable_categories())::int[])
    and (
        (hidden_at is null and deleted_at is null)
        or (author_id = (select auth.uid()) and deleted_at is null)
        or (select private.community_is_staff())
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
create policy posts_read on community.posts for select to anon, authenticated
using (
    exists (select 1 from community.threads as t where t.id = posts.thread_id)
    and (
        (hidden_at is null and deleted_at is null)
        or (author_id = (select auth.uid()) and deleted_at is null)
        or (select private.community_is_staff())
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
        or (v_thread.deleted_at is not null
            and not private.holds_permission(p_user, 'community.moderate'))
        or (v_thread.hidden_at is not null and v_thread.author_id is distinct from p_user
            and not private.holds_permission(p_user, 'community.moderate'))
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
        or (v_post.deleted_at is not null
            and not private.holds_permission(p_user, 'community.moderate'))
        or (v_post.hidden_at is not null and v_post.author_id is distinct from p_user
            and not private.holds_permission(p_user, 'community.moderate'))
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
    perform private.community_check_text(p_body, (v_limits ->> 'max_body')::int, 'body');
    select t.links_per_post into v_max_links from community.trust_levels as t
    where t.level = p_member.trust_level;
    select count(*) into v_links from regexp_matches(p_body, 'https?://', 'gi');
    if v_links > v_max_links and not private.holds_permission(p_member.user_id,
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
    if private.holds_permission(p_member.user_id, 'community.moderate') then
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
from community.categories as c;
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
    perform private.community_check_text(p_title,
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
community_cannot_post, invalid_argument, community_body_too_long, community_tag_invalid,
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
        and not private.holds_permission(v_member.user_id, 'community.moderate') then
        perform private.raise_error('community_thread_locked', 'The thread is locked.', 'PT423');
    end if;
    if v_thread.hidden_at is not null
        and not private.holds_permission(v_member.user_id, 'community.moderate') then
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
invalid_argument, community_body_too_long, community_too_many_links,
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
    v_staff boolean := private.holds_permission(v_member.user_id, 'community.moderate');
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
        perform private.community_check_text(p_title,
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
community_body_too_long, community_too_many_links, community_too_many_mentions.';
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
        and not private.holds_permission(v_member.user_id, 'community.moderate') then
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
union all
select
    'category' as target_type,
    cw.category_id,
    cw.level,
    cw.updated_at
from community.category_watches as cw;
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
from community.threads as t;
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
from community.posts as p;
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
from community.post_revisions as r;
comment on view api.community_post_revisions is
'Edit history of posts you may read: the text before each edit.';
grant select on api.community_post_revisions to anon, authenticated, service_role;

create view api.community_post_reactions with (security_invoker = true) as
select
    r.post_id,
    r.user_id,
    r.kind,
    r.created_at
from community.reactions as r;
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
    updated_at timestamptz
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
        p.updated_at
    from community.posts as p
    where p.thread_id = p_thread_id and p.post_number > coalesce(p_after_post_number, 0)
    order by p.post_number
    limit p_limit;
end;
$$;
comment on function api.community_list_thread_posts(bigint, int, int) is
'A page of a thread''s posts you may read, in order, after post number p_after_post_number
(keyset), with your own reaction. Errors: invalid_argument, not_found.';
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
    v_staff boolean := v_uid is not null and private.holds_permission(v_uid, 'community.moderate');
    v_categories int[];
    v_query tsquery;
begin
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
