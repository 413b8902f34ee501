-- community: schema, error codes, members with trust levels and sanctions, blocks, and the
-- one notifications table every domain writes through private.notify().
--
-- Clients never write community tables directly: every change is an RPC in `api` that
-- checks the caller (private.community_actor) and validates its arguments first, so a
-- refused call writes nothing. Reads go through security_invoker views under RLS.

create schema if not exists community;
comment on schema community is
'Community domain: forums, messaging, notifications, moderation, trust levels and
contributions. Not exposed; the API is in schema api.';
grant usage on schema community to anon, authenticated, service_role;

insert into ops.error_codes (code, sqlstate, http_status, description) values
(
    'community_cannot_post', '42501', 403,
    'The category (or thread) does not accept posts from you: see its post level.'
),
('community_thread_locked', 'PT423', 423, 'The thread is locked: no new posts or edits.'),
('community_already_reacted', 'PT409', 409, 'You already reacted to this post.'),
('community_reaction_invalid', '22023', 400, 'Unknown reaction; details.allowed lists them.'),
(
    'community_blocked', '42501', 403,
    'The recipient does not accept messages from you (blocked, or messages switched off).'
),
(
    'community_not_participant', 'PT404', 404,
    'No such conversation, or you are not (or no longer) one of its participants.'
),
('community_flag_own', '22023', 400, 'You cannot flag your own content or yourself.'),
('community_already_flagged', 'PT409', 409, 'You already flagged this.'),
(
    'community_flag_reason_invalid', '22023', 400,
    'Unknown flag reason, or it does not apply to this kind of content.'
),
('community_flag_message_required', '22023', 400, 'This flag reason needs a message.'),
('community_silenced', '42501', 403, 'You are silenced until details.until: no posting.'),
('community_suspended', '42501', 403, 'Your account is suspended until details.until.'),
(
    'community_too_many_mentions', '22023', 400,
    'Too many @mentions in one post (details.max): mention storms are refused.'
),
(
    'community_too_many_links', '22023', 400,
    'Too many links for your trust level (details.max).'
),
('community_tag_invalid', '22023', 400, 'Tags: at most 5, lowercase letters, digits, dashes.'),
(
    'community_review_stale', 'PT409', 409,
    'The review item changed since you loaded it (details.version is current): reload.'
),
('community_review_closed', 'PT409', 409, 'The review item is already decided.'),
(
    'community_conversation_full', '22023', 400,
    'Group conversations have at most details.max participants.'
),
('community_appeal_exists', 'PT409', 409, 'This action already has an appeal.'),
(
    'community_transition_invalid', 'PT409', 409,
    'The contribution cannot move to that status from its current one.'
),
(
    'community_outranked', '42501', 403,
    'Moderators act only on members of a lower role (accounts.roles rank); admins on anyone.'
),
(
    'community_self_moderation', 'PT403', 403,
    'Nobody moderates themselves, decides their own appeal or a report about their content.'
),
(
    'community_last_admin', 'PT403', 403,
    'The last active (not suspended) admin cannot be suspended.'
);

-- Permissions: reviewing contributions is its own capability.
insert into accounts.permissions (name, description) values
('contributions.review', 'Review community contributions (challenge proposals, articles).');
insert into accounts.role_permissions (role, permission) values
('moderator', 'contributions.review'),
('admin', 'contributions.review');

-- Limits ------------------------------------------------------------------------------------
create function private.community_limits() returns jsonb
language sql immutable
set search_path = ''
as $$
    select '{
        "max_title": 200,
        "max_body": 20000,
        "max_message": 5000,
        "max_mentions": 10,
        "max_tags": 5,
        "hide_threshold": 3.0,
        "group_max": 10,
        "appeal_max": 2000
    }'::jsonb
$$;
comment on function private.community_limits() is
'Community-wide limits: sizes of titles, bodies and messages, mentions per post, tags per
thread, the flag weight that auto-hides content, participants per group conversation.';
revoke execute on function private.community_limits() from public;
grant execute on function private.community_limits() to authenticated, service_role;

-- Trust levels -----------------------------------------------------------------------------
create table community.trust_levels (
    level smallint primary key check (level between 0 and 4),
    name text not null,
    posts_per_10min int not null check (posts_per_10min > 0),
    threads_per_day int not null check (threads_per_day > 0),
    messages_per_10min int not null check (messages_per_10min > 0),
    links_per_post int not null check (links_per_post >= 0),
    flag_weight numeric(4, 2) not null check (flag_weight > 0),
    min_days_visited int not null default 0,
    min_posts_read int not null default 0,
    min_likes_received int not null default 0,
    max_upheld_flags int not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table community.trust_levels is
'Trust levels 0..4: the limits each one has (posts per 10 minutes, threads per day, links per
post), the weight of its flags, and what it takes to reach it (days visited, posts read,
likes received, at most so many upheld flags in the last 180 days). 0..3 are automatic;
4 (leader) is granted by moderators.';
create trigger trust_levels_touch before update on community.trust_levels
for each row execute function private.touch_updated_at();
alter table community.trust_levels enable row level security;
create policy trust_levels_read on community.trust_levels for select to anon, authenticated
using (true);
grant select on community.trust_levels to anon, authenticated, service_role;

insert into community.trust_levels (
    level, name, posts_per_10min, threads_per_day, messages_per_10min, links_per_post,
    flag_weight, min_days_visited, min_posts_read, min_likes_received, max_upheld_flags
) values
(0, 'new', 3, 2, 5, 2, 1.0, 0, 0, 0, 1000000),
(1, 'basic', 10, 10, 20, 5, 1.0, 2, 20, 0, 2),
(2, 'member', 30, 30, 60, 20, 1.5, 10, 100, 5, 1),
(3, 'regular', 60, 60, 120, 50, 2.0, 40, 500, 25, 0),
(4, 'leader', 120, 120, 240, 100, 3.0, 1000000, 1000000, 1000000, 0);

-- Members ----------------------------------------------------------------------------------
create table community.members (
    user_id uuid primary key references auth.users (id) on delete cascade,
    trust_level smallint not null default 0 references community.trust_levels (level),
    trust_locked boolean not null default false,
    days_visited int not null default 0,
    last_visit_day date,
    last_seen_at timestamptz,
    posts_read int not null default 0,
    likes_received int not null default 0,
    likes_given int not null default 0,
    post_count int not null default 0,
    thread_count int not null default 0,
    upheld_flags int not null default 0,
    last_upheld_flag_at timestamptz,
    silenced_until timestamptz,
    suspended_until timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table community.members is
'Community state of a user, created at their first community action: trust level and the
activity it derives from, and sanctions. silenced_until / suspended_until are public (like a
badge); the reasons are in community.moderation_actions, readable by staff and the member.';
create index members_trust_idx on community.members (trust_level);
create trigger members_touch before update on community.members
for each row execute function private.touch_updated_at();
alter table community.members enable row level security;
create policy members_read on community.members for select to anon, authenticated
using (true);
grant select on community.members to anon, authenticated, service_role;

-- Caller helpers ----------------------------------------------------------------------------
create function private.community_member(p_user uuid) returns community.members
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_row community.members;
begin
    select * into v_row from community.members where user_id = p_user;
    if not found then
        insert into community.members (user_id) values (p_user)
        on conflict (user_id) do nothing;
        select * into v_row from community.members where user_id = p_user;
    end if;
    return v_row;
end;
$$;
comment on function private.community_member(uuid) is
'The community row of a user, created on first use (trust level 0).';
revoke execute on function private.community_member(uuid) from public;

create function private.community_actor(p_posting boolean default true) returns community.members
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_row community.members;
    v_banned timestamptz;
begin
    v_row := private.community_member(v_uid);
    select u.banned_until into v_banned from auth.users as u where u.id = v_uid;
    if greatest(v_row.suspended_until, v_banned) > now() then
        perform private.raise_error('community_suspended', 'Your account is suspended.', '42501',
            jsonb_build_object('until', greatest(v_row.suspended_until, v_banned)));
    end if;
    if p_posting and v_row.silenced_until > now() then
        perform private.raise_error('community_silenced', 'You are silenced.', '42501',
            jsonb_build_object('until', v_row.silenced_until));
    end if;
    return v_row;
end;
$$;
comment on function private.community_actor(boolean) is
'The calling member for a community RPC: raises not_authenticated, community_suspended (the
community or Supabase Auth ban, checked on every call because a token issued before the
suspension stays valid until it expires) and, when p_posting, community_silenced.';
revoke execute on function private.community_actor(boolean) from public;

create function private.community_recompute_trust(p_user uuid) returns smallint
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_member community.members;
    v_level smallint;
    v_recent_flags int;
begin
    select * into v_member from community.members where user_id = p_user for update;
    if not found or v_member.trust_locked then
        return v_member.trust_level;
    end if;
    -- Upheld flags count for 180 days after the latest one.
    v_recent_flags := case
        when v_member.last_upheld_flag_at > now() - interval '180 days'
            then v_member.upheld_flags else 0 end;
    select max(t.level) into v_level from community.trust_levels as t
    where t.level <= 3
      and v_member.days_visited >= t.min_days_visited
      and v_member.posts_read >= t.min_posts_read
      and v_member.likes_received >= t.min_likes_received
      and v_recent_flags <= t.max_upheld_flags;
    v_level := coalesce(v_level, 0);
    -- Activity only raises trust (levels are not lost by being away); upheld flags lower it.
    if v_recent_flags = 0 then
        v_level := greatest(v_level, least(v_member.trust_level, 3));
    end if;
    if v_level <> v_member.trust_level then
        update community.members set trust_level = v_level where user_id = p_user;
    end if;
    return v_level;
end;
$$;
comment on function private.community_recompute_trust(uuid) is
'Derive trust 0..3 from days visited, posts read, likes received and recent upheld flags.
Activity only raises the level; with upheld flags in the last 180 days the level is what
the thresholds allow, so it falls. A locked level (set by a moderator) is kept.';
revoke execute on function private.community_recompute_trust(uuid) from public;

-- Blocks -----------------------------------------------------------------------------------
create table community.blocks (
    blocker_id uuid not null references auth.users (id) on delete cascade,
    blocked_id uuid not null references auth.users (id) on delete cascade,
    created_at timestamptz not null default now(),
    primary key (blocker_id, blocked_id),
    check (blocker_id <> blocked_id)
);
comment on table community.blocks is
'Users a member blocked: their messages no longer reach the blocker (direct messages are
refused, group messages hidden) and they cause no notifications. Private to the blocker.';
create index blocks_blocked_idx on community.blocks (blocked_id);
alter table community.blocks enable row level security;
create policy blocks_read_own on community.blocks for select to authenticated
using (blocker_id = (select auth.uid()));
grant select on community.blocks to authenticated, service_role;

create function private.community_my_blocks() returns uuid[]
language sql stable
security definer
set search_path = ''
as $$
    select coalesce(array_agg(b.blocked_id), '{}') from community.blocks as b
    where b.blocker_id = (select auth.uid())
$$;
comment on function private.community_my_blocks() is
'Users the caller blocked (for policies that hide their messages).';
revoke execute on function private.community_my_blocks() from public;
grant execute on function private.community_my_blocks() to authenticated, service_role;

-- Notifications ----------------------------------------------------------------------------
create table community.notifications (
    id bigint generated always as identity primary key,
    user_id uuid not null references auth.users (id) on delete cascade,
    kind text not null check (kind ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'),
    category text not null check (category ~ '^[a-z][a-z_]*$'),
    object_type text check (char_length(object_type) <= 50),
    object_id text check (char_length(object_id) <= 200),
    group_key text check (char_length(group_key) <= 200),
    actor_ids uuid[] not null default '{}',
    actor_count int not null default 0,
    data jsonb not null default '{}',
    in_app boolean not null default true,
    email_status text not null default 'none'
    check (email_status in ('none', 'queued', 'digest', 'sent')),
    read_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table community.notifications is
'Every notification of every kind (reply, mention, reaction, message, moderation, course
and CTF events), written only by private.notify(). An unread row with a group_key absorbs
later events of the same group ("5 people liked your post" is one row: actor_count, the
latest actors first in actor_ids). in_app = false rows exist only to be emailed.';
create unique index notifications_group_idx on community.notifications (user_id, group_key)
where read_at is null and group_key is not null;
create index notifications_user_idx on community.notifications (user_id, updated_at desc, id desc);
create index notifications_unread_idx on community.notifications (user_id)
where read_at is null and in_app;
create index notifications_digest_idx on community.notifications (user_id)
where email_status = 'digest';
create trigger notifications_touch before update on community.notifications
for each row execute function private.touch_updated_at();
alter table community.notifications enable row level security;
create policy notifications_read_own on community.notifications for select to authenticated
using (user_id = (select auth.uid()) and in_app);
grant select on community.notifications to authenticated, service_role;

create function private.notification_category(p_kind text) returns text
language sql immutable
set search_path = ''
as $$
    select case
        when p_kind in ('reply', 'quote', 'posted', 'thread_created', 'solved') then 'replies'
        when p_kind = 'mention' then 'mentions'
        when p_kind = 'message' then 'messages'
        when p_kind = 'reaction' then 'reactions'
        when p_kind like 'moderation%' or p_kind like 'contribution%' or p_kind = 'appeal'
            then 'moderation'
        when p_kind like 'course%' or p_kind like 'learning%' then 'courses'
        when p_kind like 'ctf%' then 'ctf'
    end
$$;
comment on function private.notification_category(text) is
'The settings category (notifications.<category> in accounts settings) of a kind.';
revoke execute on function private.notification_category(text) from public;

create function private.notify(
    p_user uuid,
    p_kind text,
    p_object_type text default null,
    p_object_id text default null,
    p_data jsonb default '{}',
    p_actor uuid default null,
    p_group_key text default null,
    p_category text default null
) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_category text := coalesce(p_category, private.notification_category(p_kind));
    v_prefs jsonb;
    v_in_app boolean;
    v_email text;
    v_id bigint;
    v_new boolean;
begin
    if p_kind is null or p_kind !~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$' then
        perform private.raise_error('invalid_argument', 'p_kind is a dotted lowercase name.',
            '22023', jsonb_build_object('field', 'p_kind'));
    end if;
    if v_category is null or not (private.default_settings() -> 'notifications') ? v_category
    then
        perform private.raise_error('invalid_argument',
            'p_category must be a notification category of the accounts settings.', '22023',
            jsonb_build_object('field', 'p_category'));
    end if;
    if p_user is null or p_user = p_actor then
        return null;
    end if;
    -- A blocked user causes no notifications (moderation outcomes are not "from" anyone).
    if p_actor is not null and v_category <> 'moderation' and exists (
        select 1 from community.blocks as b where b.blocker_id = p_user and b.blocked_id = p_actor
    ) then
        return null;
    end if;
    v_prefs := private.user_settings(p_user) -> 'notifications' -> v_category;
    v_in_app := coalesce((v_prefs ->> 'in_app')::boolean, true);
    v_email := coalesce(v_prefs ->> 'email', 'off');
    if not v_in_app and v_email = 'off' then
        return null;
    end if;
    insert into community.notifications as n (
        user_id, kind, category, object_type, object_id, group_key, actor_ids, actor_count,
        data, in_app, email_status
    )
    values (
        p_user, p_kind, v_category, p_object_type, p_object_id, p_group_key,
        coalesce(array[p_actor], '{}'), case when p_actor is null then 0 else 1 end,
        coalesce(p_data, '{}'), v_in_app,
        case when v_email in ('digest', 'weekly') then 'digest'
             when v_email = 'immediate' then 'queued' else 'none' end
    )
    on conflict (user_id, group_key) where read_at is null and group_key is not null
    do update set
        actor_ids = case
            when p_actor is null then n.actor_ids
            else (array_prepend(p_actor, array_remove(n.actor_ids, p_actor)))[1:10] end,
        actor_count = n.actor_count + case
            when p_actor is null or p_actor = any(n.actor_ids) then 0 else 1 end,
        data = n.data || excluded.data,
        updated_at = now()
    returning id, (xmax = 0) into v_id, v_new;
    -- One immediate email per notification row, not one per absorbed event.
    if v_new and v_email = 'immediate' then
        perform ops.enqueue('community.notification_email',
            jsonb_build_object('user_id', p_user, 'notification_id', v_id, 'kind', p_kind,
                'object_type', p_object_type, 'object_id', p_object_id, 'data', p_data),
            'notification:' || v_id);
    end if;
    return v_id;
end;
$$;
comment on function private.notify(uuid, text, text, text, jsonb, uuid, text, text) is
'The one way to notify a user, for every domain (course and CTF events too): kind (reply,
mention, reaction, message, moderation.*, contribution.*, course.*, ctf.*, ...), the object
it is about, data for display, the actor, and a group_key that consolidates unread events
into one row. Honours the user''s notifications.<category> settings (in_app, email =
off | immediate | digest; p_category defaults from the kind), drops events from users they
blocked and from themselves. Immediate email goes to ops.outbox (community.notification_email);
digest rows wait for private.community_enqueue_digests. Returns the row id or null.';
revoke execute on function private.notify(uuid, text, text, text, jsonb, uuid, text, text)
from public;
grant execute on function private.notify(uuid, text, text, text, jsonb, uuid, text, text)
to service_role;

create function private.community_enqueue_digests(p_away interval default interval '1 day')
returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_count int := 0;
    v_user record;
begin
    -- Daily ('digest') rows go once the member has been away p_away; weekly rows once the
    -- oldest of them is a week old. Each job's dedupe key names its first row, which is
    -- never picked again (rows are marked sent), so a later digest is never absorbed.
    for v_user in
        select x.user_id, x.frequency, array_agg(x.id order by x.id) as ids
        from (
            select n.id, n.user_id, n.created_at, m.last_seen_at, u.last_sign_in_at,
                   u.created_at as joined_at,
                   case when private.user_settings(n.user_id) -> 'notifications'
                             -> n.category ->> 'email' = 'weekly' then 'weekly'
                        else 'daily' end as frequency
            from community.notifications as n
            left join community.members as m on m.user_id = n.user_id
            left join auth.users as u on u.id = n.user_id
            where n.email_status = 'digest' and n.read_at is null
        ) as x
        group by x.user_id, x.frequency
        having (x.frequency = 'daily'
                and max(coalesce(x.last_seen_at, x.last_sign_in_at, x.joined_at))
                    < now() - p_away)
            or (x.frequency = 'weekly' and min(x.created_at) < now() - interval '7 days')
    loop
        perform ops.enqueue('community.notification_digest',
            jsonb_build_object('user_id', v_user.user_id, 'notification_ids', v_user.ids,
                'frequency', v_user.frequency),
            'digest:' || v_user.user_id || ':' || v_user.ids[1]);
        update community.notifications set email_status = 'sent'
        where id = any(v_user.ids);
        v_count := v_count + 1;
    end loop;
    -- Digest rows of members who came back (or read them) are not emailed.
    update community.notifications set email_status = 'none'
    where email_status = 'digest' and read_at is not null;
    return v_count;
end;
$$;
comment on function private.community_enqueue_digests(interval) is
'Scheduler (service_role): one community.notification_digest outbox job per member and
frequency: daily digest rows of members not seen for p_away, weekly digest rows once the
oldest is a week old (notifications.<category>.email = digest | weekly). Returns how many.';
revoke execute on function private.community_enqueue_digests(interval) from public;
grant execute on function private.community_enqueue_digests(interval) to service_role;

-- API: notifications ----------------------------------------------------------------------
create view api.community_notifications with (security_invoker = true) as
select
    n.id,
    n.kind,
    n.category,
    n.object_type,
    n.object_id,
    n.actor_ids,
    n.actor_count,
    n.data,
    n.read_at,
    n.read_at is null as unread,
    n.created_at,
    n.updated_at
from community.notifications as n
where (select private.key_may_read('api.community_notifications'));
comment on view api.community_notifications is
'Your notifications (order by updated_at desc, id desc). actor_count > 1 means a
consolidated row ("5 people liked your post"); actor_ids holds the latest 10 actors.';
grant select on api.community_notifications to authenticated, service_role;

create function api.community_count_notifications() returns jsonb
language sql stable
set search_path = ''
as $$
    select jsonb_build_object(
        'unread', (
            select count(*) from community.notifications as n
            where n.user_id = (select auth.uid()) and n.read_at is null and n.in_app
        )
    )
$$;
comment on function api.community_count_notifications() is
'{"unread": n}: your unread notifications (served by a partial index).';
revoke execute on function api.community_count_notifications() from public, anon;
grant execute on function api.community_count_notifications() to authenticated;

create function api.community_mark_notifications_read(p_ids bigint[] default null) returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_count int;
begin
    if p_ids is not null and cardinality(p_ids) > 1000 then
        perform private.raise_error('invalid_argument', 'At most 1000 ids at once.', '22023',
            jsonb_build_object('field', 'p_ids'));
    end if;
    update community.notifications set read_at = now()
    where user_id = v_uid and read_at is null and (p_ids is null or id = any(p_ids));
    get diagnostics v_count = row_count;
    return v_count;
end;
$$;
comment on function api.community_mark_notifications_read(bigint[]) is
'Mark your notifications read: the given ids, or all of them (read-all) when p_ids is null.
Returns how many changed. Errors: not_authenticated, invalid_argument.';
revoke execute on function api.community_mark_notifications_read(bigint[]) from public, anon;
grant execute on function api.community_mark_notifications_read(bigint[]) to authenticated;

create function api.community_mark_notification_unread(p_id bigint) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_group text;
begin
    select n.group_key into v_group from community.notifications as n
    where n.id = p_id and n.user_id = v_uid and n.in_app;
    if not found then
        perform private.raise_error('not_found', 'No such notification.', 'PT404');
    end if;
    -- An unread row of the same group absorbs this one's place: keep only one unread.
    if v_group is not null and exists (
        select 1 from community.notifications
        where user_id = v_uid and group_key = v_group and read_at is null and id <> p_id
    ) then
        return;
    end if;
    update community.notifications set read_at = null where id = p_id;
end;
$$;
comment on function api.community_mark_notification_unread(bigint) is
'Mark one of your notifications unread again. Errors: not_authenticated, not_found.';
revoke execute on function api.community_mark_notification_unread(bigint) from public, anon;
grant execute on function api.community_mark_notification_unread(bigint) to authenticated;

-- API: members, trust, blocks --------------------------------------------------------------
create view api.community_members with (security_invoker = true) as
select
    m.user_id,
    m.trust_level,
    t.name as trust_name,
    m.post_count,
    m.thread_count,
    m.likes_received,
    m.days_visited,
    m.silenced_until,
    m.suspended_until
from community.members as m
inner join community.trust_levels as t on m.trust_level = t.level
where (select private.key_may_read('api.community_members'));
comment on view api.community_members is
'Community badges of members: trust level, counts, and current sanctions (public, like a
badge; the reasons are in api.community_moderation_actions).';
grant select on api.community_members to anon, authenticated, service_role;

create view api.community_trust_levels with (security_invoker = true) as
select
    t.level,
    t.name,
    t.posts_per_10min,
    t.threads_per_day,
    t.messages_per_10min,
    t.links_per_post,
    t.flag_weight,
    t.min_days_visited,
    t.min_posts_read,
    t.min_likes_received,
    t.max_upheld_flags
from community.trust_levels as t
where (select private.key_may_read('api.community_trust_levels'));
comment on view api.community_trust_levels is
'The trust levels, their limits and what it takes to reach each.';
grant select on api.community_trust_levels to anon, authenticated, service_role;

create function api.community_record_visit() returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_member community.members := private.community_actor(false);
    v_level smallint;
begin
    update community.members set
        last_seen_at = now(),
        days_visited = days_visited + case
            when last_visit_day is distinct from current_date then 1 else 0 end,
        last_visit_day = current_date
    where user_id = v_member.user_id;
    v_level := private.community_recompute_trust(v_member.user_id);
    return jsonb_build_object('trust_level', v_level);
end;
$$;
comment on function api.community_record_visit() is
'Call when the app opens: counts a visited day (once per day), updates last seen (digests
are emailed only to members away for a day) and recomputes your trust level.
Errors: not_authenticated, community_suspended.';
revoke execute on function api.community_record_visit() from public, anon;
grant execute on function api.community_record_visit() to authenticated;

create function api.community_set_trust_level(
    p_user_id uuid, p_level int, p_reason text
) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_moderator uuid := private.require_permission('community.moderate');
begin
    if p_level is null or p_level not between 0 and 4 then
        perform private.raise_error('invalid_argument', 'p_level is 0..4, or null to unlock.',
            '22023', jsonb_build_object('field', 'p_level'));
    end if;
    perform private.community_check_reason(p_reason); -- (defined with moderation)
    if not exists (select 1 from auth.users where id = p_user_id) then
        perform private.raise_error('user_not_found', 'No such user.', 'PT404');
    end if;
    -- (defined with moderation) not oneself, only members below one's role
    perform private.community_check_authority(v_moderator, p_user_id);
    perform private.community_member(p_user_id);
    update community.members set trust_level = p_level, trust_locked = true
    where user_id = p_user_id;
    perform private.audit('community.trust_level_set', 'user', p_user_id::text,
        jsonb_build_object('level', p_level), p_reason);
end;
$$;
comment on function api.community_set_trust_level(uuid, int, text) is
'Moderator: set and lock a member''s trust level (4 = leader is only granted this way), for
members below your role, never yourself. Audited. Errors: not_authenticated, forbidden,
invalid_argument, user_not_found, community_self_moderation, community_outranked.';
revoke execute on function api.community_set_trust_level(uuid, int, text) from public, anon;
grant execute on function api.community_set_trust_level(uuid, int, text) to authenticated;

create view api.community_my_blocks with (security_invoker = true) as
select
    b.blocked_id,
    b.created_at
from community.blocks as b
where (select private.key_may_read('api.community_my_blocks'));
comment on view api.community_my_blocks is 'Users you blocked.';
grant select on api.community_my_blocks to authenticated, service_role;

create function api.community_block_user(p_user_id uuid) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_member community.members := private.community_actor(false);
begin
    if p_user_id is null or p_user_id = v_member.user_id then
        perform private.raise_error('invalid_argument', 'You cannot block yourself.', '22023',
            jsonb_build_object('field', 'p_user_id'));
    end if;
    if not exists (select 1 from auth.users where id = p_user_id) then
        perform private.raise_error('user_not_found', 'No such user.', 'PT404');
    end if;
    insert into community.blocks (blocker_id, blocked_id) values (v_member.user_id, p_user_id)
    on conflict do nothing;
end;
$$;
comment on function api.community_block_user(uuid) is
'Block a user: their direct messages to you are refused (community_blocked), their group
messages hidden from you, and they cause you no notifications. Idempotent.
Errors: not_authenticated, invalid_argument, user_not_found.';
revoke execute on function api.community_block_user(uuid) from public, anon;
grant execute on function api.community_block_user(uuid) to authenticated;

create function api.community_unblock_user(p_user_id uuid) returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform private.require_user();
    delete from community.blocks
    where blocker_id = (select auth.uid()) and blocked_id = p_user_id;
end;
$$;
comment on function api.community_unblock_user(uuid) is
'Unblock a user (idempotent). Errors: not_authenticated.';
revoke execute on function api.community_unblock_user(uuid) from public, anon;
grant execute on function api.community_unblock_user(uuid) to authenticated;
