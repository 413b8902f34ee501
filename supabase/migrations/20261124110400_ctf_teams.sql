-- ctf: registration and teams (create, join by invite code, leave, kick, captaincy, rename),
-- and organiser moderation (ban / hide teams, ban accounts). Team changes never move solves:
-- they stay with the team.

create function private.ctf_require_may_join(p_event uuid, p_uid uuid, p_team uuid)
returns void
language plpgsql stable
security definer
set search_path = ''
as $$
begin
    -- A ban follows the account within the event, not its membership.
    if exists (select 1 from ctf.account_bans where event_id = p_event and user_id = p_uid) then
        perform private.raise_error('ctf_banned', 'You are banned from this event.', 'PT403');
    end if;
    -- Attempts bind the account to the team it made them for (no team hopping).
    if exists (
        select 1 from ctf.submissions
        where user_id = p_uid and event_id = p_event and team_id is distinct from p_team
    ) then
        perform private.raise_error('ctf_membership_locked',
            'Your flag attempts in this event bind you to your team.', 'PT403');
    end if;
    if p_team is not null and exists (
        select 1 from ctf.team_kicks where team_id = p_team and user_id = p_uid
    ) then
        perform private.raise_error('ctf_kicked',
            'You were removed from this team; ask its captain to re-invite you.', 'PT403');
    end if;
end;
$$;
comment on function private.ctf_require_may_join(uuid, uuid, uuid) is
'Refuse an account joining p_team (null: founding a new team or registering) in an event:
ctf_banned (a ban on the account in this event), ctf_membership_locked (it already made
attempts for another team of the event), ctf_kicked (removed from p_team, not re-invited).';
revoke execute on function private.ctf_require_may_join(uuid, uuid, uuid) from public;

create function private.ctf_require_captain(
    p_team uuid, p_uid uuid, p_organiser_may boolean, p_message text
) returns ctf.teams
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_team ctf.teams;
begin
    select * into v_team from ctf.teams where id = p_team for update;
    if v_team.id is null or not (
        coalesce(v_team.captain_id = p_uid, false)
        or (p_organiser_may and private.ctf_is_organiser(v_team.event_id, p_uid))
    ) then
        perform private.raise_error('ctf_not_captain', p_message, 'PT403');
    end if;
    return v_team;
end;
$$;
comment on function private.ctf_require_captain(uuid, uuid, boolean, text) is
'The team (row locked), if the user is its captain (or, with p_organiser_may, organises its
event); else ctf_not_captain with p_message. The one captain check of every team RPC.';
revoke execute on function private.ctf_require_captain(uuid, uuid, boolean, text) from public;

create function private.ctf_event_for_join(p_event uuid, p_uid uuid) returns ctf.events
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_ev ctf.events;
begin
    select * into v_ev from ctf.events where id = p_event;
    if v_ev.id is null or not private.ctf_event_visible_to(v_ev, p_uid) then
        perform private.raise_error('ctf_event_not_found', 'No such event.', 'PT404');
    end if;
    if not v_ev.registration_open then
        perform private.raise_error('ctf_registration_closed',
            'Registration for this event is closed.', 'PT403');
    end if;
    if v_ev.ends_at is not null and v_ev.ends_at <= now() then
        perform private.raise_error('ctf_event_ended', 'The event has ended.', 'PT403');
    end if;
    if exists (select 1 from ctf.participants where event_id = p_event and user_id = p_uid) then
        perform private.raise_error('ctf_already_registered',
            'You are already in a team for this event.', 'PT409');
    end if;
    perform private.ctf_require_may_join(p_event, p_uid, null);
    return v_ev;
end;
$$;
comment on function private.ctf_event_for_join(uuid, uuid) is
'The event, if the user may register or found a team in it now (visible, registration open,
not ended, not yet registered, not banned, not bound to another team); else the matching
error.';
revoke execute on function private.ctf_event_for_join(uuid, uuid) from public;

create function private.ctf_new_team(
    p_event ctf.events, p_uid uuid, p_name text, p_bracket uuid, p_solo boolean
) returns ctf.teams
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_team ctf.teams;
begin
    if p_name is null or char_length(btrim(p_name)) not between 1 and 60 then
        perform private.raise_error('invalid_argument', 'A team name is 1-60 characters.', '22023',
            jsonb_build_object('field', 'name'));
    end if;
    if p_bracket is not null and not exists (
        select 1 from ctf.brackets where id = p_bracket and event_id = p_event.id
    ) then
        perform private.raise_error('invalid_argument', 'No such bracket in this event.', '22023',
            jsonb_build_object('field', 'bracket_id'));
    end if;
    begin
        insert into ctf.teams (event_id, name, captain_id, bracket_id, solo)
        values (p_event.id, btrim(p_name), p_uid, p_bracket, p_solo)
        returning * into v_team;
        insert into ctf.participants (event_id, user_id, team_id)
        values (p_event.id, p_uid, v_team.id);
    exception when unique_violation then
        if exists (
            select 1 from ctf.participants where event_id = p_event.id and user_id = p_uid
        ) then
            perform private.raise_error('ctf_already_registered',
                'You are already in a team for this event.', 'PT409');
        end if;
        perform private.raise_error('ctf_team_name_taken',
            'Another team of this event has that name.', 'PT409');
    end;
    insert into ctf.standings (event_id, team_id, bracket_id)
    values (p_event.id, v_team.id, p_bracket);
    return v_team;
end;
$$;
comment on function private.ctf_new_team(ctf.events, uuid, text, uuid, boolean) is
'Create a team with its captain as first member, and its (zero) standings row.';
revoke execute on function private.ctf_new_team(ctf.events, uuid, text, uuid, boolean)
from public;

create function api.ctf_register(p_event_id uuid, p_bracket_id uuid default null) returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_ev ctf.events := private.ctf_event_for_join(p_event_id, v_uid);
    v_name text;
    v_team ctf.teams;
begin
    if v_ev.mode <> 'individual' then
        perform private.raise_error('ctf_wrong_mode',
            'This is a team event: create or join a team.', 'PT409');
    end if;
    select p.username into v_name from accounts.profiles as p where p.id = v_uid;
    if exists (
        select 1 from ctf.teams
        where event_id = p_event_id and lower(name) = lower(coalesce(v_name, ''))
    ) then
        v_name := left(coalesce(v_name, 'player'), 40) || '_' || left(v_uid::text, 8);
    end if;
    v_team := private.ctf_new_team(v_ev, v_uid, coalesce(v_name, 'player'), p_bracket_id, true);
    return v_team.id;
end;
$$;
comment on function api.ctf_register(uuid, uuid) is
'Register for an individual-mode event (you become a team of one, named after your username);
returns your team id. Errors: not_authenticated, ctf_event_not_found, ctf_registration_closed,
ctf_event_ended, ctf_already_registered, ctf_banned, ctf_membership_locked, ctf_wrong_mode,
invalid_argument (bracket).';

create function api.ctf_create_team(p_event_id uuid, p_name text, p_bracket_id uuid default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_ev ctf.events := private.ctf_event_for_join(p_event_id, v_uid);
    v_team ctf.teams;
begin
    if v_ev.mode <> 'teams' then
        perform private.raise_error('ctf_wrong_mode',
            'This is an individual event: register instead.', 'PT409');
    end if;
    v_team := private.ctf_new_team(v_ev, v_uid, p_name, p_bracket_id, false);
    return jsonb_build_object('team_id', v_team.id, 'invite_code', v_team.invite_code);
end;
$$;
comment on function api.ctf_create_team(uuid, text, uuid) is
'Create a team in a team event; you are its captain. Returns {team_id, invite_code}. Names
are unique per event, case-insensitively. Errors: not_authenticated, ctf_event_not_found,
ctf_registration_closed, ctf_event_ended, ctf_already_registered, ctf_banned,
ctf_membership_locked, ctf_wrong_mode, invalid_argument, ctf_team_name_taken.';

create function api.ctf_join_team(p_invite_code text) returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_team ctf.teams;
    v_ev ctf.events;
    v_members int;
begin
    if p_invite_code is null or char_length(p_invite_code) > 100 then
        perform private.raise_error('ctf_invite_invalid', 'No team has that invite code.',
            'PT404');
    end if;
    -- The team row lock serialises joins, so the size limit holds under concurrency.
    select * into v_team from ctf.teams where invite_code = p_invite_code for update;
    if v_team.id is null or v_team.solo then
        perform private.raise_error('ctf_invite_invalid', 'No team has that invite code.',
            'PT404');
    end if;
    select * into v_ev from ctf.events where id = v_team.event_id;
    if not v_ev.registration_open then
        perform private.raise_error('ctf_registration_closed',
            'Registration for this event is closed.', 'PT403');
    end if;
    if v_ev.ends_at is not null and v_ev.ends_at <= now() then
        perform private.raise_error('ctf_event_ended', 'The event has ended.', 'PT403');
    end if;
    if exists (select 1 from ctf.participants where event_id = v_ev.id and user_id = v_uid) then
        perform private.raise_error('ctf_already_registered',
            'You are already in a team for this event.', 'PT409');
    end if;
    perform private.ctf_require_may_join(v_ev.id, v_uid, v_team.id);
    if v_team.banned then
        perform private.raise_error('ctf_banned', 'This team is banned.', 'PT403');
    end if;
    select count(*) into v_members from ctf.participants where team_id = v_team.id;
    if v_ev.team_size_limit is not null and v_members >= v_ev.team_size_limit then
        perform private.raise_error('ctf_team_full', 'The team is full.', 'PT409',
            jsonb_build_object('limit', v_ev.team_size_limit));
    end if;
    begin
        insert into ctf.participants (event_id, user_id, team_id)
        values (v_ev.id, v_uid, v_team.id);
    exception when unique_violation then
        perform private.raise_error('ctf_already_registered',
            'You are already in a team for this event.', 'PT409');
    end;
    if v_team.captain_id is null then
        update ctf.teams set captain_id = v_uid where id = v_team.id;
    end if;
    return v_team.id;
end;
$$;
comment on function api.ctf_join_team(text) is
'Join a team with its invite code; returns the team id. One team per member per event.
Errors: not_authenticated, ctf_invite_invalid, ctf_registration_closed, ctf_event_ended,
ctf_already_registered, ctf_banned (the team, or your account in this event),
ctf_membership_locked (you made attempts for another team), ctf_kicked (removed from this
team and not re-invited), ctf_team_full.';

create function private.ctf_my_membership(p_team uuid, p_uid uuid) returns ctf.teams
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_team ctf.teams;
begin
    select t.* into v_team from ctf.teams as t
    join ctf.participants as p on p.team_id = t.id and p.user_id = p_uid
    where t.id = p_team;
    if v_team.id is null then
        perform private.raise_error('ctf_not_team_member', 'You are not in that team.', 'PT403');
    end if;
    return v_team;
end;
$$;
comment on function private.ctf_my_membership(uuid, uuid) is
'The team, if the user is a member; else ctf_not_team_member.';
revoke execute on function private.ctf_my_membership(uuid, uuid) from public;

create function api.ctf_get_team_invite_code(p_team_id uuid) returns text
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_team ctf.teams;
begin
    select * into v_team from ctf.teams where id = p_team_id;
    if v_team.id is not null and private.ctf_is_organiser(v_team.event_id, v_uid) then
        return v_team.invite_code;
    end if;
    v_team := private.ctf_my_membership(p_team_id, v_uid);
    return v_team.invite_code;
end;
$$;
comment on function api.ctf_get_team_invite_code(uuid) is
'The invite code of your team (or any team, for its event''s organisers). Errors:
not_authenticated, ctf_not_team_member.';

create function api.ctf_leave_team(p_event_id uuid) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_part ctf.participants;
    v_team ctf.teams;
begin
    select * into v_part from ctf.participants where event_id = p_event_id and user_id = v_uid;
    if v_part.user_id is null then
        perform private.raise_error('ctf_not_registered', 'You are not in a team here.',
            'PT403');
    end if;
    if v_part.banned then
        perform private.raise_error('ctf_banned', 'Banned accounts cannot leave their team.',
            'PT403');
    end if;
    select * into v_team from ctf.teams where id = v_part.team_id for update;
    if v_team.solo then
        perform private.raise_error('ctf_wrong_mode',
            'In an individual event your registration is your team.', 'PT409');
    end if;
    if v_team.captain_id = v_uid and exists (
        select 1 from ctf.participants where team_id = v_team.id and user_id <> v_uid
    ) then
        perform private.raise_error('ctf_captain_must_transfer',
            'Transfer captaincy before leaving.', 'PT409');
    end if;
    if exists (select 1 from ctf.submissions where user_id = v_uid and event_id = p_event_id) then
        perform private.raise_error('ctf_membership_locked',
            'Your flag attempts in this event bind you to your team.', 'PT403');
    end if;
    delete from ctf.participants where event_id = p_event_id and user_id = v_uid;
    if v_team.captain_id = v_uid then
        update ctf.teams set captain_id = null where id = v_team.id;
    end if;
end;
$$;
comment on function api.ctf_leave_team(uuid) is
'Leave your team in an event (its solves stay with it). Once you made a flag attempt in the
event you stay in your team (no team hopping). Errors: not_authenticated,
ctf_not_registered, ctf_banned, ctf_wrong_mode (individual events),
ctf_captain_must_transfer, ctf_membership_locked.';

create function api.ctf_kick_member(p_team_id uuid, p_user_id uuid) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_team ctf.teams := private.ctf_require_captain(p_team_id, v_uid, true,
        'Only the captain may remove members.');
begin
    if p_user_id is null or p_user_id = v_team.captain_id then
        perform private.raise_error('invalid_argument', 'The captain cannot be removed.', '22023',
            jsonb_build_object('field', 'user_id'));
    end if;
    delete from ctf.participants where team_id = p_team_id and user_id = p_user_id;
    if not found then
        perform private.raise_error('ctf_not_team_member', 'That user is not in the team.',
            'PT403');
    end if;
    -- The invite code no longer lets them back in (old or rotated): only a re-invite does.
    insert into ctf.team_kicks (team_id, user_id, kicked_by)
    values (p_team_id, p_user_id, v_uid)
    on conflict (team_id, user_id) do update
    set kicked_by = excluded.kicked_by, kicked_at = now();
    perform private.audit('ctf.member_kicked', 'ctf_team', p_team_id::text,
        jsonb_build_object('user_id', p_user_id));
end;
$$;
comment on function api.ctf_kick_member(uuid, uuid) is
'Captain (or organiser): remove a member from the team; they cannot rejoin it until
re-invited (api.ctf_reinvite_member). Errors: not_authenticated, ctf_not_captain,
invalid_argument (the captain), ctf_not_team_member.';

create function api.ctf_reinvite_member(p_team_id uuid, p_user_id uuid) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_team ctf.teams := private.ctf_require_captain(p_team_id, v_uid, true,
        'Only the captain may re-invite members.');
begin
    if p_user_id is null then
        perform private.raise_error('invalid_argument', 'user_id is required.', '22023',
            jsonb_build_object('field', 'user_id'));
    end if;
    delete from ctf.team_kicks where team_id = v_team.id and user_id = p_user_id;
    if found then
        perform private.audit('ctf.member_reinvited', 'ctf_team', p_team_id::text,
            jsonb_build_object('user_id', p_user_id));
    end if;
end;
$$;
comment on function api.ctf_reinvite_member(uuid, uuid) is
'Captain (or organiser): lift a kick, so the removed member may join again with the team''s
invite code (idempotent; audited). Errors: not_authenticated, ctf_not_captain,
invalid_argument.';

create function api.ctf_rotate_team_invite_code(p_team_id uuid) returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_team ctf.teams := private.ctf_require_captain(p_team_id, v_uid, false,
        'Only the captain may rotate the invite code.');
    v_code text;
begin
    update ctf.teams set invite_code = encode(sha256(gen_random_uuid()::text::bytea), 'hex')
    where id = v_team.id
    returning invite_code into v_code;
    perform private.audit('ctf.invite_code_rotated', 'ctf_team', p_team_id::text, '{}');
    return v_code;
end;
$$;
comment on function api.ctf_rotate_team_invite_code(uuid) is
'Captain: replace the team''s invite code with a new one and return it; the old code stops
working at once. Kicks stay in force (see api.ctf_reinvite_member). Audited. Errors:
not_authenticated, ctf_not_captain.';

create function api.ctf_transfer_captaincy(p_team_id uuid, p_user_id uuid) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_team ctf.teams := private.ctf_require_captain(p_team_id, v_uid, false,
        'Only the captain may do this.');
begin
    if not exists (select 1 from ctf.participants where team_id = p_team_id and user_id = p_user_id)
        then
        perform private.raise_error('ctf_not_team_member', 'That user is not in the team.',
            'PT403');
    end if;
    update ctf.teams set captain_id = p_user_id where id = p_team_id;
end;
$$;
comment on function api.ctf_transfer_captaincy(uuid, uuid) is
'Captain: make another member the captain. Errors: not_authenticated, ctf_not_captain,
ctf_not_team_member.';

create function api.ctf_rename_team(p_team_id uuid, p_name text) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_team ctf.teams := private.ctf_require_captain(p_team_id, v_uid, true,
        'Only the captain may rename the team.');
begin
    if p_name is null or char_length(btrim(p_name)) not between 1 and 60 then
        perform private.raise_error('invalid_argument', 'A team name is 1-60 characters.', '22023',
            jsonb_build_object('field', 'name'));
    end if;
    begin
        update ctf.teams set name = btrim(p_name) where id = p_team_id;
    exception when unique_violation then
        perform private.raise_error('ctf_team_name_taken',
            'Another team of this event has that name.', 'PT409');
    end;
end;
$$;
comment on function api.ctf_rename_team(uuid, text) is
'Captain (or organiser): rename the team; names are unique per event case-insensitively.
Errors: not_authenticated, ctf_not_captain, invalid_argument, ctf_team_name_taken.';

-- Moderation ------------------------------------------------------------------------------------
create function api.ctf_moderate_team(
    p_team_id uuid,
    p_banned boolean default null,
    p_hidden boolean default null,
    p_reason text default null
) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_team ctf.teams;
begin
    perform private.require_user();
    select * into v_team from ctf.teams where id = p_team_id;
    if v_team.id is null then
        perform private.raise_error('ctf_team_not_found', 'No such team.', 'PT404');
    end if;
    perform private.ctf_require_organiser(v_team.event_id);
    perform private.ctf_freeze_guard(v_team.event_id);
    update ctf.teams set
        banned = coalesce(p_banned, banned),
        hidden = coalesce(p_hidden, hidden)
    where id = p_team_id;
    -- The team's solves leave (or rejoin) the counts behind dynamic values: CTFd leaves
    -- values stale here; we recompute the event.
    perform private.ctf_recompute_event(v_team.event_id);
    perform private.audit('ctf.team_moderated', 'ctf_team', p_team_id::text,
        jsonb_build_object('banned', p_banned, 'hidden', p_hidden), p_reason);
end;
$$;
comment on function api.ctf_moderate_team(uuid, boolean, boolean, text) is
'Organisers: ban/unban and hide/unhide a team (null keeps the current state; audited).
Banned or hidden teams leave the standings and the solve counts behind dynamic values, which
are recomputed for every solver. Errors: not_authenticated, ctf_team_not_found,
ctf_not_organiser.';

create function api.ctf_ban_participant(
    p_event_id uuid, p_user_id uuid, p_banned boolean, p_reason text default null
) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.ctf_require_organiser(p_event_id);
begin
    update ctf.participants set banned = coalesce(p_banned, true)
    where event_id = p_event_id and user_id = p_user_id;
    if not found and not exists (
        select 1 from ctf.account_bans where event_id = p_event_id and user_id = p_user_id
    ) then
        perform private.raise_error('ctf_not_registered', 'That user is not in this event.',
            'PT403');
    end if;
    -- The ban is kept on the account: leaving or being kicked does not lift it.
    if coalesce(p_banned, true) then
        insert into ctf.account_bans (event_id, user_id, banned_by, reason)
        values (p_event_id, p_user_id, v_uid, left(p_reason, 500))
        on conflict (event_id, user_id) do nothing;
    else
        delete from ctf.account_bans where event_id = p_event_id and user_id = p_user_id;
    end if;
    perform private.audit('ctf.participant_banned', 'user', p_user_id::text,
        jsonb_build_object('event_id', p_event_id, 'banned', coalesce(p_banned, true)), p_reason);
end;
$$;
comment on function api.ctf_ban_participant(uuid, uuid, boolean, text) is
'Organisers: ban (or unban) one account in an event: it can no longer submit, unlock hints or
change teams, and the ban stays with the account when it leaves or is kicked (it cannot
register, found or join a team in the event again); its team''s solves stay. Audited.
Errors: not_authenticated, ctf_event_not_found, ctf_not_organiser, ctf_not_registered.';

revoke execute on function api.ctf_register(uuid, uuid) from public, anon;
revoke execute on function api.ctf_create_team(uuid, text, uuid) from public, anon;
revoke execute on function api.ctf_join_team(text) from public, anon;
revoke execute on function api.ctf_get_team_invite_code(uuid) from public, anon;
revoke execute on function api.ctf_leave_team(uuid) from public, anon;
revoke execute on function api.ctf_kick_member(uuid, uuid) from public, anon;
revoke execute on function api.ctf_reinvite_member(uuid, uuid) from public, anon;
revoke execute on function api.ctf_rotate_team_invite_code(uuid) from public, anon;
revoke execute on function api.ctf_transfer_captaincy(uuid, uuid) from public, anon;
revoke execute on function api.ctf_rename_team(uuid, text) from public, anon;
revoke execute on function api.ctf_moderate_team(uuid, boolean, boolean, text) from public, anon;
revoke execute on function api.ctf_ban_participant(uuid, uuid, boolean, text) from public, anon;
grant execute on function api.ctf_register(uuid, uuid), api.ctf_create_team(uuid, text, uuid),
api.ctf_join_team(text), api.ctf_get_team_invite_code(uuid), api.ctf_leave_team(uuid),
api.ctf_kick_member(uuid, uuid), api.ctf_reinvite_member(uuid, uuid),
api.ctf_rotate_team_invite_code(uuid), api.ctf_transfer_captaincy(uuid, uuid),
api.ctf_rename_team(uuid, text), api.ctf_moderate_team(uuid, boolean, boolean, text),
api.ctf_ban_participant(uuid, uuid, boolean, text)
to authenticated;
