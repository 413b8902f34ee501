-- Supabase platform contract: the `extensions` schema.
-- probe: select to_regnamespace('extensions') is not null
--
-- Extensions live here, not in `public`, so they never appear in the API. Migrations still
-- run `create extension if not exists ... with schema extensions` as on Supabase.
create schema if not exists extensions authorization postgres;
grant usage on schema extensions to anon, authenticated, service_role;
grant usage, create on schema public to postgres;
grant usage on schema public to anon, authenticated, service_role;
do $search_path$
begin
    execute format(
        'alter database %I set search_path = "$user", public, extensions',
        current_database()
    );
    -- The application database belongs to `postgres`, as on Supabase.
    execute format('alter database %I owner to postgres', current_database());
end
$search_path$;
