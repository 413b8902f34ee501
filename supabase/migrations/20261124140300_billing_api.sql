-- billing API: the pricing page, your subscriptions, seats, invoices and entitlements, team
-- seat management, the admin billing views, and billing's part of data export.

create view api.billing_plans with (security_invoker = true) as
select
    pr.id as product_id,
    pr.name as product_name,
    pr.description,
    pr.features,
    pr.included_for_everyone,
    p.id as price_id,
    p.currency,
    p.unit_amount,
    p.recurring_interval,
    p.recurring_interval_count,
    p.per_seat,
    p.lookup_key,
    p.nickname
from billing.products as pr
inner join billing.prices as p on pr.id = p.product_id
where
    (select private.key_may_read('api.billing_plans'))
    and (pr.active and p.active)
order by pr.sort_order, p.unit_amount;
comment on view api.billing_plans is
'The pricing page: every active plan and price (amounts in the currency''s minor unit;
per_seat prices are charged per team seat). Readable by everyone.';
grant select on api.billing_plans to anon, authenticated, service_role;

create view api.billing_subscriptions with (security_invoker = true) as
select
    s.id,
    s.user_id,
    s.user_id = (select auth.uid()) as is_owner,
    pr.id as product_id,
    pr.name as product_name,
    s.price_id,
    p.per_seat,
    s.status,
    s.quantity,
    (select count(*) from billing.seats as st where st.subscription_id = s.id)::int
        as seats_assigned,
    s.current_period_start,
    s.current_period_end,
    s.cancel_at_period_end,
    s.canceled_at,
    s.trial_end,
    s.past_due_since,
    s.past_due_since + private.billing_grace_period() as grace_ends_at,
    s.updated_at,
    (
        select
            coalesce(jsonb_agg(jsonb_build_object(
                'price_id', it.price_id, 'product_id', ip.product_id,
                'quantity', it.quantity
            ) order by it.id), '[]')
        from billing.subscription_items as it
        left join billing.prices as ip on it.price_id = ip.id
        where it.subscription_id = s.id
    ) as items
from billing.subscriptions as s
left join billing.prices as p on s.price_id = p.id
left join billing.products as pr on p.product_id = pr.id
where (select private.key_may_read('api.billing_subscriptions'));
comment on view api.billing_subscriptions is
'Subscriptions you own, or hold a team seat of (is_owner false); admins see all.
product_id, price_id and quantity describe the main plan; items lists every item (a
product_id of null: a price the catalog does not know yet, which grants nothing).
grace_ends_at: when a past_due subscription stops granting access (your own deadline).';
grant select on api.billing_subscriptions to authenticated, service_role;

create view api.billing_seats with (security_invoker = true) as
select
    st.subscription_id,
    st.user_id,
    st.owner_id,
    st.assigned_at
from billing.seats as st
where (select private.key_may_read('api.billing_seats'));
comment on view api.billing_seats is
'Team seats: those you hold, and every seat of subscriptions you own.';
grant select on api.billing_seats to authenticated, service_role;

create view api.billing_invoices with (security_invoker = true) as
select
    i.id,
    i.number,
    i.subscription_id,
    i.status,
    i.billing_reason,
    i.currency,
    i.total,
    i.amount_due,
    i.amount_paid,
    i.amount_remaining,
    i.amount_refunded,
    i.hosted_invoice_url,
    i.invoice_pdf,
    i.period_start,
    i.period_end,
    i.paid_at,
    i.stripe_created as created
from billing.invoices as i
where (select private.key_may_read('api.billing_invoices'));
comment on view api.billing_invoices is
'Your billing history, newest first by created (admins see every invoice). hosted_invoice_url
and invoice_pdf are Stripe''s pages for the invoice.';
grant select on api.billing_invoices to authenticated, service_role;

create view api.billing_my_entitlements with (security_invoker = true) as
select f.feature
from (
    select distinct unnest(pr.features) as feature from billing.products as pr
) as f
where
    (select private.key_may_read('api.billing_my_entitlements'))
    and (private.user_has_entitlement((select auth.uid()), f.feature));
comment on view api.billing_my_entitlements is
'The features your plan gives you right now (free-plan features for every member, plus
pro/team from subscriptions and seats).';
grant select on api.billing_my_entitlements to authenticated;

-- Admin -------------------------------------------------------------------------------------
create view api.billing_admin_overview with (security_invoker = true) as
select
    s.id as subscription_id,
    s.user_id,
    c.email as customer_email,
    s.customer_id,
    pr.name as plan,
    s.price_id,
    s.status,
    s.quantity,
    (select count(*) from billing.seats as st where st.subscription_id = s.id)::int
        as seats_assigned,
    s.current_period_end,
    s.cancel_at_period_end,
    s.past_due_since,
    s.past_due_since + private.billing_grace_period() as grace_ends_at,
    private.user_has_entitlement(s.user_id, pr.features[1]) as owner_entitled,
    (
        select count(*) from billing.webhook_events as e
        where e.customer_id = s.customer_id and e.type = 'invoice.payment_failed'
    )::int as payment_failures,
    (
        select max(e.stripe_created) from billing.webhook_events as e
        where e.customer_id = s.customer_id and e.type = 'invoice.payment_failed'
    ) as last_failure_at,
    (
        select max(e.stripe_created) from billing.webhook_events as e
        where e.customer_id = s.customer_id and e.type = 'invoice.paid'
    ) as last_paid_at,
    last.type as last_event_type,
    last.stripe_created as last_event_at,
    last.outcome as last_event_outcome,
    s.updated_at
from billing.subscriptions as s
left join billing.prices as p on s.price_id = p.id
left join billing.products as pr on p.product_id = pr.id
left join billing.customers as c on s.customer_id = c.stripe_customer_id
left join lateral (
    select
        e.type,
        e.stripe_created,
        e.outcome
    from billing.webhook_events as e
    where e.customer_id = s.customer_id
    order by e.stripe_created desc, e.received_at desc limit 1
) as last on true
where (select private.key_may_read('api.billing_admin_overview'));
comment on view api.billing_admin_overview is
'Admin (platform.admin): every subscription with its state, grace deadline, whether the
owner is entitled now, payment failures and the last Stripe event. Others see only their
own rows.';
grant select on api.billing_admin_overview to authenticated, service_role;

create view api.billing_admin_events with (security_invoker = true) as
select
    e.id,
    e.type,
    e.object_type,
    e.object_id,
    e.customer_id,
    e.user_id,
    e.stripe_created,
    e.received_at,
    e.last_received_at,
    e.deliveries,
    e.processed_at,
    e.outcome,
    e.error
from billing.webhook_events as e
where (select private.key_may_read('api.billing_admin_events'));
comment on view api.billing_admin_events is
'Admin (platform.admin): every Stripe event received, its deliveries and outcome (applied,
stale, unknown_customer, ...) and any processing error. Payloads stay in billing.';
grant select on api.billing_admin_events to authenticated, service_role;

-- Team seats --------------------------------------------------------------------------------
create function api.billing_assign_seat(p_subscription_id text, p_user_id uuid)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_sub record;
begin
    if p_subscription_id is null or p_user_id is null then
        perform private.raise_error('invalid_argument',
            'p_subscription_id and p_user_id are required.', '22023');
    end if;
    -- Lock the subscription: two owners' tabs assigning the last seat at once get one each.
    select s.id, seat.quantity into v_sub
    from billing.subscriptions as s
    left join lateral (
        select it.quantity from billing.subscription_items as it
        join billing.prices as p on p.id = it.price_id and p.per_seat
        where it.subscription_id = s.id
        order by it.id limit 1
    ) as seat on true
    where s.id = p_subscription_id and s.user_id = v_uid
    for update of s;
    if not found then
        perform private.raise_error('not_found', 'No such subscription of yours.', 'PT404');
    end if;
    if v_sub.quantity is null then
        perform private.raise_error('billing_not_team_plan',
            'Seats exist only on team subscriptions.', '22023');
    end if;
    if not exists (select 1 from auth.users as u where u.id = p_user_id) then
        perform private.raise_error('user_not_found', 'No such user.', 'PT404');
    end if;
    if exists (
        select 1 from billing.seats as st
        where st.subscription_id = p_subscription_id and st.user_id = p_user_id
    ) then
        return;
    end if;
    if (
        select count(*) from billing.seats as st where st.subscription_id = p_subscription_id
    ) >= v_sub.quantity then
        perform private.raise_error('billing_no_seats_left',
            'Every seat is assigned; add seats in the billing portal.', 'PT409',
            jsonb_build_object('quantity', v_sub.quantity));
    end if;
    insert into billing.seats (subscription_id, user_id, owner_id)
    values (p_subscription_id, p_user_id, v_uid);
    perform private.audit('billing.seat_assigned', 'user', p_user_id::text,
        jsonb_build_object('subscription_id', p_subscription_id));
    perform private.billing_sync_entitlements(p_user_id, 'seat_assigned:' || p_subscription_id);
end;
$$;
comment on function api.billing_assign_seat(text, uuid) is
'Team owner: give a seat of your per-seat subscription to a user (idempotent; audited; the
user gains the plan''s features). Errors: not_authenticated, invalid_argument, not_found
(not your subscription), billing_not_team_plan, user_not_found, billing_no_seats_left.';
revoke execute on function api.billing_assign_seat(text, uuid) from public, anon;
grant execute on function api.billing_assign_seat(text, uuid) to authenticated;

create function api.billing_release_seat(p_subscription_id text, p_user_id uuid)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
begin
    -- The owner frees any seat; a seat holder may leave their own.
    delete from billing.seats as st
    where st.subscription_id = p_subscription_id and st.user_id = p_user_id
      and (st.owner_id = v_uid or st.user_id = v_uid);
    if not found then
        perform private.raise_error('not_found', 'No such seat you may release.', 'PT404');
    end if;
    perform private.audit('billing.seat_released', 'user', p_user_id::text,
        jsonb_build_object('subscription_id', p_subscription_id));
    perform private.billing_sync_entitlements(p_user_id, 'seat_released:' || p_subscription_id);
end;
$$;
comment on function api.billing_release_seat(text, uuid) is
'Team owner (any seat) or seat holder (their own): free a seat (audited; the holder loses
the plan''s features). Errors: not_authenticated, not_found.';
revoke execute on function api.billing_release_seat(text, uuid) from public, anon;
grant execute on function api.billing_release_seat(text, uuid) to authenticated;

-- Data export -------------------------------------------------------------------------------
create function private.export_billing(p_user uuid) returns jsonb
language sql stable
security definer
set search_path = ''
as $$
    select jsonb_build_object(
        'customer', (
            select jsonb_build_object('stripe_customer_id', c.stripe_customer_id,
                'email', c.email, 'created_at', c.created_at)
            from billing.customers as c where c.user_id = p_user
        ),
        'subscriptions', coalesce((
            select jsonb_agg(to_jsonb(s) - 'user_id' order by s.created_at)
            from billing.subscriptions as s where s.user_id = p_user
        ), '[]'),
        'seats', coalesce((
            select jsonb_agg(jsonb_build_object('subscription_id', st.subscription_id,
                'assigned_at', st.assigned_at))
            from billing.seats as st where st.user_id = p_user
        ), '[]'),
        'invoices', coalesce((
            select jsonb_agg(to_jsonb(i) - 'user_id' - 'lines' order by i.stripe_created)
            from billing.invoices as i where i.user_id = p_user
        ), '[]')
    )
$$;
comment on function private.export_billing(uuid) is
'The billing section of a data export: customer, subscriptions, seats and invoices.
Deletion needs no erase function: customers, subscriptions and seats cascade with the user;
invoices stay as accounting records with user_id set null.';
revoke execute on function private.export_billing(uuid) from public;

insert into accounts.data_providers (name, export_function, erase_function, position)
values ('billing', 'private.export_billing(uuid)', null, 60);
