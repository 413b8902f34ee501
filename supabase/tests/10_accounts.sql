-- accounts: structure, policies and the behaviour that lives in SQL.
begin;
select plan(28);

select has_schema('accounts');
select tables_are(
    'accounts',
    array[
        'profiles', 'roles', 'permissions', 'role_permissions', 'user_roles', 'settings',
        'activity', 'stats', 'data_providers', 'confusables', 'reserved_names',
        -- edge: API keys and contact email verification live in accounts too
        'api_keys', 'api_scopes', 'api_object_scopes', 'contact_emails', 'email_verifications'
    ]
);
select ok(
    (
        select bool_and(c.relrowsecurity) from pg_class as c
        where c.relnamespace = 'accounts'::regnamespace and c.relkind = 'r'
    ),
    'RLS is enabled on every accounts table'
);
select policies_are(
    'accounts', 'profiles', array['profiles_read'], 'profiles: one read policy, no writes'
);
select function_privs_are(
    'accounts', 'custom_access_token_hook', array['jsonb'], 'supabase_auth_admin',
    array['EXECUTE'], 'supabase_auth_admin runs the hook'
);
select function_privs_are(
    'accounts', 'custom_access_token_hook', array['jsonb'], 'authenticated',
    array[]::text[], 'authenticated cannot run the hook'
);
select function_privs_are(
    'accounts', 'custom_access_token_hook', array['jsonb'], 'anon',
    array[]::text[], 'anon cannot run the hook'
);
select table_privs_are(
    'accounts', 'profiles', 'authenticated', array['SELECT'],
    'authenticated may only read profiles (writes go through RPCs)'
);
select table_privs_are(
    'accounts', 'settings', 'anon', array[]::text[], 'anon has no access to settings'
);
select has_trigger('auth', 'users', 'on_auth_user_created', 'sign-up trigger exists');
select table_privs_are(
    'accounts', 'confusables', 'authenticated', array[]::text[],
    'the confusables data is read by definer code only'
);
select is(
    private.accounts_name_skeleton('aIice'), private.accounts_name_skeleton('alice'),
    'aIice and alice share a skeleton'
);
select is(
    private.accounts_name_skeleton('adrnin'), private.accounts_name_skeleton('admin'),
    'adrnin and admin share a skeleton'
);
select ok(
    private.accounts_is_reserved_name(private.accounts_name_skeleton('Moderator')),
    'staff names are reserved'
);

-- Sign-up creates a profile and the member role.
select tests.create_user('tap_alice');
select tests.create_user('tap_bob');
select tests.create_user('tap_admin', array['admin']);
select isnt(tests.user_id('tap_alice'), null, 'sign-up created a profile');
select results_eq(
    $$ select role from accounts.user_roles where user_id = tests.user_id('tap_alice') $$,
    $$ values ('member') $$,
    'new users are members'
);
select is(
    (
        accounts.custom_access_token_hook(
            jsonb_build_object(
                'user_id', tests.user_id('tap_admin'), 'claims', '{"sub": "x", "aud": "y"}'::jsonb
            )
        ) -> 'claims'
    ),
    '{"sub": "x", "aud": "y", "user_roles": ["member", "admin"]}'::jsonb,
    'the hook keeps the claims and adds user_roles'
);

select is(
    accounts.custom_access_token_hook('{"user_id": null, "claims": "x"}') #>> '{error,http_code}',
    '400',
    'the hook answers a malformed event with an error object'
);

-- As a member: own profile editable, others not; no role escalation.
select tests.authenticate_as('tap_alice');
select lives_ok(
    $$ select api.accounts_update_my_profile('{"display_name": "Alice"}') $$,
    'a member edits their own profile'
);
select throws_ok(
    $$ select api.accounts_update_my_profile('{"username": "x"}') $$,
    '22023', null, 'an invalid username is refused with 22023'
);
select throws_ok(
    $$ update accounts.profiles set bio = 'x' where username = 'tap_bob' $$,
    '42501', null, 'a member cannot update another profile directly'
);
select throws_ok(
    $$ select api.accounts_grant_role(tests.user_id('tap_alice'), 'admin') $$,
    '42501', null, 'a member cannot grant themselves a role'
);
select is_empty(
    $$ select 1 from accounts.settings where user_id = tests.user_id('tap_bob') $$,
    'a member cannot read another member''s settings'
);
select tests.clear_authentication();

-- As anon: members-only profiles are hidden.
select tests.authenticate_as_anon();
select is_empty(
    $$ select 1 from api.accounts_profiles where username = 'tap_bob' $$,
    'anon cannot read a members-only profile'
);
select throws_ok(
    $$ select api.accounts_get_my_account() $$, '42501', null, 'anon has no account'
);
select tests.clear_authentication();

-- As an admin: grants are audited.
select tests.authenticate_as('tap_admin');
select lives_ok(
    $$ select api.accounts_grant_role(tests.user_id('tap_bob'), 'author', 'guest writer') $$,
    'an admin grants a role'
);
select tests.clear_authentication();
select results_eq(
    $$ select action, reason from ops.audit_log
       where target_id = tests.user_id('tap_bob')::text $$,
    $$ values ('accounts.role_granted', 'guest writer') $$,
    'the grant is in the audit log'
);
select throws_ok(
    $$ delete from ops.audit_log $$, '42501', null, 'the audit log is append-only'
);

select * from finish();
rollback;
