-- edge: API keys and email tables — structure, privileges and the key lifecycle in SQL.
begin;
select plan(9);

select has_table('accounts', 'api_keys', 'api keys table');
select has_table('ops', 'mailbox', 'local mailbox table');
select ok(
    (
        select bool_and(c.relrowsecurity) from pg_class as c
        where c.oid in (
            'accounts.api_keys'::regclass, 'ops.mailbox'::regclass,
            'ops.email_suppressions'::regclass, 'ops.webhook_receipts'::regclass
        )
    ),
    'row level security on every edge table'
);
select ok(
    not has_column_privilege('authenticated', 'accounts.api_keys', 'digest', 'select'),
    'authenticated cannot read key digests'
);
select ok(
    not has_function_privilege('authenticated', 'ops.authenticate_api_key(text, inet)', 'execute'),
    'only service_role checks keys'
);

select tests.create_user('pgtap_keys');
select tests.authenticate_as('pgtap_keys');
create temporary table issued on commit drop as
select api.accounts_create_api_key('pgtap', array['profile:read']) as k;
grant select on issued to service_role;
select is(
    (select count(*)::int from api.accounts_api_keys), 1, 'the owner sees their key'
);
select tests.clear_authentication();
set local role service_role;
select is(
    (select a.scopes from issued, ops.authenticate_api_key(issued.k ->> 'key') as a),
    array['profile:read'],
    'the key authenticates with its scopes'
);
reset role;
select throws_ok(
    $$select * from ops.authenticate_api_key('fsk_00000000_' || repeat('0', 64))$$,
    '42501', 'Invalid API key.', 'an unknown key is refused'
);
select tests.authenticate_as('pgtap_keys');
select throws_ok(
    $$select api.accounts_create_api_key('x', array['root:all'])$$,
    '22023', 'Unknown scope.', 'unknown scopes are refused'
);

select * from finish();
rollback;
