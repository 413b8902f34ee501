-- community: moderation — flag reasons as data, flags with trust-weighted auto-hide, a
-- review queue with optimistic versions and history, moderator actions (hide, restore,
-- lock, move, delete, silence, suspend), appeals, and statistics.

create table community.flag_reasons (
    name text primary key check (name ~ '^[a-z][a-z_]{1,30}$'),
    label text not null check (char_length(label) between 1 and 80),
    description text not null,
    message_required boolean not null default false,
    applies_to text[] not null
    check (applies_to <@ array['post', 'thread', 'message', 'user'] and applies_to <> '{}'),
    active boolean not null default true,
    position int not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table community.flag_reasons is
'Why content or a member can be flagged: shown to members, with whether a message is
required and which kinds of target each reason applies to.';
create trigger flag_reasons_touch before update on community.flag_reasons
for each row execute function private.touch_updated_at();
alter table community.flag_reasons enable row level security;
create policy flag_reasons_read on community.flag_reasons for select to anon, authenticated
using (true);
grant select on community.flag_reasons to anon, authenticated, service_role;

insert into community.flag_reasons (
    name, label, description, message_required, applies_to,
    position
) values
(
    'spam', 'Spam', 'Advertising or vandalism, not useful or relevant.', false,
    array['post', 'thread', 'message', 'user'], 1
),
(
    'abuse', 'Abusive', 'Harassment, insults or hate toward someone.', false,
    array['post', 'thread', 'message', 'user'], 2
),
(
    'off_topic', 'Off-topic', 'Not relevant to the discussion or category.', false,
    array['post', 'thread'], 3
),
(
    'illegal', 'Illegal', 'Content that breaks the law (e.g. stolen data, malware for harm).', true,
    array['post', 'thread', 'message', 'user'], 4
),
(
    'other', 'Something else', 'Anything else moderators should know; please explain.', true,
    array['post', 'thread', 'message', 'user'], 5
);

create table community.review_items (
    id bigint generated always as identity primary key,
    target_type text not null check (target_type in ('post', 'thread', 'message', 'user')),
    target_id text not null check (char_length(target_id) <= 64),
    target_author_id uuid references auth.users (id) on delete set null,
    snapshot jsonb not null default '{}',
    status text not null default 'pending'
    check (status in ('pending', 'agreed', 'disagreed', 'deferred')),
    total_weight numeric(8, 2) not null default 0,
    flag_count int not null default 0,
    auto_hidden boolean not null default false,
    version int not null default 1,
    resolved_by uuid references auth.users (id) on delete set null,
    resolved_at timestamptz,
    resolution_note text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table community.review_items is
'The review queue: one pending item per flagged target gathers its flags (weight, count)
and a snapshot of the content at flag time (so moderators judge private messages without
reading conversations). version guards decisions against two moderators at once.';
create unique index review_items_pending_idx on community.review_items (target_type, target_id)
where status = 'pending';
create index review_items_status_idx on community.review_items (status, created_at);
create index review_items_author_idx on community.review_items (target_author_id);
create index review_items_resolved_by_idx on community.review_items (resolved_by);
create trigger review_items_touch before update on community.review_items
for each row execute function private.touch_updated_at();
alter table community.review_items enable row level security;
create policy review_items_read on community.review_items for select to authenticated
using ((select private.jwt_is_staff()));
grant select on community.review_items to authenticated, service_role;

create table community.flags (
    id bigint generated always as identity primary key,
    review_item_id bigint not null references community.review_items (id) on delete cascade,
    target_type text not null,
    target_id text not null,
    flagger_id uuid not null references auth.users (id) on delete cascade,
    reason text not null references community.flag_reasons (name),
    message text check (char_length(message) <= 1000),
    weight numeric(6, 2) not null,
    created_at timestamptz not null default now(),
    unique (flagger_id, target_type, target_id)
);
comment on table community.flags is
'Flags raised by members: one per member and target, weighted by the flagger''s trust level.
Flaggers see their own flags; staff see all.';
create index flags_review_item_idx on community.flags (review_item_id);
create index flags_reason_idx on community.flags (reason);
alter table community.flags enable row level security;
create policy flags_read on community.flags for select to authenticated
using (flagger_id = (select auth.uid()) or (select private.jwt_is_staff()));
grant select on community.flags to authenticated, service_role;

create table community.review_history (
    id bigint generated always as identity primary key,
    review_item_id bigint not null references community.review_items (id) on delete cascade,
    actor_id uuid references auth.users (id) on delete set null,
    action text not null,
    from_status text,
    to_status text,
    version int not null,
    note text,
    created_at timestamptz not null default now()
);
comment on table community.review_history is
'Every change of a review item (flagged, auto_hidden, agree, disagree, defer), append-only.';
create index review_history_item_idx on community.review_history (review_item_id, id);
create index review_history_actor_idx on community.review_history (actor_id);
create trigger review_history_append_only before update or delete on community.review_history
for each row execute function private.forbid_change();
alter table community.review_history enable row level security;
create policy review_history_read on community.review_history for select to authenticated
using ((select private.jwt_is_staff()));
grant select on community.review_history to authenticated, service_role;

create table community.moderation_actions (
    id bigint generated always as identity primary key,
    moderator_id uuid references auth.users (id) on delete set null,
    action text not null check (action in (
        'hide', 'restore', 'lock', 'unlock', 'pin', 'unpin', 'move', 'delete', 'silence',
        'unsilence', 'suspend', 'unsuspend'
    )),
    target_type text not null check (target_type in ('post', 'thread', 'message', 'user')),
    target_id text not null,
    target_user_id uuid references auth.users (id) on delete set null,
    reason text not null,
    until timestamptz,
    details jsonb not null default '{}',
    review_item_id bigint references community.review_items (id) on delete set null,
    reversed_at timestamptz,
    created_at timestamptz not null default now()
);
comment on table community.moderation_actions is
'Moderator actions with their reason, also written to ops.audit_log. The affected member
reads the actions about them (and may appeal); staff read all.';
create index moderation_actions_moderator_idx on community.moderation_actions
(moderator_id, created_at);
create index moderation_actions_target_user_idx on community.moderation_actions (target_user_id);
create index moderation_actions_review_item_idx on community.moderation_actions (review_item_id);
create index moderation_actions_created_idx on community.moderation_actions (created_at);
alter table community.moderation_actions enable row level security;
create policy moderation_actions_read on community.moderation_actions for select
to authenticated
using (target_user_id = (select auth.uid()) or (select private.jwt_is_staff()));
grant select on community.moderation_actions to authenticated, service_role;

create table community.appeals (
    id bigint generated always as identity primary key,
    action_id bigint not null unique references community.moderation_actions (id)
    on delete cascade,
    user_id uuid not null references auth.users (id) on delete cascade,
    body text not null check (char_length(body) <= 2000),
    status text not null default 'open' check (status in ('open', 'granted', 'denied')),
    decided_by uuid references auth.users (id) on delete set null,
    decided_at timestamptz,
    decision_note text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table community.appeals is
'Appeals of moderation actions by the affected member: one per action; granting reverses it.';
create index appeals_user_idx on community.appeals (user_id);
create index appeals_decided_by_idx on community.appeals (decided_by);
create index appeals_open_idx on community.appeals (created_at) where status = 'open';
create trigger appeals_touch before update on community.appeals
for each row execute function private.touch_updated_at();
alter table community.appeals enable row level security;
create policy appeals_read on community.appeals for select to authenticated
using (user_id = (select auth.uid()) or (select private.jwt_is_staff()));
grant select on community.appeals to authenticated, service_role;

-- Helpers -----------------------------------------------------------------------------------
create function private.community_resolve_target(p_type text, p_id text, p_user uuid)
returns jsonb
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_post community.posts;
    v_thread community.threads;
    v_message community.messages;
    v_uuid uuid;
    v_bigint bigint;
    v_participant boolean;
begin
    if p_type is null or p_type not in ('post', 'thread', 'message', 'user') then
        perform private.raise_error('invalid_argument',
            'p_target_type is post, thread, message or user.', '22023',
            jsonb_build_object('field', 'p_target_type'));
    end if;
    -- Canonical ids: '01', ' 1', '+1' are post 1; upper-case or brace uuids are one user.
    if p_type = 'user' then
        begin
            v_uuid := p_id::uuid;
        exception when invalid_text_representation then
            v_uuid := null;
        end;
        if v_uuid is null or not exists (select 1 from auth.users where id = v_uuid) then
            perform private.raise_error('user_not_found', 'No such user.', 'PT404');
        end if;
        return jsonb_build_object('author_id', v_uuid, 'target_id', v_uuid::text,
            'snapshot', jsonb_build_object('username', private.community_username(v_uuid)));
    end if;
    begin
        v_bigint := p_id::bigint;
    exception when invalid_text_representation or numeric_value_out_of_range then
        v_bigint := null;
    end;
    if v_bigint is null or v_bigint <= 0 then
        perform private.raise_error('not_found', 'No such content.', 'PT404');
    end if;
    if p_type = 'post' then
        v_post := private.community_visible_post(v_bigint, p_user);
        return jsonb_build_object('author_id', v_post.author_id, 'target_id', v_bigint::text,
            'hidden', v_post.hidden_at is not null, 'snapshot', jsonb_build_object(
                'body', v_post.body, 'thread_id', v_post.thread_id,
                'post_number', v_post.post_number));
    elsif p_type = 'thread' then
        v_thread := private.community_visible_thread(v_bigint, p_user);
        return jsonb_build_object('author_id', v_thread.author_id, 'target_id', v_bigint::text,
            'hidden', v_thread.hidden_at is not null, 'snapshot', jsonb_build_object(
                'title', v_thread.title, 'category_id', v_thread.category_id));
    end if;
    select m.* into v_message from community.messages as m where m.id = v_bigint;
    v_participant := found and exists (
        select 1 from community.conversation_participants as p
        where p.conversation_id = v_message.conversation_id and p.user_id = p_user
          and p.left_at is null);
    if v_message.id is null or v_message.deleted_at is not null or (
        not v_participant and not private.user_has_permission(p_user, 'community.moderate')
    ) then
        perform private.raise_error('not_found', 'No such message.', 'PT404');
    end if;
    -- Staff may act on a message (hide it from the queue) but never read it: the body is
    -- returned only to an active participant.
    return jsonb_build_object('author_id', v_message.sender_id, 'target_id', v_bigint::text,
        'participant', v_participant, 'hidden', v_message.hidden_at is not null,
        'snapshot', jsonb_build_object('conversation_id', v_message.conversation_id)
            || case when v_participant then jsonb_build_object('body', v_message.body)
                    else '{}' end);
end;
$$;
comment on function private.community_resolve_target(text, text, uuid) is
'A flaggable target as p_user sees it: {author_id, target_id (canonical text of the parsed
bigint or uuid), hidden, snapshot, participant (messages)}; not_found / user_not_found when
it does not exist or p_user may not see it. Staff resolve any message for moderation, but a
message body is in the snapshot only for an active participant of its conversation.';
revoke execute on function private.community_resolve_target(text, text, uuid) from public;

create function private.community_role_rank(p_user uuid) returns int
language sql stable
security definer
set search_path = ''
as $$
    select coalesce(max(r.rank), (select m.rank from accounts.roles as m where m.name = 'member'))
    from accounts.user_roles as ur
    join accounts.roles as r on r.name = ur.role
    where ur.user_id = p_user
$$;
comment on function private.community_role_rank(uuid) is
'The highest accounts.roles rank a user holds (member when none): who may moderate whom.';
revoke execute on function private.community_role_rank(uuid) from public;

create function private.community_check_authority(p_actor uuid, p_target uuid)
returns void
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_actor int;
begin
    if p_target is null then
        return; -- content whose author erased their account
    end if;
    if p_target = p_actor then
        perform private.raise_error('community_self_moderation',
            'You cannot moderate yourself, your content or your own appeal.', 'PT403');
    end if;
    v_actor := private.community_role_rank(p_actor);
    -- Strictly below, except for the highest role (admins act on moderators and each other).
    if private.community_role_rank(p_target) >= v_actor
        and v_actor < (select max(r.rank) from accounts.roles as r) then
        perform private.raise_error('community_outranked',
            'You may act only on members below your role.', '42501');
    end if;
end;
$$;
comment on function private.community_check_authority(uuid, uuid) is
'Raise unless p_actor may moderate p_target (a member, or the author of content): nobody
acts on themselves (community_self_moderation); a role acts only on lower ranks of
accounts.roles, the highest role on anyone else (community_outranked).';
revoke execute on function private.community_check_authority(uuid, uuid) from public;

create function private.community_set_state(p_type text, p_id text, p_action text)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    if p_type = 'post' then
        update community.posts set
            hidden_at = case p_action when 'hide' then coalesce(hidden_at, now())
                                      when 'restore' then null else hidden_at end,
            deleted_at = case p_action when 'delete' then coalesce(deleted_at, now())
                                       when 'undelete' then null else deleted_at end
        where id = p_id::bigint;
    elsif p_type = 'thread' then
        update community.threads set
            hidden_at = case p_action when 'hide' then coalesce(hidden_at, now())
                                      when 'restore' then null else hidden_at end,
            deleted_at = case p_action when 'delete' then coalesce(deleted_at, now())
                                       when 'undelete' then null else deleted_at end,
            locked_at = case p_action when 'lock' then coalesce(locked_at, now())
                                      when 'unlock' then null else locked_at end,
            pinned = case p_action when 'pin' then true when 'unpin' then false else pinned end
        where id = p_id::bigint;
    elsif p_type = 'message' then
        update community.messages set
            hidden_at = case p_action when 'hide' then coalesce(hidden_at, now())
                                      when 'restore' then null else hidden_at end,
            deleted_at = case p_action when 'delete' then coalesce(deleted_at, now())
                                       when 'undelete' then null else deleted_at end
        where id = p_id::bigint;
    end if;
end;
$$;
comment on function private.community_set_state(text, text, text) is
'Apply hide / restore / delete / undelete / lock / unlock / pin / unpin to a post, thread
or message.';
revoke execute on function private.community_set_state(text, text, text) from public;

create function private.community_sanction(
    p_user uuid, p_action text, p_until timestamptz
) returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform private.community_member(p_user);
    if p_action = 'silence' then
        update community.members set silenced_until = p_until where user_id = p_user;
    elsif p_action = 'unsilence' then
        update community.members set silenced_until = null where user_id = p_user;
    elsif p_action = 'suspend' then
        update community.members set suspended_until = p_until where user_id = p_user;
        -- Supabase Auth refuses sign-in and token refresh until banned_until.
        update auth.users set banned_until = p_until where id = p_user;
    elsif p_action = 'unsuspend' then
        update community.members set suspended_until = null where user_id = p_user;
        update auth.users set banned_until = null where id = p_user;
    end if;
end;
$$;
comment on function private.community_sanction(uuid, text, timestamptz) is
'Silence (no posting, messaging or reacting until) or suspend (auth.users.banned_until, so
Supabase Auth issues no new tokens, and every community RPC refuses at once) a member, or
lift it.';
revoke execute on function private.community_sanction(uuid, text, timestamptz) from public;

create function private.community_record_action(
    p_moderator uuid,
    p_action text,
    p_type text,
    p_id text,
    p_user uuid,
    p_reason text,
    p_until timestamptz,
    p_details jsonb,
    p_review_item bigint
) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_id bigint;
begin
    insert into community.moderation_actions (moderator_id, action, target_type, target_id,
                                              target_user_id, reason, until, details,
                                              review_item_id)
    values (p_moderator, p_action, p_type, p_id, p_user, p_reason, p_until,
            coalesce(p_details, '{}'), p_review_item)
    returning id into v_id;
    perform private.audit('community.' || p_action, p_type, p_id,
        coalesce(p_details, '{}') || jsonb_build_object('action_id', v_id, 'until', p_until,
            'target_user_id', p_user, 'review_item_id', p_review_item), p_reason);
    perform private.notify(p_user, 'moderation.' || p_action, p_type, p_id,
        jsonb_build_object('action_id', v_id, 'reason', p_reason, 'until', p_until,
            'details', coalesce(p_details, '{}')), p_moderator);
    return v_id;
end;
$$;
comment on function private.community_record_action(
    uuid, text, text, text, uuid, text, timestamptz, jsonb, bigint
) is
'Keep a moderation action: the actions table, ops.audit_log and a notification to the
member concerned (moderation category).';
revoke execute on function private.community_record_action(
    uuid, text, text, text, uuid, text, timestamptz, jsonb, bigint
) from public;

create function private.community_check_reason(p_reason text) returns text
language plpgsql immutable
set search_path = ''
as $$
begin
    if p_reason is null or char_length(btrim(p_reason)) not between 3 and 500 then
        perform private.raise_error('invalid_argument', 'A reason (3-500 characters) is required.',
            '22023', jsonb_build_object('field', 'p_reason'));
    end if;
    return btrim(p_reason);
end;
$$;
comment on function private.community_check_reason(text) is
'A moderation reason: 3-500 characters, else invalid_argument.';
revoke execute on function private.community_check_reason(text) from public;

-- API: flagging -----------------------------------------------------------------------------
create function api.community_report(
    p_target_type text, p_target_id text, p_reason text, p_message text default null
) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_member community.members := private.community_actor(false);
    v_reason community.flag_reasons;
    v_target jsonb;
    v_author uuid;
    v_weight numeric;
    v_threshold numeric := (private.community_limits() ->> 'hide_threshold')::numeric;
    v_item community.review_items;
    v_flag_id bigint;
    v_id text;
begin
    select * into v_reason from community.flag_reasons where name = p_reason and active;
    if not found or not p_target_type = any(v_reason.applies_to) then
        perform private.raise_error('community_flag_reason_invalid',
            'Unknown flag reason, or it does not apply to this target.', '22023',
            jsonb_build_object('reason', p_reason, 'target_type', p_target_type));
    end if;
    if v_reason.message_required and coalesce(btrim(p_message), '') = '' then
        perform private.raise_error('community_flag_message_required',
            'Please explain this flag.', '22023', jsonb_build_object('field', 'p_message'));
    end if;
    if char_length(p_message) > 1000 then
        perform private.raise_error('text_too_long', 'p_message is over 1000 chars.',
            '22023', jsonb_build_object('field', 'p_message', 'max', 1000));
    end if;
    v_target := private.community_resolve_target(p_target_type, p_target_id, v_member.user_id);
    if p_target_type = 'message' and not (v_target ->> 'participant')::boolean then
        -- Only a participant may report a message: staff do not read conversations.
        perform private.raise_error('not_found', 'No such message.', 'PT404');
    end if;
    v_id := v_target ->> 'target_id';
    v_author := (v_target ->> 'author_id')::uuid;
    if v_author = v_member.user_id then
        perform private.raise_error('community_flag_own', 'You cannot flag your own content.',
            '22023');
    end if;
    if exists (
        select 1 from community.flags
        where flagger_id = v_member.user_id and target_type = p_target_type
          and target_id = v_id
    ) then
        perform private.raise_error('community_already_flagged', 'You already flagged this.',
            'PT409');
    end if;
    perform private.rate_limit('community.flag:' || v_member.user_id, 30, interval '1 day');
    if private.user_has_permission(v_member.user_id, 'community.moderate') then
        v_weight := v_threshold;
    else
        select t.flag_weight into v_weight from community.trust_levels as t
        where t.level = v_member.trust_level;
    end if;
    insert into community.review_items as r (target_type, target_id, target_author_id,
                                             snapshot, total_weight, flag_count)
    values (p_target_type, v_id, v_author, v_target -> 'snapshot', v_weight, 1)
    on conflict (target_type, target_id) where status = 'pending'
    do update set total_weight = r.total_weight + excluded.total_weight,
        flag_count = r.flag_count + 1, version = r.version + 1
    returning * into v_item;
    begin
        insert into community.flags (review_item_id, target_type, target_id, flagger_id, reason,
                                     message, weight)
        values (v_item.id, p_target_type, v_id, v_member.user_id, p_reason,
                nullif(btrim(p_message), ''), v_weight)
        returning id into v_flag_id;
    exception when unique_violation then
        perform private.raise_error('community_already_flagged', 'You already flagged this.',
            'PT409');
    end;
    insert into community.review_history (review_item_id, actor_id, action, to_status, version,
                                          note)
    values (v_item.id, v_member.user_id, 'flagged', 'pending', v_item.version, p_reason);
    -- Auto-hide: content (not users) whose flag weight reached the threshold.
    if p_target_type <> 'user' and v_item.total_weight >= v_threshold
        and not v_item.auto_hidden and not (v_target ->> 'hidden')::boolean then
        perform private.community_set_state(p_target_type, v_id, 'hide');
        update community.review_items set auto_hidden = true, version = version + 1
        where id = v_item.id
        returning * into v_item;
        insert into community.review_history (review_item_id, action, from_status, to_status,
                                              version, note)
        values (v_item.id, 'auto_hidden', 'pending', 'pending', v_item.version,
                format('flag weight %s reached %s', v_item.total_weight, v_threshold));
        perform private.audit('community.auto_hidden', p_target_type, v_id,
            jsonb_build_object('review_item_id', v_item.id, 'weight', v_item.total_weight,
                'threshold', v_threshold, 'target_user_id', v_author),
            'flag weight reached the threshold');
        perform private.notify(v_author, 'moderation.auto_hidden', p_target_type, v_id,
            jsonb_build_object('review_item_id', v_item.id,
                'reason', 'Hidden after flags by the community; a moderator will review it.'));
    end if;
    return v_flag_id;
end;
$$;
comment on function api.community_report(text, text, text, text) is
'Flag a post, thread, message (one of your conversations: only participants report
messages, and moderators see only the reported message) or user with a reason from
api.community_report_reasons (some need p_message). Flags are weighted by your trust level; content is
hidden automatically when the weight reaches the threshold and waits for a moderator.
Errors: not_authenticated, community_suspended, community_flag_reason_invalid,
community_flag_message_required, text_too_long, invalid_argument, not_found,
user_not_found, community_flag_own, community_already_flagged, rate_limited.';
revoke execute on function api.community_report(text, text, text, text) from public, anon;
grant execute on function api.community_report(text, text, text, text) to authenticated;
