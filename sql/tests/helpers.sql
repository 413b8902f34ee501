-- pgTAP helpers, loaded into test databases only (never a migration).
-- tests.create_user() inserts into auth.users so every trigger fires; tests.authenticate_as()
-- switches to the `authenticated` role with that user's claims, as PostgREST would.
create schema if not exists tests;
grant usage on schema tests to anon, authenticated, service_role, postgres;

create or replace function tests.create_user(p_username text, p_roles text[] default '{}')
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_id uuid := gen_random_uuid();
begin
    insert into auth.users (id, aud, role, email, email_confirmed_at, raw_user_meta_data)
    values (v_id, 'authenticated', 'authenticated', p_username || '@example.test', now(),
            jsonb_build_object('username', p_username));
    insert into accounts.user_roles (user_id, role)
    select v_id, r from unnest(p_roles) as r;
    return v_id;
end;
$$;

create or replace function tests.user_id(p_username text) returns uuid
language sql stable
security definer
set search_path = ''
as $$
    select id from accounts.profiles where lower(username) = lower(p_username)
$$;

create or replace function tests.authenticate_as(p_username text) returns void
language plpgsql
set search_path = ''
as $$
declare
    v_id uuid := tests.user_id(p_username);
    v_claims jsonb;
begin
    if v_id is null then
        raise exception 'tests.authenticate_as: no user %', p_username;
    end if;
    v_claims := accounts.custom_access_token_hook(jsonb_build_object(
        'user_id', v_id,
        'claims', jsonb_build_object('sub', v_id, 'role', 'authenticated',
                                     'aud', 'authenticated')
    )) -> 'claims';
    perform set_config('request.jwt.claims', v_claims::text, true);
    execute 'set local role authenticated';
end;
$$;

create or replace function tests.authenticate_as_anon() returns void
language plpgsql
set search_path = ''
as $$
begin
    perform set_config('request.jwt.claims', '{"role": "anon"}', true);
    execute 'set local role anon';
end;
$$;

create or replace function tests.clear_authentication() returns void
language plpgsql
set search_path = ''
as $$
begin
    perform set_config('request.jwt.claims', '', true);
    execute 'reset role';
end;
$$;

grant execute on all functions in schema tests to anon, authenticated, service_role, postgres;
