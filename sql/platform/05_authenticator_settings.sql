-- Supabase platform contract: `postgres` may set PostgREST's settings on `authenticator`.
-- probe: select has_parameter_privilege('postgres', 'pgrst.db_pre_request', 'set')
-- (this file grants that together with ADMIN OPTION on authenticator, in one transaction)
--
-- On Supabase the project's `postgres` role can run `alter role authenticator set pgrst.…`
-- (PostgREST reads its db-pre-request function from there). Since PostgreSQL 16 a CREATEROLE
-- role needs ADMIN OPTION on a role to alter it (granted without inherit or set), and a
-- placeholder parameter needs the SET privilege on it. PostgreSQL 15 has neither the INHERIT
-- nor the SET grant option (its CREATEROLE may alter any non-superuser role already).
do $authenticator$
begin
    if current_setting('server_version_num')::int >= 160000 then
        execute 'grant authenticator to postgres with admin option, inherit false, set false';
    end if;
    grant set on parameter pgrst.db_pre_request to postgres;
end
$authenticator$;
