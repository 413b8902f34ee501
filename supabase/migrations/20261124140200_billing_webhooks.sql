-- billing: storing and applying Stripe webhook events.
--
-- The edge verifies the signature, then calls (as service_role, the named exception):
--   billing.record_event(event)            stores it once (event id is the key)
--   billing.process_event(id, fresh)       applies it exactly once, in its own transaction
--   billing.fail_event(id, error)          records why processing failed (Stripe retries)
-- `fresh` holds objects the edge re-read from Stripe ({"subscription": {...},
-- "invoice": {...}}) where ordering matters; they replace the event's snapshot.
-- Out-of-order safety: each mirrored row keeps the Stripe `created` time of the last event
-- applied to it, and every upsert is guarded by it inside ON CONFLICT (the guard is
-- re-checked on the locked row, so racing events cannot slip an older state in).

-- Helpers -----------------------------------------------------------------------------------
create function private.billing_ts(p_value jsonb) returns timestamptz
language sql immutable
set search_path = ''
as $$
    select case when jsonb_typeof(p_value) = 'number'
        then to_timestamp((p_value #>> '{}')::double precision) end
$$;
comment on function private.billing_ts(jsonb) is
'A Stripe unix timestamp (JSON number) as timestamptz; null for anything else.';
revoke execute on function private.billing_ts(jsonb) from public;

create function private.billing_id(p_value jsonb) returns text
language sql immutable
set search_path = ''
as $$
    select case jsonb_typeof(p_value)
        when 'string' then p_value #>> '{}'
        when 'object' then p_value ->> 'id'
    end
$$;
comment on function private.billing_id(jsonb) is
'The id of a Stripe reference, whether it is an id string or an expanded object.';
revoke execute on function private.billing_id(jsonb) from public;

create function private.billing_user_for(p_customer text, p_metadata jsonb) returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_user uuid;
    v_claimed text := p_metadata ->> 'user_id';
begin
    if p_customer is not null then
        select c.user_id into v_user from billing.customers as c
        where c.stripe_customer_id = p_customer;
        if found then
            return v_user;
        end if;
    end if;
    -- Our checkout writes metadata.user_id on the session and the subscription (signed by
    -- Stripe, so trusted): link an unknown customer to that user if the user has none.
    if v_claimed ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
        select u.id into v_user from auth.users as u where u.id = v_claimed::uuid;
        if v_user is null or p_customer is null or p_customer !~ '^cus_[A-Za-z0-9]+$' then
            return null;
        end if;
        insert into billing.customers (user_id, stripe_customer_id)
        values (v_user, p_customer)
        on conflict do nothing;
        if exists (
            select 1 from billing.customers as c
            where c.user_id = v_user and c.stripe_customer_id = p_customer
        ) then
            return v_user;
        end if;
    end if;
    return null;
end;
$$;
comment on function private.billing_user_for(text, jsonb) is
'The user a Stripe customer belongs to, or null (unknown customer). Falls back to
metadata.user_id written by our checkout, linking the customer when the user has none.';
revoke execute on function private.billing_user_for(text, jsonb) from public;

create function private.billing_email(
    p_user uuid, p_template text, p_subject text, p_data jsonb, p_dedupe text
) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_email text;
begin
    select u.email into v_email from auth.users as u where u.id = p_user;
    if v_email is null then
        return null;
    end if;
    return ops.enqueue('email.send', jsonb_build_object(
        'template', p_template,
        'to', v_email,
        'user_id', p_user,
        'subject', p_subject,
        'category', 'billing',
        'data', coalesce(p_data, '{}'),
        'attachments', '[]'::jsonb
    ), 'billing:' || p_dedupe);
end;
$$;
comment on function private.billing_email(uuid, text, text, jsonb, text) is
'Queue a transactional billing email (outbox topic email.send; contract in
docs/billing.md), once per dedupe key.';
revoke execute on function private.billing_email(uuid, text, text, jsonb, text) from public;

create function private.billing_result(p_outcome text, p_user uuid, p_error text default null)
returns jsonb
language sql immutable
set search_path = ''
as $$
    select jsonb_build_object('outcome', p_outcome, 'user_id', p_user, 'error', p_error)
$$;
comment on function private.billing_result(text, uuid, text) is
'The shape every billing_apply_* function returns: {outcome, user_id, error}.';
revoke execute on function private.billing_result(text, uuid, text) from public;

-- Subscriptions -----------------------------------------------------------------------------
create function private.billing_apply_subscription(
    p_sub jsonb, p_created timestamptz, p_cause text
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_id text := p_sub ->> 'id';
    v_status text := p_sub ->> 'status';
    v_item jsonb := p_sub -> 'items' -> 'data' -> 0;
    v_customer text := private.billing_id(p_sub -> 'customer');
    v_price text;
    v_user uuid;
    v_applied boolean;
    v_seat record;
begin
    if v_id is null or v_id !~ '^sub_[A-Za-z0-9]+$' or v_status not in (
        'incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'canceled',
        'unpaid', 'paused'
    ) then
        return private.billing_result('invalid', null, 'not a subscription object');
    end if;
    v_price := private.billing_id(v_item -> 'price');
    v_user := private.billing_user_for(v_customer, p_sub -> 'metadata');
    if v_user is null then
        return private.billing_result('unknown_customer', null,
            format('no user for customer %s', v_customer));
    end if;
    if not exists (select 1 from billing.prices as p where p.id = v_price) then
        return private.billing_result('unknown_price', v_user,
            format('price %s is not in the catalog', v_price));
    end if;
    insert into billing.subscriptions as s (
        id, user_id, customer_id, price_id, status, quantity, current_period_start,
        current_period_end, cancel_at_period_end, cancel_at, canceled_at, ended_at,
        trial_start, trial_end, past_due_since, latest_invoice_id, stripe_created,
        stripe_event_created
    ) values (
        v_id, v_user, v_customer, v_price, v_status,
        coalesce((v_item ->> 'quantity')::int, (p_sub ->> 'quantity')::int, 1),
        -- since API version 2025-03-31 the period lives on the item
        coalesce(private.billing_ts(p_sub -> 'current_period_start'),
            private.billing_ts(v_item -> 'current_period_start')),
        coalesce(private.billing_ts(p_sub -> 'current_period_end'),
            private.billing_ts(v_item -> 'current_period_end')),
        coalesce((p_sub ->> 'cancel_at_period_end')::boolean, false),
        private.billing_ts(p_sub -> 'cancel_at'),
        private.billing_ts(p_sub -> 'canceled_at'),
        private.billing_ts(p_sub -> 'ended_at'),
        private.billing_ts(p_sub -> 'trial_start'),
        private.billing_ts(p_sub -> 'trial_end'),
        case when v_status in ('past_due', 'unpaid') then p_created end,
        private.billing_id(p_sub -> 'latest_invoice'),
        private.billing_ts(p_sub -> 'created'),
        p_created
    )
    on conflict (id) do update set
        user_id = excluded.user_id,
        customer_id = excluded.customer_id,
        price_id = excluded.price_id,
        status = excluded.status,
        quantity = excluded.quantity,
        current_period_start = excluded.current_period_start,
        current_period_end = excluded.current_period_end,
        cancel_at_period_end = excluded.cancel_at_period_end,
        cancel_at = excluded.cancel_at,
        canceled_at = excluded.canceled_at,
        ended_at = excluded.ended_at,
        trial_start = excluded.trial_start,
        trial_end = excluded.trial_end,
        past_due_since = case when excluded.status in ('past_due', 'unpaid')
            then coalesce(s.past_due_since, excluded.past_due_since) end,
        latest_invoice_id = excluded.latest_invoice_id,
        stripe_created = excluded.stripe_created,
        stripe_event_created = excluded.stripe_event_created
    where s.stripe_event_created is null or s.stripe_event_created <= excluded.stripe_event_created
    returning true into v_applied;
    if v_applied is null then
        return private.billing_result('stale', v_user);
    end if;
    perform private.billing_sync_entitlements(v_user, p_cause);
    for v_seat in select st.user_id from billing.seats as st where st.subscription_id = v_id loop
        perform private.billing_sync_entitlements(v_seat.user_id, p_cause);
    end loop;
    return private.billing_result('applied', v_user);
end;
$$;
comment on function private.billing_apply_subscription(jsonb, timestamptz, text) is
'Upsert a Stripe subscription unless a newer event was already applied to it (stale), then
re-derive the entitlements of its owner and seat holders.';
revoke execute on function private.billing_apply_subscription(jsonb, timestamptz, text)
from public;

-- Invoices ----------------------------------------------------------------------------------
create function private.billing_apply_invoice(
    p_inv jsonb, p_type text, p_created timestamptz, p_cause text, p_fresh_sub jsonb
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_id text := p_inv ->> 'id';
    v_customer text := private.billing_id(p_inv -> 'customer');
    v_sub text := coalesce(
        private.billing_id(p_inv -> 'subscription'),
        p_inv -> 'parent' -> 'subscription_details' ->> 'subscription'
    );
    v_user uuid;
    v_applied boolean;
    v_grace interval := (select c.past_due_grace from billing.config as c where c.id);
    v_manage text := (select c.manage_billing_url from billing.config as c where c.id);
    v_row billing.invoices;
begin
    if v_id is null or v_id !~ '^in_[A-Za-z0-9]+$' or v_customer is null
        or coalesce(p_inv ->> 'currency', '') !~ '^[a-z]{3}$' then
        return private.billing_result('invalid', null, 'not an invoice object');
    end if;
    v_user := private.billing_user_for(v_customer, coalesce(
        p_inv -> 'subscription_details' -> 'metadata',
        p_inv -> 'parent' -> 'subscription_details' -> 'metadata',
        p_inv -> 'metadata'
    ));
    if v_user is null then
        return private.billing_result('unknown_customer', null,
            format('no user for customer %s', v_customer));
    end if;
    insert into billing.invoices as i (
        id, user_id, customer_id, subscription_id, number, status, billing_reason, currency,
        subtotal, total, amount_due, amount_paid, amount_remaining, attempt_count,
        next_payment_attempt, hosted_invoice_url, invoice_pdf, period_start, period_end,
        paid_at, lines, stripe_created, stripe_event_created
    ) values (
        v_id, v_user, v_customer, v_sub, p_inv ->> 'number', p_inv ->> 'status',
        p_inv ->> 'billing_reason', p_inv ->> 'currency',
        (p_inv ->> 'subtotal')::bigint, (p_inv ->> 'total')::bigint,
        coalesce((p_inv ->> 'amount_due')::bigint, 0),
        coalesce((p_inv ->> 'amount_paid')::bigint, 0),
        coalesce((p_inv ->> 'amount_remaining')::bigint, 0),
        coalesce((p_inv ->> 'attempt_count')::int, 0),
        private.billing_ts(p_inv -> 'next_payment_attempt'),
        p_inv ->> 'hosted_invoice_url', p_inv ->> 'invoice_pdf',
        private.billing_ts(p_inv -> 'period_start'), private.billing_ts(p_inv -> 'period_end'),
        private.billing_ts(p_inv -> 'status_transitions' -> 'paid_at'),
        coalesce((
            select jsonb_agg(jsonb_build_object(
                'description', l ->> 'description',
                'amount', (l ->> 'amount')::bigint,
                'quantity', (l ->> 'quantity')::int
            ))
            from jsonb_array_elements(
                case when jsonb_typeof(p_inv -> 'lines' -> 'data') = 'array'
                    then p_inv -> 'lines' -> 'data' else '[]' end
            ) as l
        ), '[]'),
        private.billing_ts(p_inv -> 'created'),
        p_created
    )
    on conflict (id) do update set
        user_id = excluded.user_id,
        subscription_id = excluded.subscription_id,
        number = excluded.number,
        status = excluded.status,
        billing_reason = excluded.billing_reason,
        subtotal = excluded.subtotal,
        total = excluded.total,
        amount_due = excluded.amount_due,
        amount_paid = excluded.amount_paid,
        amount_remaining = excluded.amount_remaining,
        attempt_count = excluded.attempt_count,
        next_payment_attempt = excluded.next_payment_attempt,
        hosted_invoice_url = excluded.hosted_invoice_url,
        invoice_pdf = excluded.invoice_pdf,
        period_start = excluded.period_start,
        period_end = excluded.period_end,
        paid_at = excluded.paid_at,
        lines = excluded.lines,
        stripe_event_created = excluded.stripe_event_created
    where i.stripe_event_created is null or i.stripe_event_created <= excluded.stripe_event_created
    returning true into v_applied;

    -- The subscription re-read from Stripe is applied with its own guard.
    if jsonb_typeof(p_fresh_sub) = 'object' then
        perform private.billing_apply_subscription(p_fresh_sub, p_created, p_cause);
    end if;
    if v_applied is null then
        return private.billing_result('stale', v_user);
    end if;
    select * into v_row from billing.invoices where id = v_id;

    if p_type = 'invoice.paid' then
        -- A paid invoice makes its subscription active again (recovery from past_due).
        update billing.subscriptions as s
        set status = 'active', past_due_since = null, stripe_event_created = p_created
        where s.id = v_sub and s.status in ('past_due', 'unpaid', 'incomplete')
          and (s.stripe_event_created is null or s.stripe_event_created <= p_created);
        if v_row.amount_paid > 0 then
            perform ops.enqueue('billing.receipt', jsonb_build_object('invoice_id', v_id),
                'receipt:' || v_id);
        end if;
    elsif p_type = 'invoice.payment_failed' then
        update billing.subscriptions as s
        set status = 'past_due', past_due_since = coalesce(s.past_due_since, p_created),
            stripe_event_created = p_created
        where s.id = v_sub and s.status in ('active', 'trialing')
          and (s.stripe_event_created is null or s.stripe_event_created <= p_created);
        perform private.billing_email(v_user, 'payment_failed',
            'Your payment failed: update your card to keep Pro',
            jsonb_build_object(
                'invoice_id', v_id, 'number', v_row.number,
                'amount_due', v_row.amount_due, 'currency', v_row.currency,
                'attempt_count', v_row.attempt_count,
                'next_payment_attempt', v_row.next_payment_attempt,
                'hosted_invoice_url', v_row.hosted_invoice_url,
                'manage_billing_url', v_manage,
                'access_until', (
                    select s.past_due_since + v_grace from billing.subscriptions as s
                    where s.id = v_sub
                )
            ), 'payment_failed:' || p_cause);
    elsif p_type = 'invoice.payment_action_required' then
        perform private.billing_email(v_user, 'payment_action_required',
            'Confirm your payment',
            jsonb_build_object(
                'invoice_id', v_id, 'amount_due', v_row.amount_due, 'currency', v_row.currency,
                'hosted_invoice_url', v_row.hosted_invoice_url, 'manage_billing_url', v_manage
            ), 'payment_action_required:' || p_cause);
    end if;
    perform private.billing_sync_entitlements(v_user, p_cause);
    return private.billing_result('applied', v_user);
end;
$$;
comment on function private.billing_apply_invoice(jsonb, text, timestamptz, text, jsonb) is
'Upsert a Stripe invoice (guarded by event time) and act on its event: invoice.paid
reactivates the subscription and queues billing.receipt; invoice.payment_failed marks the
subscription past_due (grace starts at the first failure) and emails a link to fix the
card; invoice.payment_action_required emails the hosted invoice link.';
revoke execute on function private.billing_apply_invoice(jsonb, text, timestamptz, text, jsonb)
from public;

-- Checkout sessions -------------------------------------------------------------------------
create function private.billing_apply_checkout(
    p_session jsonb, p_type text, p_created timestamptz, p_cause text, p_fresh_sub jsonb
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_ref text := p_session ->> 'client_reference_id';
    v_customer text := private.billing_id(p_session -> 'customer');
    v_user uuid;
begin
    if v_ref ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
        select u.id into v_user from auth.users as u where u.id = v_ref::uuid;
    end if;
    if v_user is null then
        v_user := private.billing_user_for(v_customer, p_session -> 'metadata');
    end if;
    if v_user is null then
        return private.billing_result('unknown_customer', null,
            format('no user for session %s', p_session ->> 'id'));
    end if;
    if v_customer ~ '^cus_[A-Za-z0-9]+$' then
        insert into billing.customers (user_id, stripe_customer_id, email)
        values (v_user, v_customer, p_session -> 'customer_details' ->> 'email')
        on conflict do nothing;
        if not exists (
            select 1 from billing.customers as c
            where c.user_id = v_user and c.stripe_customer_id = v_customer
        ) then
            return private.billing_result('customer_conflict', v_user,
                format('customer %s or user already linked otherwise', v_customer));
        end if;
    end if;
    if p_type = 'checkout.session.async_payment_failed' then
        perform private.billing_email(v_user, 'checkout_payment_failed',
            'Your payment did not go through',
            jsonb_build_object('session_id', p_session ->> 'id'),
            'checkout_failed:' || p_cause);
    elsif jsonb_typeof(p_fresh_sub) = 'object' then
        perform private.billing_apply_subscription(p_fresh_sub, p_created, p_cause);
    end if;
    perform private.billing_sync_entitlements(v_user, p_cause);
    return private.billing_result('applied', v_user);
end;
$$;
comment on function private.billing_apply_checkout(jsonb, text, timestamptz, text, jsonb) is
'A finished checkout: link the customer to the user (client_reference_id) and apply the
subscription re-read from Stripe; an async payment failure emails the user.';
revoke execute on function private.billing_apply_checkout(jsonb, text, timestamptz, text, jsonb)
from public;

-- Catalog -----------------------------------------------------------------------------------
create function private.billing_apply_product(
    p_product jsonb, p_type text, p_created timestamptz, p_cause text
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_id text := p_product ->> 'id';
    v_features text[];
    v_applied boolean;
    v_user uuid;
begin
    if v_id is null or v_id !~ '^prod_[A-Za-z0-9_]{1,120}$' then
        return private.billing_result('invalid', null, 'not a product object');
    end if;
    if p_product -> 'metadata' ? 'features' then
        select coalesce(array_agg(f order by f), '{}') into v_features
        from unnest(string_to_array(lower(p_product -> 'metadata' ->> 'features'), ',')) as r,
            lateral (select btrim(r) as f) as t
        where f ~ '^[a-z][a-z0-9_]{0,62}$';
    end if;
    insert into billing.products as p (id, name, description, active, features, metadata,
        stripe_event_created)
    values (
        v_id, left(coalesce(nullif(p_product ->> 'name', ''), v_id), 200),
        left(p_product ->> 'description', 2000),
        p_type <> 'product.deleted' and coalesce((p_product ->> 'active')::boolean, true),
        coalesce(v_features, '{}'),
        case when jsonb_typeof(p_product -> 'metadata') = 'object'
            then p_product -> 'metadata' else '{}' end,
        p_created
    )
    on conflict (id) do update set
        name = excluded.name,
        description = excluded.description,
        active = excluded.active,
        features = coalesce(v_features, p.features),
        metadata = excluded.metadata,
        stripe_event_created = excluded.stripe_event_created
    where p.stripe_event_created is null or p.stripe_event_created <= excluded.stripe_event_created
    returning true into v_applied;
    if v_applied is null then
        return private.billing_result('stale', null);
    end if;
    -- Features may have changed: re-derive for the product's subscribers.
    for v_user in
        select distinct s.user_id from billing.subscriptions as s
        join billing.prices as pr on pr.id = s.price_id where pr.product_id = v_id
        union
        select st.user_id from billing.seats as st
        join billing.subscriptions as s on s.id = st.subscription_id
        join billing.prices as pr on pr.id = s.price_id where pr.product_id = v_id
    loop
        perform private.billing_sync_entitlements(v_user, p_cause);
    end loop;
    return private.billing_result('applied', null);
end;
$$;
comment on function private.billing_apply_product(jsonb, text, timestamptz, text) is
'Upsert a Stripe product (guarded by event time); metadata.features (comma-separated)
replaces the features when present; product.deleted deactivates it.';
revoke execute on function private.billing_apply_product(jsonb, text, timestamptz, text)
from public;

create function private.billing_apply_price(
    p_price jsonb, p_type text, p_created timestamptz
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_id text := p_price ->> 'id';
    v_product text := private.billing_id(p_price -> 'product');
    v_applied boolean;
begin
    if v_id is null or v_id !~ '^price_[A-Za-z0-9_]{1,120}$'
        or coalesce(p_price ->> 'currency', '') !~ '^[a-z]{3}$' then
        return private.billing_result('invalid', null, 'not a price object');
    end if;
    if not exists (select 1 from billing.products as p where p.id = v_product) then
        return private.billing_result('ignored', null,
            format('product %s is not in the catalog', v_product));
    end if;
    if jsonb_typeof(p_price -> 'unit_amount') <> 'number' then
        return private.billing_result('ignored', null, 'only unit-amount prices are supported');
    end if;
    insert into billing.prices as p (id, product_id, active, currency, unit_amount,
        recurring_interval, recurring_interval_count, per_seat, lookup_key, nickname, metadata,
        stripe_event_created)
    values (
        v_id, v_product,
        p_type <> 'price.deleted' and coalesce((p_price ->> 'active')::boolean, true),
        p_price ->> 'currency', (p_price ->> 'unit_amount')::bigint,
        p_price -> 'recurring' ->> 'interval',
        coalesce((p_price -> 'recurring' ->> 'interval_count')::int, 1),
        coalesce(p_price -> 'metadata' ->> 'per_seat', 'false') = 'true',
        p_price ->> 'lookup_key', p_price ->> 'nickname',
        case when jsonb_typeof(p_price -> 'metadata') = 'object'
            then p_price -> 'metadata' else '{}' end,
        p_created
    )
    on conflict (id) do update set
        product_id = excluded.product_id,
        active = excluded.active,
        currency = excluded.currency,
        unit_amount = excluded.unit_amount,
        recurring_interval = excluded.recurring_interval,
        recurring_interval_count = excluded.recurring_interval_count,
        per_seat = excluded.per_seat,
        lookup_key = excluded.lookup_key,
        nickname = excluded.nickname,
        metadata = excluded.metadata,
        stripe_event_created = excluded.stripe_event_created
    where p.stripe_event_created is null or p.stripe_event_created <= excluded.stripe_event_created
    returning true into v_applied;
    return private.billing_result(case when v_applied then 'applied' else 'stale' end, null);
end;
$$;
comment on function private.billing_apply_price(jsonb, text, timestamptz) is
'Upsert a Stripe price of a known product (guarded by event time); price.deleted
deactivates it. Tiered prices (no unit_amount) are ignored.';
revoke execute on function private.billing_apply_price(jsonb, text, timestamptz) from public;

create function private.billing_apply_customer(p_customer jsonb, p_created timestamptz)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_user uuid;
begin
    update billing.customers as c
    set email = p_customer ->> 'email', name = left(p_customer ->> 'name', 200),
        stripe_event_created = p_created
    where c.stripe_customer_id = p_customer ->> 'id'
      and (c.stripe_event_created is null or c.stripe_event_created <= p_created)
    returning c.user_id into v_user;
    if v_user is not null then
        return private.billing_result('applied', v_user);
    end if;
    select c.user_id into v_user from billing.customers as c
    where c.stripe_customer_id = p_customer ->> 'id';
    if found then
        return private.billing_result('stale', v_user);
    end if;
    return private.billing_result('unknown_customer', null,
        format('no user for customer %s', p_customer ->> 'id'));
end;
$$;
comment on function private.billing_apply_customer(jsonb, timestamptz) is
'Mirror a known customer''s email and name (guarded by event time).';
revoke execute on function private.billing_apply_customer(jsonb, timestamptz) from public;

create function private.billing_apply_refund(p_charge jsonb, p_cause text) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_invoice text := coalesce(
        private.billing_id(p_charge -> 'invoice'), p_charge -> 'metadata' ->> 'invoice_id'
    );
    v_row billing.invoices;
begin
    if v_invoice is null then
        return private.billing_result('ignored', null, 'the charge names no invoice');
    end if;
    -- Refunded amounts only grow, so the order of refund events does not matter.
    update billing.invoices as i
    set amount_refunded = greatest(i.amount_refunded,
        coalesce((p_charge ->> 'amount_refunded')::bigint, 0))
    where i.id = v_invoice
    returning * into v_row;
    if not found then
        return private.billing_result('ignored', null,
            format('invoice %s is not known', v_invoice));
    end if;
    perform private.billing_email(v_row.user_id, 'refund_issued', 'Your refund is on its way',
        jsonb_build_object('invoice_id', v_invoice, 'number', v_row.number,
            'amount_refunded', v_row.amount_refunded, 'currency', v_row.currency),
        'refund:' || p_cause);
    return private.billing_result('applied', v_row.user_id);
end;
$$;
comment on function private.billing_apply_refund(jsonb, text) is
'charge.refunded: record the refunded amount on the invoice and email the user.';
revoke execute on function private.billing_apply_refund(jsonb, text) from public;

-- Service entry points ----------------------------------------------------------------------
create function billing.record_event(p_event jsonb) returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_id text := p_event ->> 'id';
    v_obj jsonb := p_event -> 'data' -> 'object';
    v_created timestamptz := private.billing_ts(p_event -> 'created');
    v_deliveries int;
    v_processed timestamptz;
begin
    if jsonb_typeof(p_event) <> 'object' or coalesce(v_id, '') !~ '^evt_[A-Za-z0-9_]+$'
        or coalesce(p_event ->> 'type', '') !~ '^[a-z_]+(\.[a-z_]+)+$'
        or v_created is null or jsonb_typeof(v_obj) <> 'object' then
        perform private.raise_error('billing_event_invalid',
            'The Stripe event lacks an id, type, created time or data.object.', '22023');
    end if;
    insert into billing.webhook_events as e (
        id, type, api_version, livemode, stripe_created, object_type, object_id, customer_id,
        payload
    ) values (
        v_id, p_event ->> 'type', p_event ->> 'api_version',
        coalesce(p_event ->> 'livemode', 'false') = 'true', v_created,
        v_obj ->> 'object', v_obj ->> 'id',
        case when v_obj ->> 'object' = 'customer' then v_obj ->> 'id'
            else private.billing_id(v_obj -> 'customer') end,
        p_event
    )
    on conflict (id) do update set
        deliveries = e.deliveries + 1, last_received_at = now()
    returning e.deliveries, e.processed_at into v_deliveries, v_processed;
    return case
        when v_processed is not null then 'processed'
        when v_deliveries = 1 then 'new'
        else 'pending'
    end;
end;
$$;
comment on function billing.record_event(jsonb) is
'Service (edge, after the signature check): store a Stripe event once, keyed by its id.
Returns new (first delivery), pending (seen, not processed yet: process it) or processed
(a redelivery or replay: nothing to do). Errors: billing_event_invalid.';
revoke execute on function billing.record_event(jsonb) from public;
grant execute on function billing.record_event(jsonb) to service_role;

create function billing.process_event(p_event_id text, p_fresh jsonb default '{}')
returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_event billing.webhook_events;
    v_obj jsonb;
    v_kind text;
    v_fresh jsonb := case when jsonb_typeof(p_fresh) = 'object' then p_fresh else '{}' end;
    v_result jsonb;
begin
    -- The row lock serialises racing deliveries of the same event: the second one waits,
    -- then sees processed_at and does nothing.
    select * into v_event from billing.webhook_events as e where e.id = p_event_id for update;
    if not found then
        perform private.raise_error('billing_event_unknown', 'No stored event with that id.',
            'PT404', jsonb_build_object('event_id', p_event_id));
    end if;
    if v_event.processed_at is not null then
        return 'duplicate';
    end if;
    v_obj := v_event.payload -> 'data' -> 'object';
    v_kind := v_obj ->> 'object';
    if jsonb_typeof(v_fresh -> v_kind) = 'object' then
        if v_fresh -> v_kind ->> 'id' is distinct from v_obj ->> 'id' then
            perform private.raise_error('billing_event_invalid',
                'The re-read object is not the event''s object.', '22023');
        end if;
        v_obj := v_fresh -> v_kind;
    end if;

    if v_event.type in (
        'customer.subscription.created', 'customer.subscription.updated',
        'customer.subscription.deleted', 'customer.subscription.paused',
        'customer.subscription.resumed', 'customer.subscription.trial_will_end',
        'customer.subscription.pending_update_applied',
        'customer.subscription.pending_update_expired'
    ) then
        v_result := private.billing_apply_subscription(v_obj, v_event.stripe_created, v_event.id);
        if v_event.type = 'customer.subscription.trial_will_end'
            and v_result ->> 'outcome' in ('applied', 'stale') then
            perform private.billing_email((v_result ->> 'user_id')::uuid, 'trial_ending',
                'Your trial ends soon',
                jsonb_build_object('subscription_id', v_obj ->> 'id',
                    'trial_end', private.billing_ts(v_obj -> 'trial_end'),
                    'manage_billing_url',
                    (select c.manage_billing_url from billing.config as c where c.id)),
                'trial_ending:' || (v_obj ->> 'id'));
        end if;
    elsif v_event.type in (
        'invoice.paid', 'invoice.payment_failed', 'invoice.payment_action_required',
        'invoice.finalized', 'invoice.created', 'invoice.updated', 'invoice.voided',
        'invoice.marked_uncollectible', 'invoice.payment_succeeded'
    ) then
        v_result := private.billing_apply_invoice(v_obj, v_event.type, v_event.stripe_created,
            v_event.id, v_fresh -> 'subscription');
    elsif v_event.type in (
        'checkout.session.completed', 'checkout.session.async_payment_succeeded',
        'checkout.session.async_payment_failed'
    ) then
        v_result := private.billing_apply_checkout(v_obj, v_event.type, v_event.stripe_created,
            v_event.id, v_fresh -> 'subscription');
    elsif v_event.type in ('product.created', 'product.updated', 'product.deleted') then
        v_result := private.billing_apply_product(v_obj, v_event.type, v_event.stripe_created,
            v_event.id);
    elsif v_event.type in ('price.created', 'price.updated', 'price.deleted') then
        v_result := private.billing_apply_price(v_obj, v_event.type, v_event.stripe_created);
    elsif v_event.type in ('customer.created', 'customer.updated') then
        v_result := private.billing_apply_customer(v_obj, v_event.stripe_created);
    elsif v_event.type = 'charge.refunded' then
        v_result := private.billing_apply_refund(v_obj, v_event.id);
    else
        v_result := private.billing_result('ignored', null, null);
    end if;

    update billing.webhook_events as e
    set processed_at = now(), outcome = v_result ->> 'outcome',
        user_id = (v_result ->> 'user_id')::uuid, error = v_result ->> 'error'
    where e.id = p_event_id;
    return v_result ->> 'outcome';
end;
$$;
comment on function billing.process_event(text, jsonb) is
'Service (edge): apply a stored event exactly once. p_fresh carries objects re-read from
Stripe ({"subscription": {...}, "invoice": {...}}) that replace the snapshot. Returns the
outcome: applied, stale (a newer event was applied already), unknown_customer,
unknown_price, customer_conflict, invalid, ignored, or duplicate (processed before).
Errors: billing_event_unknown, billing_event_invalid.';
revoke execute on function billing.process_event(text, jsonb) from public;
grant execute on function billing.process_event(text, jsonb) to service_role;

create function billing.fail_event(p_event_id text, p_error text) returns void
language sql
security definer
set search_path = ''
as $$
    update billing.webhook_events
    set error = left(p_error, 2000)
    where id = p_event_id and processed_at is null
$$;
comment on function billing.fail_event(text, text) is
'Service (edge): record why an event could not be processed (Stripe will redeliver it).';
revoke execute on function billing.fail_event(text, text) from public;
grant execute on function billing.fail_event(text, text) to service_role;

-- Checkout and portal (the edge calls these as the signed-in user) --------------------------
create function billing.checkout_context(
    p_price_id text,
    p_quantity int default null,
    p_expected_amount bigint default null,
    p_expected_currency text default null
) returns jsonb
language plpgsql stable
set search_path = ''
as $$
declare
    v_uid uuid := (select auth.uid());
    v_price record;
    v_quantity int := coalesce(p_quantity, 1);
begin
    if v_uid is null then
        perform private.raise_error('not_authenticated', 'Sign in first.', '42501');
    end if;
    select p.*, pr.name as product_name into v_price
    from billing.prices as p
    join billing.products as pr on pr.id = p.product_id
    where p.id = p_price_id and p.active and pr.active and not pr.included_for_everyone
      and p.recurring_interval is not null and p.unit_amount > 0;
    if not found then
        perform private.raise_error('billing_price_unknown',
            'That price is not in the catalog or not for sale.', '22023',
            jsonb_build_object('price_id', p_price_id));
    end if;
    if (v_price.per_seat and v_quantity not between 1 and 1000)
        or (not v_price.per_seat and v_quantity <> 1) then
        perform private.raise_error('invalid_argument',
            'quantity must be 1, or 1 to 1000 seats for a team price.', '22023',
            jsonb_build_object('field', 'quantity'));
    end if;
    if (p_expected_amount is not null and p_expected_amount <> v_price.unit_amount)
        or (p_expected_currency is not null
            and lower(p_expected_currency) <> v_price.currency) then
        perform private.raise_error('billing_price_mismatch',
            'The amount or currency does not match the catalog.', '22023',
            jsonb_build_object('price_id', p_price_id,
                'catalog', jsonb_build_object('unit_amount', v_price.unit_amount,
                    'currency', v_price.currency),
                'requested', jsonb_build_object('unit_amount', p_expected_amount,
                    'currency', p_expected_currency)));
    end if;
    if exists (
        select 1 from billing.subscriptions as s
        join billing.prices as p on p.id = s.price_id
        where s.user_id = v_uid and p.product_id = v_price.product_id
          and s.status in ('active', 'trialing', 'past_due', 'unpaid', 'paused')
    ) then
        perform private.raise_error('billing_already_subscribed',
            'You already subscribe to this plan; manage it in the billing portal.', 'PT409');
    end if;
    return jsonb_build_object(
        'user_id', v_uid,
        'email', nullif((select auth.jwt()) ->> 'email', ''),
        'customer_id', (
            select c.stripe_customer_id from billing.customers as c where c.user_id = v_uid
        ),
        'quantity', v_quantity,
        'price', jsonb_build_object(
            'id', v_price.id, 'product_id', v_price.product_id,
            'product_name', v_price.product_name, 'currency', v_price.currency,
            'unit_amount', v_price.unit_amount, 'per_seat', v_price.per_seat,
            'recurring_interval', v_price.recurring_interval
        )
    );
end;
$$;
comment on function billing.checkout_context(text, int, bigint, text) is
'Edge, as the signed-in user: validate a checkout request against the catalog and return
what the Stripe call needs (user, email, existing customer, price, quantity). Errors:
not_authenticated, billing_price_unknown, billing_price_mismatch, invalid_argument,
billing_already_subscribed.';
revoke execute on function billing.checkout_context(text, int, bigint, text) from public;
grant execute on function billing.checkout_context(text, int, bigint, text) to authenticated;

create function billing.portal_customer() returns text
language plpgsql stable
set search_path = ''
as $$
declare
    v_uid uuid := (select auth.uid());
    v_customer text;
begin
    if v_uid is null then
        perform private.raise_error('not_authenticated', 'Sign in first.', '42501');
    end if;
    select c.stripe_customer_id into v_customer from billing.customers as c
    where c.user_id = v_uid;
    if v_customer is null then
        perform private.raise_error('billing_no_customer',
            'You have no billing account yet: subscribe first.', 'PT404');
    end if;
    return v_customer;
end;
$$;
comment on function billing.portal_customer() is
'Edge, as the signed-in user: the Stripe customer the portal opens for. Errors:
not_authenticated, billing_no_customer.';
revoke execute on function billing.portal_customer() from public;
grant execute on function billing.portal_customer() to authenticated;

create function billing.link_customer(p_user uuid, p_customer text, p_email text)
returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_linked text;
begin
    if p_user is null or coalesce(p_customer, '') !~ '^cus_[A-Za-z0-9]+$' then
        perform private.raise_error('invalid_argument', 'A user and a cus_ id are required.',
            '22023');
    end if;
    if not exists (select 1 from auth.users as u where u.id = p_user) then
        perform private.raise_error('user_not_found', 'No such user.', 'PT404');
    end if;
    insert into billing.customers (user_id, stripe_customer_id, email)
    values (p_user, p_customer, p_email)
    on conflict do nothing;
    select c.stripe_customer_id into v_linked from billing.customers as c
    where c.user_id = p_user;
    if v_linked is null then
        perform private.raise_error('conflict', 'That customer belongs to another user.',
            'PT409');
    end if;
    return v_linked;
end;
$$;
comment on function billing.link_customer(uuid, text, text) is
'Service (edge, after creating a Stripe customer at checkout): link it to the user. Returns
the customer now linked (an earlier one wins a race). Errors: invalid_argument,
user_not_found, conflict.';
revoke execute on function billing.link_customer(uuid, text, text) from public;
grant execute on function billing.link_customer(uuid, text, text) to service_role;

-- Receipts (the worker) ---------------------------------------------------------------------
create function billing.receipt_data(p_invoice_id text) returns jsonb
language sql stable
security definer
set search_path = ''
as $$
    select jsonb_build_object(
        'invoice', to_jsonb(i) - 'user_id',
        'user_id', i.user_id,
        'to', u.email,
        'customer_name', c.name,
        'plan', (
            select pr.name from billing.subscriptions as s
            join billing.prices as p on p.id = s.price_id
            join billing.products as pr on pr.id = p.product_id
            where s.id = i.subscription_id
        )
    )
    from billing.invoices as i
    left join auth.users as u on u.id = i.user_id
    left join billing.customers as c on c.stripe_customer_id = i.customer_id
    where i.id = p_invoice_id
$$;
comment on function billing.receipt_data(text) is
'Service (worker): what a receipt shows for an invoice, and whom to send it; null when the
invoice is unknown.';
revoke execute on function billing.receipt_data(text) from public;
grant execute on function billing.receipt_data(text) to service_role;

create function billing.enqueue_receipt_email(
    p_invoice_id text, p_pdf_base64 text, p_filename text
) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_data jsonb := billing.receipt_data(p_invoice_id);
begin
    if v_data is null or v_data ->> 'to' is null then
        return null;
    end if;
    if coalesce(p_pdf_base64, '') = '' or coalesce(p_filename, '') !~ '^[A-Za-z0-9._-]{1,100}$'
    then
        perform private.raise_error('invalid_argument', 'A PDF and a plain file name are needed.',
            '22023');
    end if;
    return ops.enqueue('email.send', jsonb_build_object(
        'template', 'receipt',
        'to', v_data ->> 'to',
        'user_id', v_data -> 'user_id',
        'subject', format('Your Flagship receipt %s',
            coalesce(v_data -> 'invoice' ->> 'number', p_invoice_id)),
        'category', 'billing',
        'data', jsonb_build_object(
            'invoice_id', p_invoice_id,
            'number', v_data -> 'invoice' ->> 'number',
            'amount_paid', (v_data -> 'invoice' ->> 'amount_paid')::bigint,
            'currency', v_data -> 'invoice' ->> 'currency',
            'plan', v_data ->> 'plan',
            'hosted_invoice_url', v_data -> 'invoice' ->> 'hosted_invoice_url'
        ),
        'attachments', jsonb_build_array(jsonb_build_object(
            'filename', p_filename,
            'content_type', 'application/pdf',
            'content_base64', p_pdf_base64
        ))
    ), 'billing:receipt:' || p_invoice_id);
end;
$$;
comment on function billing.enqueue_receipt_email(text, text, text) is
'Service (worker): queue the receipt email (topic email.send, template receipt) with the
rendered PDF attached, once per invoice. Returns the outbox id, or null when there is no
recipient. Errors: invalid_argument.';
revoke execute on function billing.enqueue_receipt_email(text, text, text) from public;
grant execute on function billing.enqueue_receipt_email(text, text, text) to service_role;
