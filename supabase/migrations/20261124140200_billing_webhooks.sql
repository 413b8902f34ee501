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

create function private.billing_lock(p_key text) returns void
language sql
set search_path = ''
as $$
    select pg_advisory_xact_lock(hashtext('billing.objects'), hashtext(p_key))
$$;
comment on function private.billing_lock(text) is
'Serialise, until commit, the events touching one Stripe object key (customer:cus_..,
product:prod_.., payment_intent:pi_..): an event parked for a missing customer and the
checkout that links it cannot pass each other, so nothing stays parked forever. Keys are
always taken in the order customer, product, payment_intent.';
revoke execute on function private.billing_lock(text) from public;

create function private.billing_try_lock(p_key text) returns boolean
language sql
set search_path = ''
as $$
    select pg_try_advisory_xact_lock(hashtext('billing.objects'), hashtext(p_key))
$$;
comment on function private.billing_try_lock(text) is
'private.billing_lock without waiting: false when another transaction holds the key.';
revoke execute on function private.billing_try_lock(text) from public;

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

create function private.billing_result(
    p_outcome text, p_user uuid, p_error text default null, p_parked_on text default null
) returns jsonb
language sql immutable
set search_path = ''
as $$
    select jsonb_build_object('outcome', p_outcome, 'user_id', p_user, 'error', p_error,
        'parked_on', p_parked_on)
$$;
comment on function private.billing_result(text, uuid, text, text) is
'The shape every billing_apply_* function returns: {outcome, user_id, error, parked_on}.
outcome parked (with parked_on, e.g. customer:cus_123) keeps the event for later.';
revoke execute on function private.billing_result(text, uuid, text, text) from public;

create function private.billing_unknown_customer(p_customer text) returns jsonb
language sql immutable
set search_path = ''
as $$
    select case when p_customer ~ '^cus_[A-Za-z0-9]+$'
        then private.billing_result('parked', null,
            format('no user for customer %s yet', p_customer), 'customer:' || p_customer)
        else private.billing_result('invalid', null, 'the object names no customer') end
$$;
comment on function private.billing_unknown_customer(text) is
'The outcome for an object whose customer no user has (yet): parked until the customer is
linked (checkout, or metadata.user_id on a later object), so nothing is lost.';
revoke execute on function private.billing_unknown_customer(text) from public;

create function private.billing_subscription_rank(p_status text) returns smallint
language sql immutable
set search_path = ''
as $$
    select (case
        when p_status = 'incomplete' then 0
        when p_status in ('canceled', 'incomplete_expired') then 2
        else 1
    end)::smallint
$$;
comment on function private.billing_subscription_rank(text) is
'Where a subscription status sits in its state machine: incomplete 0, live states 1, ended
2. Events are applied in (rank, event time) order, so a subscription never returns to
incomplete, an ended one never revives, and events of the same second settle on the
furthest state whatever their delivery order.';
revoke execute on function private.billing_subscription_rank(text) from public;

create function private.billing_invoice_rank(p_status text) returns smallint
language sql immutable
set search_path = ''
as $$
    select (case p_status
        when 'open' then 1 when 'uncollectible' then 2 when 'paid' then 3 when 'void' then 3
        else 0
    end)::smallint
$$;
comment on function private.billing_invoice_rank(text) is
'Where an invoice status sits in its state machine: draft 0, open 1, uncollectible 2, paid
and void 3. A paid invoice is never open again, whatever the delivery order.';
revoke execute on function private.billing_invoice_rank(text) from public;

create function private.billing_refresh_plan(p_sub text) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_price text;
    v_quantity int;
begin
    select it.price_id, it.quantity into v_price, v_quantity
    from billing.subscription_items as it
    join billing.prices as p on p.id = it.price_id
    join billing.products as pr on pr.id = p.product_id
    where it.subscription_id = p_sub
    order by pr.sort_order desc, it.id
    limit 1;
    update billing.subscriptions as s
    set price_id = v_price, quantity = coalesce(v_quantity, 1)
    where s.id = p_sub
      and (s.price_id is distinct from v_price or s.quantity <> coalesce(v_quantity, 1));
end;
$$;
comment on function private.billing_refresh_plan(text) is
'Set a subscription''s display plan (price_id, quantity) to its highest known item; null
while no item has a known price.';
revoke execute on function private.billing_refresh_plan(text) from public;

create function private.billing_sync_subscribers(p_sub text, p_cause text) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_user uuid;
begin
    for v_user in
        select s.user_id from billing.subscriptions as s where s.id = p_sub
        union
        select st.user_id from billing.seats as st where st.subscription_id = p_sub
    loop
        perform private.billing_sync_entitlements(v_user, p_cause);
    end loop;
end;
$$;
comment on function private.billing_sync_subscribers(text, text) is
'Re-derive the entitlements of a subscription''s owner and seat holders.';
revoke execute on function private.billing_sync_subscribers(text, text) from public;

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
    v_items jsonb := case when jsonb_typeof(p_sub -> 'items' -> 'data') = 'array'
        then p_sub -> 'items' -> 'data' else '[]' end;
    v_item jsonb := v_items -> 0;
    v_customer text := private.billing_id(p_sub -> 'customer');
    v_user uuid;
    v_applied boolean;
begin
    if v_id is null or v_id !~ '^sub_[A-Za-z0-9]+$' or v_status not in (
        'incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'canceled',
        'unpaid', 'paused'
    ) or exists (
        select 1 from jsonb_array_elements(v_items) as i
        where coalesce(i ->> 'id', '') !~ '^si_[A-Za-z0-9]+$'
           or coalesce(private.billing_id(i -> 'price'), '') !~ '^price_[A-Za-z0-9_]{1,120}$'
    ) then
        return private.billing_result('invalid', null, 'not a subscription object');
    end if;
    perform private.billing_lock('customer:' || v_customer);
    v_user := private.billing_user_for(v_customer, p_sub -> 'metadata');
    if v_user is null then
        return private.billing_unknown_customer(v_customer);
    end if;
    insert into billing.subscriptions as s (
        id, user_id, customer_id, status, current_period_start,
        current_period_end, cancel_at_period_end, cancel_at, canceled_at, ended_at,
        trial_start, trial_end, past_due_since, latest_invoice_id, stripe_created,
        stripe_event_created, status_rank
    ) values (
        v_id, v_user, v_customer, v_status,
        -- since API version 2025-03-31 the period lives on the items
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
        p_created,
        private.billing_subscription_rank(v_status)
    )
    on conflict (id) do update set
        user_id = excluded.user_id,
        customer_id = excluded.customer_id,
        status = excluded.status,
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
        stripe_event_created = excluded.stripe_event_created,
        status_rank = excluded.status_rank
    where (s.status_rank, coalesce(s.stripe_event_created, '-infinity'))
        <= (excluded.status_rank, excluded.stripe_event_created)
    returning true into v_applied;
    if v_applied is null then
        return private.billing_result('stale', v_user);
    end if;
    -- Every item counts; the set is replaced as a whole (items removed at Stripe go).
    delete from billing.subscription_items as it
    where it.subscription_id = v_id and it.id not in (
        select i ->> 'id' from jsonb_array_elements(v_items) as i
    );
    insert into billing.subscription_items as it (id, subscription_id, price_id, quantity)
    select i ->> 'id', v_id, private.billing_id(i -> 'price'),
        greatest(coalesce((i ->> 'quantity')::int, 1), 0)
    from jsonb_array_elements(v_items) as i
    on conflict (id) do update set
        price_id = excluded.price_id, quantity = excluded.quantity
    where it.subscription_id = excluded.subscription_id;
    perform private.billing_refresh_plan(v_id);
    -- A paid invoice of the same second or later already settled a checkout or a recovery:
    -- an earlier-delivered incomplete or past_due snapshot does not undo it.
    update billing.subscriptions as s
    set status = 'active', past_due_since = null, status_rank = 1
    where s.id = v_id and s.status in ('incomplete', 'past_due', 'unpaid')
      and exists (
          select 1 from billing.invoices as i
          where i.subscription_id = v_id and i.status = 'paid'
            and i.stripe_event_created >= p_created
      );
    perform private.billing_sync_subscribers(v_id, p_cause);
    return private.billing_result('applied', v_user);
end;
$$;
comment on function private.billing_apply_subscription(jsonb, timestamptz, text) is
'Upsert a Stripe subscription and all its items unless a newer state was already applied
(stale: ordered by status rank, then event time), then re-derive the entitlements of its
owner and seat holders. An unknown customer parks the event; items with unknown prices are
kept and grant nothing until the price arrives.';
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
    v_grace interval := private.billing_grace_period();
    v_manage text := (select c.manage_billing_url from billing.config as c where c.id);
    v_row billing.invoices;
begin
    if v_id is null or v_id !~ '^in_[A-Za-z0-9]+$' or v_customer is null
        or coalesce(p_inv ->> 'currency', '') !~ '^[a-z]{3}$' then
        return private.billing_result('invalid', null, 'not an invoice object');
    end if;
    perform private.billing_lock('customer:' || v_customer);
    v_user := private.billing_user_for(v_customer, coalesce(
        p_inv -> 'subscription_details' -> 'metadata',
        p_inv -> 'parent' -> 'subscription_details' -> 'metadata',
        p_inv -> 'metadata'
    ));
    if v_user is null then
        return private.billing_unknown_customer(v_customer);
    end if;
    insert into billing.invoices as i (
        id, user_id, customer_id, subscription_id, number, status, billing_reason, currency,
        subtotal, total, amount_due, amount_paid, amount_remaining, attempt_count,
        next_payment_attempt, hosted_invoice_url, invoice_pdf, period_start, period_end,
        paid_at, lines, stripe_created, stripe_event_created, status_rank
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
        p_created,
        private.billing_invoice_rank(p_inv ->> 'status')
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
        stripe_event_created = excluded.stripe_event_created,
        status_rank = excluded.status_rank
    where (i.status_rank, coalesce(i.stripe_event_created, '-infinity'))
        <= (excluded.status_rank, excluded.stripe_event_created)
    returning true into v_applied;
    -- Which payment intents paid it, so refunds (which no longer name invoices) find it.
    perform private.billing_note_invoice_payments(v_id, p_inv);

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
        set status = 'active', past_due_since = null, stripe_event_created = p_created,
            status_rank = 1
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
'Upsert a Stripe invoice (guarded by status rank, then event time: a paid invoice is never
open again) and act on its event: invoice.paid
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
    if v_customer is not null then
        perform private.billing_lock('customer:' || v_customer);
    end if;
    if v_ref ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
        select u.id into v_user from auth.users as u where u.id = v_ref::uuid;
    end if;
    if v_user is null then
        v_user := private.billing_user_for(v_customer, p_session -> 'metadata');
    end if;
    if v_user is null and v_customer is null then
        return private.billing_result('ignored', null,
            format('session %s names no user and no customer', p_session ->> 'id'));
    elsif v_user is null then
        return private.billing_unknown_customer(v_customer);
    end if;
    if v_customer ~ '^cus_[A-Za-z0-9]+$' then
        insert into billing.customers (user_id, stripe_customer_id, email)
        values (v_user, v_customer, p_session -> 'customer_details' ->> 'email')
        on conflict do nothing;
        -- Linked earlier by a subscription or invoice event (no email then): merge, so
        -- checkout's email is not dropped; a customer.* event's email stays authoritative.
        update billing.customers as c
        set email = coalesce(c.email, p_session -> 'customer_details' ->> 'email')
        where c.user_id = v_user and c.stripe_customer_id = v_customer;
        if not found then
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
'A finished checkout: link the customer to the user (client_reference_id; the session''s
email fills a customer row linked earlier without one) and apply the subscription re-read
from Stripe; an async payment failure emails the user. A session of a customer no user has
is parked on that customer.';
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
    v_sub text;
begin
    if v_id is null or v_id !~ '^prod_[A-Za-z0-9_]{1,120}$' then
        return private.billing_result('invalid', null, 'not a product object');
    end if;
    perform private.billing_lock('product:' || v_id);
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
    for v_sub in
        select distinct it.subscription_id from billing.subscription_items as it
        join billing.prices as pr on pr.id = it.price_id where pr.product_id = v_id
    loop
        perform private.billing_sync_subscribers(v_sub, p_cause);
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
    p_price jsonb, p_type text, p_created timestamptz, p_cause text
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_id text := p_price ->> 'id';
    v_product text := private.billing_id(p_price -> 'product');
    v_key text := nullif(p_price ->> 'lookup_key', '');
    v_holder billing.prices;
    v_applied boolean;
    v_sub text;
begin
    if v_id is null or v_id !~ '^price_[A-Za-z0-9_]{1,120}$'
        or coalesce(p_price ->> 'currency', '') !~ '^[a-z]{3}$'
        or coalesce(v_product, '') !~ '^prod_[A-Za-z0-9_]{1,120}$' then
        return private.billing_result('invalid', null, 'not a price object');
    end if;
    if jsonb_typeof(p_price -> 'unit_amount') <> 'number' then
        return private.billing_result('ignored', null, 'only unit-amount prices are supported');
    end if;
    perform private.billing_lock('product:' || v_product);
    if not exists (select 1 from billing.products as p where p.id = v_product) then
        return private.billing_result('parked', null,
            format('product %s is not in the catalog yet', v_product), 'product:' || v_product);
    end if;
    -- Lookup keys move between prices (transfer_lookup_key): the newest event holding a
    -- key keeps it, and the price that held it before loses it.
    if v_key is not null then
        select * into v_holder from billing.prices as p
        where p.lookup_key = v_key and p.id <> v_id
        for update;
        if found and coalesce(v_holder.stripe_event_created, '-infinity') > p_created then
            v_key := null;
        elsif found then
            update billing.prices set lookup_key = null where id = v_holder.id;
        end if;
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
        v_key, p_price ->> 'nickname',
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
    if v_applied is null then
        return private.billing_result('stale', null);
    end if;
    -- Items that named this price before the catalog knew it grant from now on.
    for v_sub in
        select distinct it.subscription_id from billing.subscription_items as it
        where it.price_id = v_id
    loop
        perform private.billing_refresh_plan(v_sub);
        perform private.billing_sync_subscribers(v_sub, p_cause);
    end loop;
    return private.billing_result('applied', null);
end;
$$;
comment on function private.billing_apply_price(jsonb, text, timestamptz, text) is
'Upsert a Stripe price (guarded by event time); price.deleted deactivates it; tiered prices
(no unit_amount) are ignored. A price of an unknown product is parked on the product. The
lookup key moves to the price of the newest event. Subscriptions with items of the price
are re-derived (an item that arrived before its price grants now).';
revoke execute on function private.billing_apply_price(jsonb, text, timestamptz, text)
from public;

create function private.billing_apply_customer(p_customer jsonb, p_created timestamptz)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_user uuid;
begin
    if coalesce(p_customer ->> 'id', '') !~ '^cus_[A-Za-z0-9]+$' then
        return private.billing_result('invalid', null, 'not a customer object');
    end if;
    perform private.billing_lock('customer:' || (p_customer ->> 'id'));
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
    return private.billing_unknown_customer(p_customer ->> 'id');
end;
$$;
comment on function private.billing_apply_customer(jsonb, timestamptz) is
'Mirror a known customer''s email and name (guarded by event time); an unknown customer''s
event is parked until a user is linked to it.';
revoke execute on function private.billing_apply_customer(jsonb, timestamptz) from public;
