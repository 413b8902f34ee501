-- learning: structure, grants and policies that keep answer keys and lesson bodies private.
begin;
select plan(16);

select has_schema('learning');
select ok(
    (
        select bool_and(c.relrowsecurity) from pg_class as c
        where c.relnamespace = 'learning'::regnamespace and c.relkind = 'r'
    ),
    'RLS is enabled on every learning table'
);
select table_privs_are(
    'learning', 'question_keys', 'anon', array[]::text[], 'anon has no access to answer keys'
);
select table_privs_are(
    'learning', 'question_keys', 'authenticated', array[]::text[],
    'authenticated has no access to answer keys'
);
select table_privs_are(
    'learning', 'question_keys', 'service_role', array[]::text[],
    'not even the service role reads answer keys directly'
);
select table_privs_are(
    'learning', 'lesson_contents', 'authenticated', array[]::text[],
    'lesson bodies are delivered only by RPCs'
);
select table_privs_are(
    'learning', 'enrollments', 'authenticated', array['SELECT'],
    'clients only read enrollments; writes go through RPCs'
);
select policies_are('learning', 'question_keys', array[]::name[], 'answer keys have no policy');
select is(
    (
        select count(*)::int from pg_publication_tables
        where pubname = 'supabase_realtime' and schemaname = 'learning'
    ),
    0,
    'no learning table is published to realtime'
);
select ok(
    (select not public from storage.buckets where id = 'course-content'),
    'course-content is a private bucket'
);
select function_privs_are(
    'api', 'learning_verify_certificate', array['text'], 'anon', array['EXECUTE'],
    'anyone can verify a certificate'
);
select function_privs_are(
    'api', 'learning_enroll', array['uuid'], 'anon', array[]::text[], 'anon cannot enroll'
);
select has_trigger(
    'learning', 'enrollments', 'enrollments_issue_certificate',
    'certificates are issued by a trigger'
);

-- Behaviour: an instructor builds a course; a learner sees it but not the keys.
select tests.create_user('tap_teacher', array['instructor']);
select tests.create_user('tap_learner');
select tests.authenticate_as('tap_teacher');
create temporary table tap_course on commit drop as
select (api.learning_create_course('tap-course', 'Tap course') ->> 'id')::uuid as id;
grant select on tap_course to authenticated;
select throws_ok(
    $$ select api.learning_publish_course((select id from tap_course)) $$,
    'PT409', 'A course needs at least one lesson to be published.',
    'publishing an empty course fails with PT409'
);
select tests.clear_authentication();
select tests.authenticate_as('tap_learner');
select throws_ok(
    $$ select * from learning.question_keys $$,
    '42501', null, 'a learner cannot select answer keys'
);
select is(
    (select count(*)::int from api.learning_courses where slug = 'tap-course'),
    0,
    'a learner does not see a draft course'
);
select tests.clear_authentication();

select * from finish();
rollback;
