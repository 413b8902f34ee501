-- ctf: organiser RPCs (events, brackets, organisers, challenges, flags, hints, files) and
-- argument validation helpers. Each definer function re-checks the caller first.

-- Helpers ---------------------------------------------------------------------------------------
create function private.ctf_is_organiser(p_event uuid, p_user uuid) returns boolean
language sql stable
security definer
set search_path = ''
as $$
    select exists (
        select 1 from ctf.organisers as o where o.event_id = p_event and o.user_id = p_user
    ) or private.user_has_permission(p_user, 'platform.admin')
$$;
comment on function private.ctf_is_organiser(uuid, uuid) is
'Authoritative: does the user organise the event (or administer the platform)?';

create function private.ctf_require_organiser(p_event uuid) returns uuid
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
begin
    if p_event is null or not exists (select 1 from ctf.events where id = p_event) then
        perform private.raise_error('ctf_event_not_found', 'No such event.', 'PT404');
    end if;
    if not private.ctf_is_organiser(p_event, v_uid) then
        perform private.raise_error('ctf_not_organiser',
            'Only an organiser of this event may do this.', 'PT403');
    end if;
    return v_uid;
end;
$$;
comment on function private.ctf_require_organiser(uuid) is
'The caller''s id if they organise p_event; else not_authenticated / ctf_event_not_found /
ctf_not_organiser.';

create function private.ctf_event_visible_to(p_event ctf.events, p_user uuid) returns boolean
language sql stable
security definer
set search_path = ''
as $$
    select p_event.id is not null and (
        p_event.visibility = 'public'
        or (p_event.visibility = 'members' and p_user is not null)
        or exists (select 1 from ctf.participants as p
                   where p.event_id = p_event.id and p.user_id = p_user)
        or private.ctf_is_organiser(p_event.id, p_user)
    )
$$;
comment on function private.ctf_event_visible_to(ctf.events, uuid) is
'The events_read policy, for definer functions that must check it explicitly (the policy
keeps its inline copy for the planner; test_event_visibility_matches_policy asserts they
agree for every role and visibility).';

create function private.ctf_caller_sees_event(p_event ctf.events) returns boolean
language sql stable
security definer
set search_path = ''
as $$
    select (select auth.role()) = 'service_role'
        or private.ctf_event_visible_to(p_event, (select auth.uid()))
$$;
comment on function private.ctf_caller_sees_event(ctf.events) is
'May the caller see the event (the platform backend sees every event, as RLS lets it)? The
one check of the fast read paths (scoreboard, team page, challenge list).';

-- JSON arguments are validated with the shared private.arg_keys / arg_field / arg_enum
-- (foundation migration); casting happens at the call site on the returned text.

revoke execute on function private.ctf_is_organiser(uuid, uuid) from public;
revoke execute on function private.ctf_require_organiser(uuid) from public;
revoke execute on function private.ctf_event_visible_to(ctf.events, uuid) from public;
revoke execute on function private.ctf_caller_sees_event(ctf.events) from public;

-- Events ----------------------------------------------------------------------------------------
create function private.ctf_apply_event_changes(p_event uuid, p_changes jsonb) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    c constant jsonb := p_changes;
    v_old ctf.events;
begin
    perform private.arg_keys(c, array[
        'slug', 'title', 'description', 'starts_at', 'ends_at', 'freeze_at', 'paused', 'mode',
        'team_size_limit', 'registration_open', 'visibility', 'wrong_per_minute'
    ]);
    perform private.arg_enum(c, 'mode', array['individual', 'teams']);
    perform private.arg_enum(c, 'visibility', array['public', 'members', 'private']);
    if c ? 'slug' and coalesce(private.arg_field(c, 'slug', 'text'), '')
        !~ '^[a-z0-9][a-z0-9-]{1,62}$' then
        perform private.raise_error('invalid_argument',
            'slug is 2-63 lowercase letters, digits and dashes.', '22023',
            jsonb_build_object('field', 'slug'));
    end if;
    if c ? 'slug' and exists (
        select 1 from ctf.events where slug = c ->> 'slug' and id <> p_event
    ) then
        perform private.raise_error('ctf_slug_taken', 'Another event has that slug.', 'PT409');
    end if;
    select * into v_old from ctf.events where id = p_event;
    begin
        update ctf.events as e set
            slug = case when c ? 'slug' then c ->> 'slug' else e.slug end,
            title = case when c ? 'title' then private.arg_field(c, 'title', 'text')
                         else e.title end,
            description = case when c ? 'description'
                               then coalesce(private.arg_field(c, 'description', 'text'), '')
                               else e.description end,
            starts_at = case when c ? 'starts_at'
                             then private.arg_field(c, 'starts_at', 'timestamptz')::timestamptz
                             else e.starts_at end,
            ends_at = case when c ? 'ends_at'
                           then private.arg_field(c, 'ends_at', 'timestamptz')::timestamptz
                           else e.ends_at end,
            freeze_at = case when c ? 'freeze_at'
                             then private.arg_field(c, 'freeze_at', 'timestamptz')::timestamptz
                             else e.freeze_at end,
            paused = case when c ? 'paused'
                          then coalesce(private.arg_field(c, 'paused', 'bool')::boolean, false)
                          else e.paused end,
            mode = case when c ? 'mode' then (c ->> 'mode')::ctf.event_mode else e.mode end,
            team_size_limit = case when c ? 'team_size_limit'
                                   then private.arg_field(c, 'team_size_limit', 'int')::int
                                   else e.team_size_limit end,
            registration_open = case when c ? 'registration_open'
                                     then coalesce(private.arg_field(
                                         c, 'registration_open', 'bool'
                                     )::boolean, true)
                                     else e.registration_open end,
            visibility = case when c ? 'visibility'
                              then (c ->> 'visibility')::ctf.event_visibility
                              else e.visibility end,
            wrong_per_minute = case when c ? 'wrong_per_minute'
                                    then coalesce(private.arg_field(
                                        c, 'wrong_per_minute', 'int'
                                    )::int, 10)
                                    else e.wrong_per_minute end
        where e.id = p_event;
    exception
        when check_violation or not_null_violation then
            perform private.raise_error('invalid_argument',
                'The event''s fields are inconsistent (title 1-120 characters, ends_at after '
                || 'starts_at, freeze_at after starts_at, limits in range).', '22023');
        when unique_violation then
            perform private.raise_error('ctf_slug_taken', 'Another event has that slug.',
                'PT409');
    end;
    -- A new freeze time invalidates the snapshot; the next change after it takes a new one.
    if c ? 'freeze_at' and (
        select e.freeze_at from ctf.events as e where e.id = p_event
    ) is distinct from v_old.freeze_at then
        delete from ctf.standings_frozen where event_id = p_event;
        update ctf.events set frozen_snapshot_at = null where id = p_event;
    end if;
end;
$$;
comment on function private.ctf_apply_event_changes(uuid, jsonb) is
'Validate and apply event fields (shared by create and update).';
revoke execute on function private.ctf_apply_event_changes(uuid, jsonb) from public;

create function api.ctf_create_event(p_event jsonb) returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_permission('ctf.organise');
    v_id uuid;
    v_bracket text;
begin
    perform private.arg_keys(p_event, array[
        'slug', 'title', 'description', 'starts_at', 'ends_at', 'freeze_at', 'paused', 'mode',
        'team_size_limit', 'registration_open', 'visibility', 'wrong_per_minute', 'brackets'
    ]);
    if private.arg_field(p_event, 'slug', 'text') is null
        or private.arg_field(p_event, 'title', 'text') is null then
        perform private.raise_error('invalid_argument', 'slug and title are required.', '22023',
            jsonb_build_object('field', case when p_event ? 'slug' then 'title' else 'slug' end));
    end if;
    if (p_event ->> 'slug') !~ '^[a-z0-9][a-z0-9-]{1,62}$' then
        perform private.raise_error('invalid_argument',
            'slug is 2-63 lowercase letters, digits and dashes.', '22023',
            jsonb_build_object('field', 'slug'));
    end if;
    if exists (select 1 from ctf.events where slug = p_event ->> 'slug') then
        perform private.raise_error('ctf_slug_taken', 'Another event has that slug.', 'PT409');
    end if;
    begin
        insert into ctf.events (slug, title, created_by)
        values (p_event ->> 'slug', left(p_event ->> 'title', 120), v_uid)
        returning id into v_id;
    exception
        when unique_violation then
            perform private.raise_error('ctf_slug_taken', 'Another event has that slug.',
                'PT409');
        when check_violation then
            perform private.raise_error('invalid_argument', 'title is 1-120 characters.', '22023',
                jsonb_build_object('field', 'title'));
    end;
    perform private.ctf_apply_event_changes(v_id, p_event - 'brackets');
    insert into ctf.organisers (event_id, user_id) values (v_id, v_uid);
    for v_bracket in
        select distinct btrim(b) from jsonb_array_elements_text(
            case when jsonb_typeof(p_event -> 'brackets') = 'array'
                 then p_event -> 'brackets' else '[]'::jsonb end
        ) as b
        where char_length(btrim(b)) between 1 and 60
    loop
        insert into ctf.brackets (event_id, name) values (v_id, v_bracket);
    end loop;
    perform private.audit('ctf.event_created', 'ctf_event', v_id::text,
        jsonb_build_object('slug', p_event ->> 'slug'));
    return v_id;
end;
$$;
comment on function api.ctf_create_event(jsonb) is
'Create a CTF event; the caller becomes its organiser. Needs the ctf.organise permission.
p_event: {"slug","title" (required), "description","starts_at","ends_at" (null = no end),
"freeze_at","paused","mode" (individual|teams),"team_size_limit","registration_open",
"visibility" (public|members|private),"wrong_per_minute" (default 10),"brackets":[names]}.
Errors: not_authenticated, forbidden, invalid_argument, invalid_argument (details.field),
ctf_slug_taken.';

create function api.ctf_update_event(p_event_id uuid, p_changes jsonb) returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform private.ctf_require_organiser(p_event_id);
    perform private.ctf_apply_event_changes(p_event_id, p_changes);
    perform private.audit('ctf.event_updated', 'ctf_event', p_event_id::text, p_changes);
end;
$$;
comment on function api.ctf_update_event(uuid, jsonb) is
'Organisers: change event fields (same keys as ctf_create_event except brackets; "paused":
true pauses submissions). Changing freeze_at discards the frozen snapshot. Errors:
not_authenticated, ctf_event_not_found, ctf_not_organiser, invalid_argument, invalid_argument,
ctf_slug_taken.';

create function api.ctf_create_bracket(p_event_id uuid, p_name text) returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_id uuid;
begin
    perform private.ctf_require_organiser(p_event_id);
    if p_name is null or char_length(btrim(p_name)) not between 1 and 60 then
        perform private.raise_error('invalid_argument', 'A bracket name is 1-60 characters.', '22023',
            jsonb_build_object('field', 'name'));
    end if;
    insert into ctf.brackets (event_id, name) values (p_event_id, btrim(p_name))
    on conflict (event_id, name) do nothing
    returning id into v_id;
    if v_id is null then
        select id into v_id from ctf.brackets where event_id = p_event_id and name = btrim(p_name);
    end if;
    return v_id;
end;
$$;
comment on function api.ctf_create_bracket(uuid, text) is
'Organisers: add a scoreboard bracket (idempotent by name); returns its id. Errors:
not_authenticated, ctf_event_not_found, ctf_not_organiser, invalid_argument.';

create function api.ctf_set_organiser(p_event_id uuid, p_user_id uuid, p_organiser boolean)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform private.ctf_require_organiser(p_event_id);
    if p_user_id is null or not exists (select 1 from auth.users where id = p_user_id) then
        perform private.raise_error('user_not_found', 'No such user.', 'PT404');
    end if;
    if coalesce(p_organiser, false) then
        insert into ctf.organisers (event_id, user_id) values (p_event_id, p_user_id)
        on conflict do nothing;
    else
        delete from ctf.organisers where event_id = p_event_id and user_id = p_user_id;
    end if;
    perform private.audit(
        case when coalesce(p_organiser, false) then 'ctf.organiser_added'
             else 'ctf.organiser_removed' end,
        'ctf_event', p_event_id::text, jsonb_build_object('user_id', p_user_id));
end;
$$;
comment on function api.ctf_set_organiser(uuid, uuid, boolean) is
'Organisers: add (true) or remove (false) an organiser of the event (audited). Errors:
not_authenticated, ctf_event_not_found, ctf_not_organiser, user_not_found.';
