-- community: private messaging — one-to-one and small-group conversations that only their
-- active participants can read or write, leaving, blocking, unread counts, Realtime.

create table community.conversations (
    id bigint generated always as identity primary key,
    kind text not null check (kind in ('direct', 'group')),
    title text check (char_length(title) <= 100),
    created_by uuid references auth.users (id) on delete set null,
    direct_key text unique,
    last_message_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check ((kind = 'direct') = (direct_key is not null))
);
comment on table community.conversations is
'Private conversations: direct (exactly two people, one conversation per pair: direct_key is
the two ids in order) or group (up to community_limits.group_max). Readable only by their
active participants; moderators see flagged messages as snapshots in the review queue.';
create index conversations_created_by_idx on community.conversations (created_by);
create trigger conversations_touch before update on community.conversations
for each row execute function private.touch_updated_at();
alter table community.conversations enable row level security;

create table community.conversation_participants (
    conversation_id bigint not null references community.conversations (id) on delete cascade,
    user_id uuid not null references auth.users (id) on delete cascade,
    joined_at timestamptz not null default now(),
    left_at timestamptz,
    last_read_message_id bigint not null default 0,
    primary key (conversation_id, user_id)
);
comment on table community.conversation_participants is
'Who is in each conversation. left_at set: they left and no longer read or receive it.
last_read_message_id drives unread counts.';
create index conversation_participants_user_idx on community.conversation_participants
(user_id) where left_at is null;
alter table community.conversation_participants enable row level security;

create table community.messages (
    id bigint generated always as identity primary key,
    conversation_id bigint not null references community.conversations (id) on delete cascade,
    sender_id uuid references auth.users (id) on delete set null,
    body text not null check (char_length(body) <= 5000),
    hidden_at timestamptz,
    deleted_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table community.messages is
'Messages of conversations. Participants see them, except messages of users they blocked;
hidden (moderation) messages only their sender sees; deleted ones nobody.';
create index messages_conversation_idx on community.messages (conversation_id, id);
create index messages_sender_idx on community.messages (sender_id);
create trigger messages_touch before update on community.messages
for each row execute function private.touch_updated_at();
alter table community.messages enable row level security;

create function private.community_my_conversations() returns bigint[]
language sql stable
security definer
set search_path = ''
as $$
    select coalesce(array_agg(p.conversation_id), '{}')
    from community.conversation_participants as p
    where p.user_id = (select auth.uid()) and p.left_at is null
$$;
comment on function private.community_my_conversations() is
'Conversations the caller is an active participant of, for policies as an init-plan.
Definer: the participants table is itself guarded by this list.';
revoke execute on function private.community_my_conversations() from public;
grant execute on function private.community_my_conversations() to authenticated, service_role;

create policy conversations_read on community.conversations for select to authenticated
using (id = any((select private.community_my_conversations())::bigint[]));
create policy conversation_participants_read on community.conversation_participants
for select to authenticated
using (conversation_id = any((select private.community_my_conversations())::bigint[]));
create policy messages_read on community.messages for select to authenticated
using (
    conversation_id = any((select private.community_my_conversations())::bigint[])
    and deleted_at is null
    and (hidden_at is null or sender_id = (select auth.uid()))
    and not coalesce(sender_id = any((select private.community_my_blocks())::uuid[]), false)
);
grant select on community.conversations, community.conversation_participants,
community.messages to authenticated, service_role;

-- Realtime: postgres_changes delivers a row only to subscribers whose RLS lets them read it,
-- and these three tables' only select policies are the participant / owner checks above.
alter publication supabase_realtime add table community.messages,
community.conversation_participants, community.notifications;

-- Helpers -----------------------------------------------------------------------------------
create function private.community_check_recipient(p_sender uuid, p_recipient uuid)
returns void
language plpgsql stable
security definer
set search_path = ''
as $$
begin
    if exists (
        select 1 from community.blocks as b
        where b.blocker_id = p_recipient and b.blocked_id = p_sender
    ) or (
        private.user_settings(p_recipient) #>> '{privacy,allow_messages}' = 'nobody'
        and not private.user_has_permission(p_sender, 'community.moderate')
    ) then
        perform private.raise_error('community_blocked',
            'This member does not accept messages from you.', '42501',
            jsonb_build_object('user_id', p_recipient));
    end if;
end;
$$;
comment on function private.community_check_recipient(uuid, uuid) is
'Refuse (community_blocked) when the recipient blocked the sender or switched messages off
(privacy.allow_messages = nobody; staff may still write).';
revoke execute on function private.community_check_recipient(uuid, uuid) from public;

create function private.community_post_message(
    p_member community.members, p_conversation_id bigint, p_body text
) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_id bigint;
    v_other record;
begin
    perform private.arg_text(p_body,
        (private.community_limits() ->> 'max_message')::int, 'body');
    perform private.community_rate_limit(p_member, 'message');
    insert into community.messages (conversation_id, sender_id, body)
    values (p_conversation_id, p_member.user_id, p_body)
    returning id into v_id;
    update community.conversations set last_message_at = now() where id = p_conversation_id;
    update community.conversation_participants set last_read_message_id = v_id
    where conversation_id = p_conversation_id and user_id = p_member.user_id;
    for v_other in
        select p.user_id from community.conversation_participants as p
        where p.conversation_id = p_conversation_id and p.left_at is null
          and p.user_id <> p_member.user_id
    loop
        perform private.notify(v_other.user_id, 'message', 'conversation',
            p_conversation_id::text,
            jsonb_build_object('conversation_id', p_conversation_id, 'message_id', v_id),
            p_member.user_id, 'conversation:' || p_conversation_id);
    end loop;
    return v_id;
end;
$$;
comment on function private.community_post_message(community.members, bigint, text) is
'Write a message (validated, rate limited), update read state and notify the others (one
consolidated notification per conversation while unread; blockers get none).';
revoke execute on function private.community_post_message(community.members, bigint, text)
from public;

-- API ---------------------------------------------------------------------------------------
create function api.community_start_conversation(
    p_user_ids uuid[], p_body text, p_title text default null
) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_member community.members := private.community_actor(true);
    v_others uuid[];
    v_other uuid;
    v_max int := (private.community_limits() ->> 'group_max')::int;
    v_key text;
    v_id bigint;
begin
    v_others := array(
        select distinct u from unnest(p_user_ids) as u
        where u is not null and u <> v_member.user_id
    );
    if cardinality(v_others) = 0 then
        perform private.raise_error('invalid_argument', 'Name at least one other member.',
            '22023', jsonb_build_object('field', 'p_user_ids'));
    end if;
    if cardinality(v_others) + 1 > v_max then
        perform private.raise_error('community_conversation_full',
            format('At most %s participants.', v_max), '22023', jsonb_build_object('max', v_max));
    end if;
    if char_length(p_title) > 100 then
        perform private.arg_error('p_title', 'p_title is at most 100 characters.');
    end if;
    foreach v_other in array v_others loop
        if not exists (select 1 from auth.users where id = v_other) then
            perform private.raise_error('user_not_found', 'No such user.', 'PT404',
                jsonb_build_object('user_id', v_other));
        end if;
        perform private.community_check_recipient(v_member.user_id, v_other);
    end loop;
    perform private.arg_text(p_body,
        (private.community_limits() ->> 'max_message')::int, 'body');
    if cardinality(v_others) = 1 then
        v_key := least(v_member.user_id, v_others[1])::text || ':'
            || greatest(v_member.user_id, v_others[1])::text;
        insert into community.conversations (kind, created_by, direct_key)
        values ('direct', v_member.user_id, v_key)
        on conflict (direct_key) do nothing
        returning id into v_id;
        if v_id is null then
            select c.id into v_id from community.conversations as c where c.direct_key = v_key;
        end if;
    else
        insert into community.conversations (kind, title, created_by)
        values ('group', nullif(btrim(p_title), ''), v_member.user_id)
        returning id into v_id;
    end if;
    -- Both people of a direct conversation are (back) in it when someone writes.
    insert into community.conversation_participants as p (conversation_id, user_id)
    select v_id, u from unnest(v_others || v_member.user_id) as u
    on conflict (conversation_id, user_id) do update set left_at = null, joined_at = now()
    where p.left_at is not null;
    return private.community_post_message(v_member, v_id, p_body);
end;
$$;
comment on function api.community_start_conversation(uuid[], text, text) is
'Message one member (reusing your direct conversation with them) or start a group (up to
10 people with you) with a first message; returns the message id (the conversation is in
api.community_my_conversations). Errors: not_authenticated, community_suspended, community_silenced,
invalid_argument, community_conversation_full, user_not_found, community_blocked,
text_too_long, rate_limited.';
revoke execute on function api.community_start_conversation(uuid[], text, text) from public, anon;
grant execute on function api.community_start_conversation(uuid[], text, text) to authenticated;

create function api.community_send_message(p_conversation_id bigint, p_body text) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_member community.members := private.community_actor(true);
    v_kind text;
    v_other uuid;
begin
    select c.kind into v_kind from community.conversations as c
    join community.conversation_participants as p on p.conversation_id = c.id
    where c.id = p_conversation_id and p.user_id = v_member.user_id and p.left_at is null;
    if not found then
        perform private.raise_error('community_not_participant', 'No such conversation.',
            'PT404');
    end if;
    if v_kind = 'direct' then
        select p.user_id into v_other from community.conversation_participants as p
        where p.conversation_id = p_conversation_id and p.user_id <> v_member.user_id;
        perform private.community_check_recipient(v_member.user_id, v_other);
        update community.conversation_participants set left_at = null, joined_at = now()
        where conversation_id = p_conversation_id and user_id = v_other and left_at is not null;
    end if;
    return private.community_post_message(v_member, p_conversation_id, p_body);
end;
$$;
comment on function api.community_send_message(bigint, text) is
'Write in a conversation you are in. In a direct conversation the other person must accept
your messages (not blocked); in a group, members who blocked you do not see your messages.
Errors: not_authenticated, community_suspended, community_silenced,
community_not_participant, community_blocked, invalid_argument, text_too_long,
rate_limited.';
revoke execute on function api.community_send_message(bigint, text) from public, anon;
grant execute on function api.community_send_message(bigint, text) to authenticated;

create function api.community_add_participant(p_conversation_id bigint, p_user_id uuid) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_member community.members := private.community_actor(true);
    v_max int := (private.community_limits() ->> 'group_max')::int;
begin
    perform 1 from community.conversations as c
    join community.conversation_participants as p on p.conversation_id = c.id
    where c.id = p_conversation_id and p.user_id = v_member.user_id and p.left_at is null
      and c.kind = 'group'
    for update of c;
    if not found then
        perform private.raise_error('community_not_participant', 'No such group conversation.',
            'PT404');
    end if;
    if not exists (select 1 from auth.users where id = p_user_id) then
        perform private.raise_error('user_not_found', 'No such user.', 'PT404');
    end if;
    perform private.community_check_recipient(v_member.user_id, p_user_id);
    if (select count(*) from community.conversation_participants
        where conversation_id = p_conversation_id and left_at is null) >= v_max then
        perform private.raise_error('community_conversation_full',
            format('At most %s participants.', v_max), '22023', jsonb_build_object('max', v_max));
    end if;
    insert into community.conversation_participants as p (conversation_id, user_id)
    values (p_conversation_id, p_user_id)
    on conflict (conversation_id, user_id) do update set left_at = null, joined_at = now();
end;
$$;
comment on function api.community_add_participant(bigint, uuid) is
'Add a member to a group conversation you are in. Errors: not_authenticated,
community_suspended, community_silenced, community_not_participant, user_not_found,
community_blocked, community_conversation_full.';
revoke execute on function api.community_add_participant(bigint, uuid) from public, anon;
grant execute on function api.community_add_participant(bigint, uuid) to authenticated;

create function api.community_leave_conversation(p_conversation_id bigint) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
begin
    update community.conversation_participants set left_at = now()
    where conversation_id = p_conversation_id and user_id = v_uid and left_at is null;
    if not found then
        perform private.raise_error('community_not_participant', 'No such conversation.',
            'PT404');
    end if;
end;
$$;
comment on function api.community_leave_conversation(bigint) is
'Leave a conversation: you no longer read it or receive its messages (a new direct message
from the other person brings you back, unless you block them). Errors: not_authenticated,
community_not_participant.';
revoke execute on function api.community_leave_conversation(bigint) from public, anon;
grant execute on function api.community_leave_conversation(bigint) to authenticated;

create function api.community_mark_conversation_read(
    p_conversation_id bigint, p_message_id bigint default null
) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_upto bigint;
begin
    select coalesce(p_message_id, max(m.id), 0) into v_upto from community.messages as m
    where m.conversation_id = p_conversation_id;
    update community.conversation_participants
    set last_read_message_id = greatest(last_read_message_id, v_upto)
    where conversation_id = p_conversation_id and user_id = v_uid and left_at is null;
    if not found then
        perform private.raise_error('community_not_participant', 'No such conversation.',
            'PT404');
    end if;
    update community.notifications set read_at = now()
    where user_id = v_uid and group_key = 'conversation:' || p_conversation_id
      and read_at is null;
end;
$$;
comment on function api.community_mark_conversation_read(bigint, bigint) is
'Mark a conversation read up to a message (default: its latest), and its notification.
Errors: not_authenticated, community_not_participant.';
revoke execute on function api.community_mark_conversation_read(bigint, bigint) from public, anon;
grant execute on function api.community_mark_conversation_read(bigint, bigint) to authenticated;

create view api.community_my_conversations with (security_invoker = true) as
select
    c.id,
    c.kind,
    c.title,
    c.created_by,
    c.last_message_at,
    me.last_read_message_id,
    (
        select count(*) from community.messages as m
        where
            m.conversation_id = c.id and m.id > me.last_read_message_id
            and m.sender_id is distinct from me.user_id
    ) as unread_count,
    c.created_at
from community.conversations as c
inner join community.conversation_participants as me
    on c.id = me.conversation_id and me.user_id = (select auth.uid())
where (select private.key_may_read('api.community_my_conversations'));
comment on view api.community_my_conversations is
'Your conversations with unread counts (messages of people you blocked do not count).';
grant select on api.community_my_conversations to authenticated, service_role;

create view api.community_conversation_participants with (security_invoker = true) as
select
    p.conversation_id,
    p.user_id,
    private.community_username(p.user_id) as username,
    p.joined_at,
    p.left_at,
    p.last_read_message_id
from community.conversation_participants as p
where (select private.key_may_read('api.community_conversation_participants'));
comment on view api.community_conversation_participants is
'Participants of your conversations (and how far each read: read receipts).';
grant select on api.community_conversation_participants to authenticated, service_role;

create view api.community_conversation_messages with (security_invoker = true) as
select
    m.id,
    m.conversation_id,
    m.sender_id,
    private.community_username(m.sender_id) as sender_username,
    m.body,
    m.hidden_at is not null as hidden,
    m.created_at
from community.messages as m
where (select private.key_may_read('api.community_conversation_messages'));
comment on view api.community_conversation_messages is
'Messages of your conversations (page with id < last seen, order by id desc).';
grant select on api.community_conversation_messages to authenticated, service_role;

create function api.community_count_unread_messages() returns bigint
language sql stable
set search_path = ''
as $$
    select coalesce(sum(c.unread_count), 0)::bigint from api.community_my_conversations as c
$$;
comment on function api.community_count_unread_messages() is
'Unread messages over all your conversations.';
revoke execute on function api.community_count_unread_messages() from public, anon;
grant execute on function api.community_count_unread_messages() to authenticated;
