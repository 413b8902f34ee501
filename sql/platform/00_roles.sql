-- Supabase platform contract: cluster roles.
-- probe: select exists (select from pg_roles where rolname = 'authenticator')
--
-- Applied only where the target lacks it (never on real Supabase). Attributes follow
-- Supabase's roles: the API roles cannot log in, `authenticator` logs in and switches to
-- them, `service_role` bypasses RLS, and `postgres` is a privileged non-superuser that
-- owns the application schemas but is not a member of the service admins.
do $roles$
begin
    if not exists (select from pg_roles where rolname = 'postgres') then
        create role postgres login createrole createdb replication bypassrls;
    end if;
    if not exists (select from pg_roles where rolname = 'anon') then
        create role anon nologin noinherit;
    end if;
    if not exists (select from pg_roles where rolname = 'authenticated') then
        create role authenticated nologin noinherit;
    end if;
    if not exists (select from pg_roles where rolname = 'service_role') then
        create role service_role nologin noinherit bypassrls;
    end if;
    if not exists (select from pg_roles where rolname = 'authenticator') then
        create role authenticator login noinherit;
    end if;
    if not exists (select from pg_roles where rolname = 'supabase_auth_admin') then
        create role supabase_auth_admin login noinherit createrole;
    end if;
    if not exists (select from pg_roles where rolname = 'supabase_storage_admin') then
        create role supabase_storage_admin login noinherit createrole;
    end if;
    -- Role membership (kept in the block: sqlfluff does not parse GRANT role TO role).
    grant anon, authenticated, service_role to authenticator;
    grant anon, authenticated, service_role to postgres with admin option;
end
$roles$;

-- PostgREST applies these when it switches to the role.
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
