-- The platform contract behaves as Supabase's does.
begin;
select plan(12);

select has_role('anon');
select has_role('authenticated');
select has_role('service_role');
select has_role('authenticator');
select ok(
    (select rolbypassrls from pg_roles where rolname = 'service_role'),
    'service_role bypasses RLS'
);
select ok(
    not (select rolcanlogin from pg_roles where rolname = 'authenticated'),
    'authenticated cannot log in'
);
select has_table('auth', 'users', 'auth.users exists');
select has_table('storage', 'objects', 'storage.objects exists');

select set_config(
    'request.jwt.claims',
    '{"sub": "8d0fd2b3-9ca7-4a0e-9d2f-1a2b3c4d5e6f", "role": "authenticated", "email": "a@b.c"}',
    true
);
select is(auth.uid(), '8d0fd2b3-9ca7-4a0e-9d2f-1a2b3c4d5e6f'::uuid, 'auth.uid() reads sub');
select is(auth.role(), 'authenticated', 'auth.role() reads role');
select set_config('request.jwt.claims', '', true);
select is(auth.uid(), null, 'empty claims mean no user');
select is(
    storage.foldername('course/1/lesson.md'), array['course', '1'], 'storage.foldername'
);

select * from finish();
rollback;
