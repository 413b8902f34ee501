-- The single point that decides what a user's plan entitles them to.
--
-- Learning (pro courses), community (pro categories) and CTF call only this function;
-- payments replace its body (create or replace, same signature) when subscriptions
-- exist. Until then no one is entitled to anything paid.

create function private.user_has_entitlement(p_user uuid, p_feature text) returns boolean
language sql stable
security definer
set search_path = ''
as $$
    select false and p_user is not null and p_feature is not null
$$;
comment on function private.user_has_entitlement(uuid, text) is
'Does the user''s plan include p_feature (e.g. ''pro'')? The one entitlement check every
domain uses; false for everyone until payments fill it in. Definer: it will read billing
tables the caller cannot.';
revoke execute on function private.user_has_entitlement(uuid, text) from public;
grant execute on function private.user_has_entitlement(uuid, text) to authenticated, service_role;
