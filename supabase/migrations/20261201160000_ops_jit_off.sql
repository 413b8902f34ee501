-- JIT off for API requests.
--
-- The API views inline their RLS helpers, so their plans are large and their estimated costs
-- pass jit_above_cost even on empty tables; a server built with LLVM (Debian's PostgreSQL
-- 15, Supabase's images) then compiles the plan on every execution: `select * from
-- api.ctf_challenges` as anon took 43 s with JIT and 0.2 s without, on an empty database.
-- Requests are short OLTP statements that never repay a compilation. PostgREST (and the
-- local gateway) apply the API role's settings per request; the edge and the worker log in
-- as the migrating role, whose own default covers them. `jit` is a user setting: a role may
-- set it for itself, and `postgres` for the API roles, on Supabase as well.
do $jit$
begin
    alter role anon set jit = off;
    alter role authenticated set jit = off;
    alter role service_role set jit = off;
    execute format('alter role %I set jit = off', current_user);
end
$jit$;
