-- ctf: structure, privileges on secrets, and the scoring rules that live in SQL.
begin;
select plan(26);

select has_schema('ctf');
select ok(
    (
        select bool_and(c.relrowsecurity) from pg_class as c
        where c.relnamespace = 'ctf'::regnamespace and c.relkind = 'r'
    ),
    'RLS is enabled on every ctf table'
);
select table_privs_are('ctf', 'flags', 'anon', array[]::text[], 'anon: nothing on flags');
select table_privs_are(
    'ctf', 'flags', 'authenticated', array[]::text[], 'authenticated: nothing on flags'
);
select table_privs_are(
    'ctf', 'flags', 'service_role', array[]::text[], 'service_role: nothing on flags'
);
select policies_are('ctf', 'flags', array[]::name[], 'flags: no policy at all');
select ok(
    not has_column_privilege('authenticated', 'ctf.teams', 'invite_code', 'select'),
    'invite codes are not selectable by players'
);
select table_privs_are(
    'ctf', 'solves', 'authenticated', array['SELECT'], 'solves are written only through RPCs'
);
select table_privs_are(
    'ctf', 'standings', 'authenticated', array['SELECT'],
    'standings are written only through RPCs'
);
select table_privs_are(
    'ctf', 'standings_stored', 'authenticated', array['SELECT'],
    'stored standings are written only through RPCs'
);
select ok(
    (
        select c.reloptions @> array['security_invoker=true']
        from pg_class as c where c.oid = 'ctf.standings'::regclass
    ),
    'the standings view reads with the caller''s rights (the stored rows'' policies apply)'
);
select ok(
    (select prosecdef from pg_proc where oid = 'api.ctf_submit(uuid,text,uuid)'::regprocedure),
    'submit is a definer function (it reads flags)'
);
select function_privs_are(
    'api', 'ctf_submit', array['uuid', 'text', 'uuid'], 'anon', array[]::text[],
    'anon cannot submit'
);
select function_privs_are(
    'private', 'ctf_recompute_event', array['uuid'], 'authenticated', array[]::text[],
    'clients cannot call the recompute helper directly'
);
select has_index(
    'ctf', 'standings_stored', 'standings_rank_idx', 'stored standings have a ranking index'
);
select is(
    (
        select pg_get_expr(i.indpred, i.indrelid) from pg_index as i
        where i.indexrelid = 'ctf.standings_bracket_rank_idx'::regclass
    ),
    '(ranked AND (bracket_id IS NOT NULL))',
    'the bracket ranking index leaves out rows without a bracket'
);
select fk_ok(
    'ctf', 'standings_stored', array['event_id', 'team_id'],
    'ctf', 'teams', array['event_id', 'id'],
    'a standings row names a team of its own event'
);
select ok(
    exists (select 1 from ctf.events where slug = 'practice' and ends_at is null),
    'the practice arena exists and never ends'
);
select ok(
    exists (select 1 from accounts.data_providers where name = 'ctf'),
    'ctf registers a data provider'
);
select ok(
    exists (select 1 from storage.buckets where id = 'challenge-files' and not public),
    'challenge-files is a private bucket'
);

-- CTFd linear: 500 - 15 * (n - 1), at least 100
select is(private.ctf_value('linear', 500, 100, 15, 3), 470, 'linear decay after 3 solves');
select is(private.ctf_value('linear', 500, 100, 15, 100), 100, 'linear decay floors at minimum');
-- CTFd logarithmic: ceil(((100 - 500) / 15^2) * (n - 1)^2 + 500)
select is(private.ctf_value('logarithmic', 500, 100, 15, 6), 456, 'parabolic decay, 6 solves');
select is(private.ctf_value('logarithmic', 500, 100, 15, 16), 100, 'parabolic decay reaches min');
select is(private.ctf_value('static', 500, 100, 15, 16), 500, 'static stays');
select is(
    private.ctf_points(200, 1, '{1.05,1.03,1.01}'), 210, 'first blood bonus multiplies the value'
);

select * from finish();
rollback;
