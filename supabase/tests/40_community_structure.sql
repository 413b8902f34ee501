-- community: structure, grants and a few behaviours that live in SQL.
begin;
select plan(14);

select has_schema('community');
select ok(
    (
        select bool_and(c.relrowsecurity) from pg_class as c
        where c.relnamespace = 'community'::regnamespace and c.relkind = 'r'
    ),
    'RLS is enabled on every community table'
);
select is(
    (
        select count(*)::int from information_schema.table_privileges
        where
            table_schema = 'community' and grantee in ('anon', 'authenticated')
            and privilege_type in ('INSERT', 'UPDATE', 'DELETE')
    ),
    0,
    'clients have no write grants on community tables'
);
select function_privs_are(
    'private', 'notify', array['uuid', 'text', 'text', 'text', 'jsonb', 'uuid', 'text', 'text'],
    'authenticated', array[]::text[], 'members cannot call private.notify'
);
select function_privs_are(
    'private', 'notify', array['uuid', 'text', 'text', 'text', 'jsonb', 'uuid', 'text', 'text'],
    'service_role', array['EXECUTE'], 'service_role may call private.notify'
);
select results_eq(
    $$ select name from community.flag_reasons order by position $$,
    $$ values ('spam'), ('abuse'), ('off_topic'), ('illegal'), ('other') $$,
    'flag reasons are seeded'
);
select ok(
    exists (
        select 1 from accounts.role_permissions
        where role = 'moderator' and permission = 'contributions.review'
    ),
    'moderators review contributions'
);
select ok(
    exists (select 1 from accounts.data_providers where name = 'community'),
    'community is a data provider'
);

-- Behaviour: posting, a locked thread, a blocked message.
select tests.create_user('tap_poster');
select tests.create_user('tap_reader');
select tests.create_user('tap_mod', array['moderator']);
select tests.authenticate_as('tap_mod');
select lives_ok(
    $$ select api.community_save_category('tap-cat', 'Tap') $$, 'a moderator creates a category'
);
select tests.authenticate_as('tap_poster');
select lives_ok(
    $$ select api.community_create_thread(
        (select id from community.categories where slug = 'tap-cat'), 'Hello', 'World') $$,
    'a new member starts a thread'
);
select tests.authenticate_as('tap_mod');
select lives_ok(
    $$ select api.community_moderate('lock', 'thread',
        (select id::text from community.threads where title = 'Hello'), 'testing locks') $$,
    'a moderator locks it'
);
select tests.authenticate_as('tap_reader');
select throws_ok(
    $$ select api.community_create_post(
        (select id from community.threads where title = 'Hello'), 'hi'
    ) $$,
    'PT423', 'The thread is locked.', 'posting in a locked thread fails with PT423'
);
select tests.authenticate_as('tap_poster');
select lives_ok(
    $$ select api.community_block_user(tests.user_id('tap_reader')) $$, 'blocking a user'
);
select tests.authenticate_as('tap_reader');
select throws_ok(
    $$ select api.community_start_conversation(array[tests.user_id('tap_poster')], 'hey') $$,
    '42501', 'This member does not accept messages from you.',
    'a blocked user cannot message the blocker'
);

select * from finish();
rollback;
