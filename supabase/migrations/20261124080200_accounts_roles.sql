-- accounts: global roles, permissions, the custom access token hook and permission helpers.
--
-- Roles are data (accounts.roles) mapped to permissions (accounts.role_permissions); a user
-- holds roles in accounts.user_roles. The access token hook copies the user's roles into
-- the JWT (`user_roles` claim) so policies can check them without a query (fast path);
-- sensitive actions re-read the tables (authoritative path), because a token issued before
-- a revocation still carries the old roles until it expires.

create schema if not exists accounts;
comment on schema accounts is
'Accounts domain: profiles, roles and permissions, settings, activity and streaks.';
grant usage on schema accounts to anon, authenticated, service_role, supabase_auth_admin;

insert into ops.error_codes (code, sqlstate, http_status, description) values
('role_unknown', '22023', 400, 'No such role.'),
('role_not_held', 'PT404', 404, 'The user does not hold that role.'),
('role_protected', 'PT409', 409, 'The role cannot be changed this way (member, or last admin).'),
('user_not_found', 'PT404', 404, 'No such user.'),
(
    'role_rank_exceeded', '42501', 403,
    'The role ranks above your own highest role: you cannot grant or revoke it.'
);

create table accounts.roles (
    name text primary key check (name ~ '^[a-z][a-z_]{1,31}$'),
    description text not null,
    rank int not null unique,
    created_at timestamptz not null default now()
);
comment on table accounts.roles is
'Global roles. rank orders them for display (member lowest, admin highest).';

create table accounts.permissions (
    name text primary key check (name ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$'),
    description text not null
);
comment on table accounts.permissions is
'Named capabilities (domain.action) that roles grant; checked by private.jwt_has_permission().';

create table accounts.role_permissions (
    role text not null references accounts.roles (name) on delete cascade,
    permission text not null references accounts.permissions (name) on delete cascade,
    primary key (role, permission)
);
create index role_permissions_permission_idx on accounts.role_permissions (permission);
comment on table accounts.role_permissions is 'Which permissions each role grants.';

create table accounts.user_roles (
    user_id uuid not null references auth.users (id) on delete cascade,
    role text not null references accounts.roles (name),
    granted_by uuid references auth.users (id) on delete set null,
    granted_at timestamptz not null default now(),
    primary key (user_id, role)
);
create index user_roles_role_idx on accounts.user_roles (role);
create index user_roles_granted_by_idx on accounts.user_roles (granted_by);
comment on table accounts.user_roles is
'Roles each user holds. Changed only through api.accounts_grant_role / api.accounts_revoke_role
(audited).';

insert into accounts.roles (name, description, rank) values
('member', 'Every signed-up user.', 10),
('author', 'Writes articles and challenge proposals for review.', 20),
('instructor', 'Creates and teaches courses.', 30),
('moderator', 'Moderates the community.', 40),
('admin', 'Administers the platform.', 50);

insert into accounts.permissions (name, description) values
('profiles.read_private', 'Read profiles whatever their visibility, and their emails.'),
('roles.manage', 'Grant and revoke global roles.'),
('users.read_email', 'Read the contact email of any user.'),
('audit.read', 'Read the audit log.'),
('courses.author', 'Create courses and teach them.'),
('content.author', 'Submit articles and challenge proposals.'),
('community.moderate', 'Act on flags, hide and restore content, silence members.'),
('ctf.organise', 'Create CTF events and organise them.'),
('platform.admin', 'Everything administrative.');

insert into accounts.role_permissions (role, permission) values
('author', 'content.author'),
('instructor', 'courses.author'),
('instructor', 'content.author'),
('moderator', 'community.moderate'),
('moderator', 'profiles.read_private'),
('admin', 'profiles.read_private'),
('admin', 'roles.manage'),
('admin', 'users.read_email'),
('admin', 'audit.read'),
('admin', 'courses.author'),
('admin', 'content.author'),
('admin', 'community.moderate'),
('admin', 'ctf.organise'),
('admin', 'platform.admin');

alter table accounts.roles enable row level security;
alter table accounts.permissions enable row level security;
alter table accounts.role_permissions enable row level security;
alter table accounts.user_roles enable row level security;

-- The role catalogue is public knowledge; who holds which role is not.
create policy roles_read on accounts.roles for select to anon, authenticated using (true);
create policy permissions_read on accounts.permissions for select to anon, authenticated
using (true);
create policy role_permissions_read on accounts.role_permissions for select
to anon, authenticated using (true);
grant select on accounts.roles, accounts.permissions, accounts.role_permissions
to anon, authenticated, service_role;

-- Permission helpers -------------------------------------------------------------------------
create function private.jwt_roles() returns text[]
language sql stable
set search_path = ''
as $$
    select coalesce(
        array(select jsonb_array_elements_text(
            coalesce((select auth.jwt()) -> 'user_roles', '[]'::jsonb)
        )),
        '{}'::text[]
    )
$$;
comment on function private.jwt_roles() is
'Roles carried by the caller''s JWT (fast path; may be stale until the token expires).';

create function private.jwt_has_permission(p_permission text) returns boolean
language sql stable
set search_path = ''
as $$
    select exists (
        select 1 from accounts.role_permissions as rp
        where rp.permission = p_permission and rp.role = any(private.jwt_roles())
    )
$$;
comment on function private.jwt_has_permission(text) is
'Fast path for policies: does a role in the caller''s JWT grant p_permission?';

create function private.user_has_permission(p_user uuid, p_permission text) returns boolean
language sql stable
security definer
set search_path = ''
as $$
    select exists (
        select 1
        from accounts.user_roles as ur
        join accounts.role_permissions as rp on rp.role = ur.role
        where ur.user_id = p_user and rp.permission = p_permission
    )
$$;
comment on function private.user_has_permission(uuid, text) is
'Authoritative path: does the user hold p_permission right now, according to the tables?
Definer so that callers need no read access to other users'' roles.';

create function private.require_user() returns uuid
language plpgsql stable
set search_path = ''
as $$
declare
    v_uid uuid := (select auth.uid());
begin
    if v_uid is null then
        perform private.raise_error('not_authenticated', 'Sign in first.', '42501');
    end if;
    perform private.require_calling_scope();  -- API key tokens: the api function's scope
    return v_uid;
end;
$$;
comment on function private.require_user() is
'The signed-in caller''s id, or raise not_authenticated (42501, 401 for anon). For an API
key token, also raise scope_missing unless the key holds the calling api function''s scope
(private.require_calling_scope).';
revoke execute on function private.require_user() from public;
grant execute on function private.require_user() to anon, authenticated, service_role;

create function private.require_permission(p_permission text) returns uuid
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
begin
    if not private.user_has_permission(v_uid, p_permission) then
        perform private.raise_error(
            'forbidden', format('This needs the %s permission.', p_permission), '42501',
            jsonb_build_object('permission', p_permission)
        );
    end if;
    return v_uid;
end;
$$;
comment on function private.require_permission(text) is
'For sensitive actions: the caller''s id if the tables say they hold p_permission, else
raise not_authenticated / forbidden. service_role callers are not users and must not use it.';

create function private.jwt_is_staff() returns boolean
language sql stable
set search_path = ''
as $$
    select private.jwt_has_permission('community.moderate')
$$;
comment on function private.jwt_is_staff() is
'Fast path for policies: is the caller platform staff, i.e. does a role in the caller''s JWT
grant community.moderate (moderators and admins)? "Staff" means this everywhere; the people
who teach a course are its course team (private.learning_is_course_team).';

revoke execute on function private.jwt_roles() from public;
revoke execute on function private.jwt_has_permission(text) from public;
revoke execute on function private.user_has_permission(uuid, text) from public;
revoke execute on function private.require_permission(text) from public;
revoke execute on function private.jwt_is_staff() from public;
grant execute on function private.jwt_roles(), private.jwt_has_permission(text),
private.jwt_is_staff() to anon, authenticated, service_role;
grant execute on function private.user_has_permission(uuid, text),
private.require_permission(text) to authenticated, service_role;

-- Who holds which role: the user themselves, and staff.
create policy user_roles_read on accounts.user_roles for select to authenticated
using (
    user_id = (select auth.uid())
    or (select private.jwt_has_permission('profiles.read_private'))
);
grant select on accounts.user_roles to authenticated, service_role;

-- Custom access token hook ------------------------------------------------------------------
create policy user_roles_read_by_auth on accounts.user_roles for select
to supabase_auth_admin using (true);
grant select on accounts.user_roles to supabase_auth_admin;

create function accounts.custom_access_token_hook(event jsonb) returns jsonb
language plpgsql stable
set search_path = ''
as $$
declare
    v_claims jsonb := coalesce(event -> 'claims', '{}'::jsonb);
    v_roles jsonb;
begin
    -- Supabase Auth turns an error object into a failed sign-in instead of a bad token.
    if jsonb_typeof(v_claims) <> 'object' or jsonb_typeof(event -> 'user_id') <> 'string' then
        return jsonb_build_object('error', jsonb_build_object(
            'http_code', 400, 'message', 'The hook needs user_id and a claims object.'
        ));
    end if;
    select coalesce(jsonb_agg(ur.role order by r.rank), '[]'::jsonb) into v_roles
    from accounts.user_roles as ur
    join accounts.roles as r on r.name = ur.role
    where ur.user_id = (event ->> 'user_id')::uuid;
    v_claims := jsonb_set(v_claims, '{user_roles}', v_roles);
    return jsonb_build_object('claims', v_claims);
end;
$$;
comment on function accounts.custom_access_token_hook(jsonb) is
'Supabase Auth custom access token hook: adds the user''s roles as the user_roles claim and
keeps every other claim. Executed by supabase_auth_admin only.';
revoke execute on function accounts.custom_access_token_hook(jsonb)
from public, anon, authenticated, service_role;
grant execute on function accounts.custom_access_token_hook(jsonb) to supabase_auth_admin;
-- The hook reads roles.rank too.
create policy roles_read_by_auth on accounts.roles for select to supabase_auth_admin
using (true);
grant select on accounts.roles to supabase_auth_admin;

-- The admin set --------------------------------------------------------------------------
-- Every change that can remove an admin (revoke, delete a user, delete one's account) takes
-- one transaction-scoped advisory lock first and re-checks under it, so two admins acting at
-- the same instant are serialised and the second sees the first one's result.
create function private.accounts_lock_admin_set() returns void
language sql volatile
set search_path = ''
as $$
    select pg_advisory_xact_lock(hashtext('accounts.admin_set'))
$$;
comment on function private.accounts_lock_admin_set() is
'Serialise changes to the admin set (transaction-scoped advisory lock). Callers re-read the
admin set and re-check the actor''s permission after taking it.';
revoke execute on function private.accounts_lock_admin_set() from public;

create function private.accounts_is_active_admin(p_user uuid) returns boolean
language sql stable
security definer
set search_path = ''
as $$
    select exists (
        select 1 from accounts.user_roles as ur
        join auth.users as u on u.id = ur.user_id
        where ur.user_id = p_user and ur.role = 'admin'
          and (u.banned_until is null or u.banned_until <= now())
    )
$$;
comment on function private.accounts_is_active_admin(uuid) is
'Does the user hold admin and may sign in (not banned)? A banned admin does not count
towards keeping the platform administered. Definer: reads auth.users.';
revoke execute on function private.accounts_is_active_admin(uuid) from public;

create function private.accounts_require_admin_remains(p_user uuid, p_message text)
returns void
language plpgsql stable
security definer
set search_path = ''
as $$
begin
    if private.accounts_is_active_admin(p_user) and not exists (
        select 1 from accounts.user_roles as ur
        where ur.role = 'admin' and ur.user_id <> p_user
          and private.accounts_is_active_admin(ur.user_id)
    ) then
        perform private.raise_error('role_protected', p_message, 'PT409');
    end if;
end;
$$;
comment on function private.accounts_require_admin_remains(uuid, text) is
'Raise role_protected (PT409) with p_message if removing p_user would leave no active admin.
Call under private.accounts_lock_admin_set().';
revoke execute on function private.accounts_require_admin_remains(uuid, text) from public;

create function private.accounts_require_rank(p_actor uuid, p_role text) returns void
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_own int := (
        select max(r.rank) from accounts.user_roles as ur
        join accounts.roles as r on r.name = ur.role where ur.user_id = p_actor
    );
    v_needed int := (select r.rank from accounts.roles as r where r.name = p_role);
begin
    if v_needed > coalesce(v_own, 0) then
        perform private.raise_error('role_rank_exceeded',
            format('%s ranks above your own roles.', p_role), '42501',
            jsonb_build_object('role', p_role));
    end if;
end;
$$;
comment on function private.accounts_require_rank(uuid, text) is
'Raise role_rank_exceeded (42501, 403) unless the actor''s highest role (from the tables)
ranks at least as high as p_role: nobody grants or revokes a role above their own.';
revoke execute on function private.accounts_require_rank(uuid, text) from public;

-- API ---------------------------------------------------------------------------------------
create view api.accounts_roles with (security_invoker = true) as
select
    r.name,
    r.description,
    r.rank,
    coalesce(
        array(
            select rp.permission from accounts.role_permissions as rp
            where rp.role = r.name order by rp.permission
        ),
        '{}'::text[]
    ) as permissions
from accounts.roles as r
where (select private.key_may_read('api.accounts_roles'));
comment on view api.accounts_roles is 'The global roles and the permissions each grants.';
grant select on api.accounts_roles to anon, authenticated, service_role;

create view api.accounts_user_roles with (security_invoker = true) as
select
    ur.user_id,
    ur.role,
    ur.granted_at
from accounts.user_roles as ur
where (select private.key_may_read('api.accounts_user_roles'));
comment on view api.accounts_user_roles is
'Roles held: your own, or everyone''s for moderators and admins.';
grant select on api.accounts_user_roles to authenticated, service_role;

create function api.accounts_grant_role(p_user_id uuid, p_role text, p_reason text default null)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_actor uuid := private.require_permission('roles.manage');
begin
    if p_user_id is null or p_role is null then
        perform private.raise_error('invalid_argument', 'p_user_id and p_role are required.',
            '22023');
    end if;
    if not exists (select 1 from accounts.roles where name = p_role) then
        perform private.raise_error('role_unknown', format('No role named %L.', p_role),
            '22023', jsonb_build_object('role', p_role));
    end if;
    perform private.accounts_require_rank(v_actor, p_role);
    if not exists (select 1 from auth.users where id = p_user_id) then
        perform private.raise_error('user_not_found', 'No such user.', 'PT404');
    end if;
    insert into accounts.user_roles (user_id, role, granted_by)
    values (p_user_id, p_role, v_actor)
    on conflict (user_id, role) do nothing;
    if found then
        perform private.audit('accounts.role_granted', 'user', p_user_id::text,
            jsonb_build_object('role', p_role), p_reason);
    end if;
end;
$$;
comment on function api.accounts_grant_role(uuid, text, text) is
'Admin: grant a global role (idempotent; audited). Needs roles.manage, checked against the
tables, and a highest role ranked at least as high as p_role. Errors: not_authenticated,
forbidden, invalid_argument, role_unknown, role_rank_exceeded, user_not_found. The new role
reaches the JWT at the next token refresh.';

create function api.accounts_revoke_role(p_user_id uuid, p_role text, p_reason text default null)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_actor uuid := private.require_permission('roles.manage');
begin
    if p_user_id is null or p_role is null then
        perform private.raise_error('invalid_argument', 'p_user_id and p_role are required.',
            '22023');
    end if;
    if not exists (select 1 from accounts.roles where name = p_role) then
        perform private.raise_error('role_unknown', format('No role named %L.', p_role),
            '22023', jsonb_build_object('role', p_role));
    end if;
    perform private.accounts_require_rank(v_actor, p_role);
    if p_role = 'member' then
        perform private.raise_error('role_protected',
            'Every user is a member; delete or suspend the account instead.', 'PT409');
    end if;
    if p_role = 'admin' then
        -- Two admins demoting each other at once: the second waits here, then finds that
        -- it no longer holds roles.manage, or that its target is the last active admin.
        perform private.accounts_lock_admin_set();
        perform private.require_permission('roles.manage');
        perform private.accounts_require_admin_remains(p_user_id,
            'The last active admin cannot be removed.');
    end if;
    delete from accounts.user_roles where user_id = p_user_id and role = p_role;
    if not found then
        perform private.raise_error('role_not_held', 'The user does not hold that role.',
            'PT404', jsonb_build_object('role', p_role));
    end if;
    perform private.audit('accounts.role_revoked', 'user', p_user_id::text,
        jsonb_build_object('role', p_role), p_reason);
end;
$$;
comment on function api.accounts_revoke_role(uuid, text, text) is
'Admin: revoke a global role (audited). Needs roles.manage and a highest role ranked at
least as high as p_role. Errors: not_authenticated, forbidden, invalid_argument,
role_unknown, role_rank_exceeded, role_protected (member, last active admin), role_not_held.';

revoke execute on function api.accounts_grant_role(uuid, text, text) from public, anon;
revoke execute on function api.accounts_revoke_role(uuid, text, text) from public, anon;
grant execute on function api.accounts_grant_role(uuid, text, text) to authenticated;
grant execute on function api.accounts_revoke_role(uuid, text, text) to authenticated;
