-- billing: structure, privileges and the entitlement rules that live in SQL.
begin;
select plan(16);

select has_schema('billing');
select tables_are(
    'billing',
    array[
        'config', 'products', 'prices', 'customers', 'subscriptions', 'seats', 'invoices',
        'webhook_events', 'entitlements'
    ]
);
select ok(
    (
        select bool_and(c.relrowsecurity) from pg_class as c
        where c.relnamespace = 'billing'::regnamespace and c.relkind = 'r'
    ),
    'RLS is enabled on every billing table'
);
select results_eq(
    $$ select id from billing.prices where active order by id $$,
    $$ values ('price_flagship_free'), ('price_flagship_pro_monthly'),
              ('price_flagship_pro_yearly'), ('price_flagship_team_seat') $$,
    'the catalog is seeded with stable price ids'
);
select function_privs_are(
    'billing', 'record_event', array['jsonb'], 'service_role', array['EXECUTE'],
    'service_role records events'
);
select function_privs_are(
    'billing', 'record_event', array['jsonb'], 'authenticated', array[]::text[],
    'users cannot record events'
);
select function_privs_are(
    'billing', 'process_event', array['text', 'jsonb'], 'anon', array[]::text[],
    'anon cannot process events'
);
select table_privs_are(
    'billing', 'subscriptions', 'authenticated', array['SELECT'],
    'users only read subscriptions'
);
select table_privs_are(
    'billing', 'webhook_events', 'anon', array[]::text[], 'anon has no access to events'
);
select ok(
    (
        select p.prosecdef
        from pg_proc as p
        where p.oid = 'private.user_has_entitlement(uuid,text)'::regprocedure
    ),
    'has_entitlement stays security definer'
);

-- Entitlements derived from a subscription, with the past_due grace period.
select tests.create_user('tap_payer');
insert into billing.customers (user_id, stripe_customer_id)
values (tests.user_id('tap_payer'), 'cus_tappayer');
select is(
    private.user_has_entitlement(tests.user_id('tap_payer'), 'pro'),
    false, 'no plan: no pro'
);
select is(
    private.user_has_entitlement(tests.user_id('tap_payer'), 'community'), true,
    'free-plan features are everyone''s'
);
insert into billing.subscriptions (id, user_id, customer_id, price_id, status)
values (
    'sub_tappayer', tests.user_id('tap_payer'), 'cus_tappayer',
    'price_flagship_pro_monthly', 'active'
);
insert into billing.subscription_items (id, subscription_id, price_id)
values ('si_tappayer', 'sub_tappayer', 'price_flagship_pro_monthly');
select is(private.user_has_entitlement(tests.user_id('tap_payer'), 'pro'), true, 'active: pro');
update billing.subscriptions set status = 'past_due', past_due_since = now() - interval '2 days'
where id = 'sub_tappayer';
select is(
    private.user_has_entitlement(tests.user_id('tap_payer'), 'pro'), true, 'past_due within grace'
);
update billing.subscriptions set past_due_since = now() - interval '4 days'
where id = 'sub_tappayer';
select is(
    private.user_has_entitlement(tests.user_id('tap_payer'), 'pro'), false, 'past_due after grace'
);
update billing.config set past_due_grace = interval '7 days';
select is(
    private.user_has_entitlement(tests.user_id('tap_payer'), 'pro'), true,
    'the grace period is configurable'
);

select * from finish();
rollback;
