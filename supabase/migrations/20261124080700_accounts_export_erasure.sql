-- accounts: your account, data export and account deletion building blocks.
--
-- Every domain that keeps personal data registers a provider: an export function
-- (uuid -> jsonb, its section of the export) and an erase function (uuid -> void, which
-- anonymises what the user authored and deletes what is only personal). Export and
-- deletion call every provider, so a new domain joins both by inserting one row.

insert into ops.error_codes (code, sqlstate, http_status, description) values
(
    'confirmation_mismatch', '22023', 400,
    'The confirmation does not match: type your username to delete your account.'
);

create table accounts.data_providers (
    name text primary key check (name ~ '^[a-z][a-z0-9_]*$'),
    export_function regprocedure not null,
    erase_function regprocedure,
    position int not null default 100,
    created_at timestamptz not null default now()
);
comment on table accounts.data_providers is
'Per-domain functions that export (uuid -> jsonb) and erase/anonymise (uuid -> void) a
user''s data; used by api.accounts_export_my_data and account deletion.';
alter table accounts.data_providers enable row level security;

create function private.export_accounts(p_user uuid) returns jsonb
language sql stable
security definer
set search_path = ''
as $$
    select jsonb_build_object(
        'user', (
            select jsonb_build_object('id', u.id, 'email', u.email, 'created_at', u.created_at,
                'last_sign_in_at', u.last_sign_in_at)
            from auth.users as u where u.id = p_user
        ),
        'profile', (select to_jsonb(p) from accounts.profiles as p where p.id = p_user),
        'settings', private.user_settings(p_user),
        'roles', coalesce((
            select jsonb_agg(jsonb_build_object('role', ur.role, 'granted_at', ur.granted_at))
            from accounts.user_roles as ur where ur.user_id = p_user
        ), '[]'),
        'stats', (select to_jsonb(s) - 'user_id' from accounts.stats as s where s.user_id = p_user),
        'activity', coalesce((
            select jsonb_agg(to_jsonb(a) - 'actor_id' order by a.id)
            from accounts.activity as a where a.actor_id = p_user
        ), '[]')
    )
$$;
comment on function private.export_accounts(uuid) is
'The accounts section of a data export: auth identity, profile, settings, roles, stats
and the activity stream.';
revoke execute on function private.export_accounts(uuid) from public;

insert into accounts.data_providers (name, export_function, erase_function, position)
values ('accounts', 'private.export_accounts(uuid)', null, 0);

create function private.export_user(p_user uuid) returns jsonb
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_provider record;
    v_result jsonb := jsonb_build_object('format', 'flagship-export/1', 'generated_at', now());
    v_section jsonb;
begin
    for v_provider in
        select name, export_function::oid as fn from accounts.data_providers
        order by position, name
    loop
        execute format('select %s($1)', v_provider.fn::regproc) into v_section using p_user;
        v_result := v_result || jsonb_build_object(v_provider.name, v_section);
    end loop;
    return v_result;
end;
$$;
comment on function private.export_user(uuid) is
'Everything about a user, one section per registered provider.';
revoke execute on function private.export_user(uuid) from public;

create function private.erase_user(p_user uuid, p_reason text) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_provider record;
begin
    for v_provider in
        select name, erase_function::oid as fn from accounts.data_providers
        where erase_function is not null order by position desc, name
    loop
        execute format('select %s($1)', v_provider.fn::regproc) using p_user;
    end loop;
    perform private.audit('accounts.user_deleted', 'user', p_user::text, '{}', p_reason);
    perform ops.enqueue('accounts.user_deleted', jsonb_build_object('user_id', p_user),
        p_user::text);
    -- Deleting the auth user cascades to profile, roles, settings, stats and activity.
    delete from auth.users where id = p_user;
end;
$$;
comment on function private.erase_user(uuid, text) is
'Delete a user: every provider anonymises or deletes its data, then the auth user goes
(cascading to accounts data). Audited; the worker receives accounts.user_deleted to remove
stored files and send the goodbye email.';
revoke execute on function private.erase_user(uuid, text) from public;

-- API ---------------------------------------------------------------------------------------
create function api.accounts_get_my_account() returns jsonb
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
begin
    return (
        select jsonb_build_object(
            'id', u.id,
            'email', u.email,
            'email_confirmed_at', u.email_confirmed_at,
            'profile', (select to_jsonb(p) from api.accounts_profiles as p where p.id = v_uid),
            'roles', coalesce((
                select jsonb_agg(ur.role order by r.rank) from accounts.user_roles as ur
                join accounts.roles as r on r.name = ur.role where ur.user_id = v_uid
            ), '[]'),
            'settings', private.user_settings(v_uid),
            'stats', (select to_jsonb(s) - 'user_id' from accounts.stats as s
                      where s.user_id = v_uid)
        )
        from auth.users as u where u.id = v_uid
    );
end;
$$;
comment on function api.accounts_get_my_account() is
'Your account: email (visible only to you and admins), profile, roles, settings, stats.
Definer because the email lives in auth.users. Errors: not_authenticated.';
revoke execute on function api.accounts_get_my_account() from public, anon;
grant execute on function api.accounts_get_my_account() to authenticated;

create function api.accounts_get_user(p_user_id uuid) returns jsonb
language plpgsql stable
security definer
set search_path = ''
as $$
begin
    perform private.require_permission('users.read_email');
    if not exists (select 1 from auth.users where id = p_user_id) then
        perform private.raise_error('user_not_found', 'No such user.', 'PT404');
    end if;
    return (
        select jsonb_build_object(
            'id', u.id, 'email', u.email, 'created_at', u.created_at,
            'last_sign_in_at', u.last_sign_in_at, 'banned_until', u.banned_until,
            'profile', (select to_jsonb(p) from accounts.profiles as p where p.id = u.id),
            'roles', coalesce((select jsonb_agg(ur.role) from accounts.user_roles as ur
                               where ur.user_id = u.id), '[]')
        )
        from auth.users as u where u.id = p_user_id
    );
end;
$$;
comment on function api.accounts_get_user(uuid) is
'Admin: one user with their email. Needs users.read_email (checked against the tables).
Errors: not_authenticated, forbidden, user_not_found.';
revoke execute on function api.accounts_get_user(uuid) from public, anon;
grant execute on function api.accounts_get_user(uuid) to authenticated;

create function api.accounts_export_my_data() returns jsonb
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
begin
    return private.export_user(v_uid);
end;
$$;
comment on function api.accounts_export_my_data() is
'A JSON export of everything Flagship keeps about you (one section per domain).
Errors: not_authenticated.';
revoke execute on function api.accounts_export_my_data() from public, anon;
grant execute on function api.accounts_export_my_data() to authenticated;

create function api.accounts_delete_my_account(p_confirm text) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
begin
    if p_confirm is null or not exists (
        select 1 from accounts.profiles
        where id = v_uid and lower(username) = lower(btrim(p_confirm))
    ) then
        perform private.raise_error('confirmation_mismatch',
            'Type your username to confirm the deletion.', '22023');
    end if;
    perform private.accounts_lock_admin_set();
    perform private.accounts_require_admin_remains(v_uid,
        'The last active admin cannot delete their account.');
    perform private.erase_user(v_uid, 'requested by the user');
end;
$$;
comment on function api.accounts_delete_my_account(text) is
'Delete your account for good: authored content is anonymised, personal data deleted.
p_confirm must be your username. Errors: not_authenticated, confirmation_mismatch,
role_protected (last active admin).';
revoke execute on function api.accounts_delete_my_account(text) from public, anon;
grant execute on function api.accounts_delete_my_account(text) to authenticated;

create function api.accounts_delete_user(p_user_id uuid, p_reason text) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_actor uuid := private.require_permission('platform.admin');
begin
    if p_reason is null or char_length(btrim(p_reason)) not between 3 and 500 then
        perform private.raise_error('invalid_argument', 'A reason (3-500 characters) is required.',
            '22023', jsonb_build_object('field', 'p_reason'));
    end if;
    if p_user_id = v_actor then
        perform private.raise_error('invalid_argument',
            'Use api.accounts_delete_my_account to delete your own account.', '22023');
    end if;
    -- Two admins deleting each other at once: the second waits here, then finds it was
    -- deleted (forbidden) or that its target is the last active admin.
    perform private.accounts_lock_admin_set();
    perform private.require_permission('platform.admin');
    if not exists (select 1 from auth.users where id = p_user_id) then
        perform private.raise_error('user_not_found', 'No such user.', 'PT404');
    end if;
    perform private.accounts_require_admin_remains(p_user_id,
        'The last active admin cannot be deleted.');
    perform private.erase_user(p_user_id, p_reason);
end;
$$;
comment on function api.accounts_delete_user(uuid, text) is
'Admin: delete a user with a reason (audited). Needs platform.admin. Errors:
not_authenticated, forbidden, invalid_argument, user_not_found, role_protected (the last
active admin).';
revoke execute on function api.accounts_delete_user(uuid, text) from public, anon;
grant execute on function api.accounts_delete_user(uuid, text) to authenticated;

create view api.ops_audit_log with (security_invoker = true) as
select
    a.id,
    a.occurred_at,
    a.actor_id,
    a.actor_role,
    a.action,
    a.target_type,
    a.target_id,
    a.reason,
    a.details,
    a.request_id
from ops.audit_log as a
where (select private.key_may_read('api.ops_audit_log'));
comment on view api.ops_audit_log is 'Admin: the audit log (needs audit.read in the JWT).';
create policy audit_log_read on ops.audit_log for select to authenticated
using ((select private.jwt_has_permission('audit.read')));
grant select on ops.audit_log to authenticated, service_role;
grant select on api.ops_audit_log to authenticated, service_role;
