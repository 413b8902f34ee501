-- billing: the entry points — the service functions the edge calls for webhook events,
-- checkout and portal (as the signed-in user) and receipts (the worker). The apply
-- functions they call are in the webhooks migration before it.

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

create function private.billing_apply_event(
    p_event billing.webhook_events, p_fresh jsonb
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_obj jsonb := p_event.payload -> 'data' -> 'object';
    v_kind text := v_obj ->> 'object';
    v_fresh jsonb := case when jsonb_typeof(p_fresh) = 'object' then p_fresh else '{}' end;
    v_result jsonb;
begin
    if jsonb_typeof(v_fresh -> v_kind) = 'object' then
        if v_fresh -> v_kind ->> 'id' is distinct from v_obj ->> 'id' then
            perform private.raise_error('billing_event_invalid',
                'The re-read object is not the event''s object.', '22023');
        end if;
        v_obj := v_fresh -> v_kind;
    end if;

    if p_event.type in (
        'customer.subscription.created', 'customer.subscription.updated',
        'customer.subscription.deleted', 'customer.subscription.paused',
        'customer.subscription.resumed', 'customer.subscription.trial_will_end',
        'customer.subscription.pending_update_applied',
        'customer.subscription.pending_update_expired'
    ) then
        v_result := private.billing_apply_subscription(v_obj, p_event.stripe_created, p_event.id);
        if p_event.type = 'customer.subscription.trial_will_end'
            and v_result ->> 'outcome' in ('applied', 'stale') then
            perform private.billing_email((v_result ->> 'user_id')::uuid, 'trial_ending',
                'Your trial ends soon',
                jsonb_build_object('subscription_id', v_obj ->> 'id',
                    'trial_end', private.billing_ts(v_obj -> 'trial_end'),
                    'manage_billing_url',
                    (select c.manage_billing_url from billing.config as c where c.id)),
                'trial_ending:' || (v_obj ->> 'id'));
        end if;
    elsif p_event.type in (
        'invoice.paid', 'invoice.payment_failed', 'invoice.payment_action_required',
        'invoice.finalized', 'invoice.created', 'invoice.updated', 'invoice.voided',
        'invoice.marked_uncollectible', 'invoice.payment_succeeded'
    ) then
        v_result := private.billing_apply_invoice(v_obj, p_event.type, p_event.stripe_created,
            p_event.id, v_fresh -> 'subscription');
    elsif p_event.type in (
        'checkout.session.completed', 'checkout.session.async_payment_succeeded',
        'checkout.session.async_payment_failed'
    ) then
        v_result := private.billing_apply_checkout(v_obj, p_event.type, p_event.stripe_created,
            p_event.id, v_fresh -> 'subscription');
    elsif p_event.type in ('product.created', 'product.updated', 'product.deleted') then
        v_result := private.billing_apply_product(v_obj, p_event.type, p_event.stripe_created,
            p_event.id);
    elsif p_event.type in ('price.created', 'price.updated', 'price.deleted') then
        v_result := private.billing_apply_price(v_obj, p_event.type, p_event.stripe_created,
            p_event.id);
    elsif p_event.type in ('customer.created', 'customer.updated') then
        v_result := private.billing_apply_customer(v_obj, p_event.stripe_created);
    elsif p_event.type = 'invoice_payment.paid' then
        v_result := private.billing_apply_invoice_payment(v_obj);
    elsif p_event.type = 'charge.refunded' then
        v_result := private.billing_apply_refund(v_obj, v_fresh, p_event.id);
    else
        v_result := private.billing_result('ignored', null, null);
    end if;

    -- A parked event stays unprocessed, naming what it waits for; anything else is done.
    update billing.webhook_events as e
    set processed_at = case when v_result ->> 'outcome' = 'parked' then null else now() end,
        outcome = v_result ->> 'outcome',
        user_id = (v_result ->> 'user_id')::uuid, error = v_result ->> 'error',
        parked_on = v_result ->> 'parked_on'
    where e.id = p_event.id;
    return v_result;
end;
$$;
comment on function private.billing_apply_event(billing.webhook_events, jsonb) is
'Apply one stored event by its type and record the outcome on it (a parked event stays
unprocessed with parked_on set).';
revoke execute on function private.billing_apply_event(billing.webhook_events, jsonb)
from public;

create function private.billing_unpark() returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_event billing.webhook_events;
    v_applied int := 0;
    v_round int := 0;
    v_progress boolean := true;
begin
    -- Re-apply, oldest first, every parked event whose missing piece is known now; one
    -- applied event can make others applicable (a customer linked, then its product...).
    while v_progress and v_round < 10 loop
        v_progress := false;
        v_round := v_round + 1;
        for v_event in
            select e.* from billing.webhook_events as e
            where e.parked_on is not null and e.processed_at is null
              and case split_part(e.parked_on, ':', 1)
                  when 'customer' then exists (
                      select 1 from billing.customers as c
                      where c.stripe_customer_id = split_part(e.parked_on, ':', 2))
                  when 'product' then exists (
                      select 1 from billing.products as p
                      where p.id = split_part(e.parked_on, ':', 2))
                  when 'payment_intent' then exists (
                      select 1 from billing.invoice_payments as ip
                      where ip.payment_intent_id = split_part(e.parked_on, ':', 2))
                  when 'invoice' then exists (
                      select 1 from billing.invoices as i
                      where i.id = split_part(e.parked_on, ':', 2))
                  else false
              end
            order by e.stripe_created, e.received_at, e.id
            for update skip locked
        loop
            -- Another transaction busy with the same customer or object applies it itself.
            if not private.billing_try_lock('customer:' || coalesce(v_event.customer_id, ''))
                or not private.billing_try_lock(v_event.parked_on) then
                continue;
            end if;
            if private.billing_apply_event(v_event, '{}') ->> 'outcome' <> 'parked' then
                v_applied := v_applied + 1;
                v_progress := true;
            end if;
        end loop;
    end loop;
    return v_applied;
end;
$$;
comment on function private.billing_unpark() is
'Apply the parked events whose customer, product, payment or invoice is known now, in Stripe event
order, from their stored snapshots (their own guards keep newer state). Returns how many
were applied.';
revoke execute on function private.billing_unpark() from public;

create function billing.process_event(p_event_id text, p_fresh jsonb default '{}')
returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_event billing.webhook_events;
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
    v_result := private.billing_apply_event(v_event, p_fresh);
    if v_result ->> 'outcome' <> 'parked' then
        perform private.billing_unpark();
    end if;
    return v_result ->> 'outcome';
end;
$$;
comment on function billing.process_event(text, jsonb) is
'Service (edge): apply a stored event exactly once, then any parked events it made
applicable. p_fresh carries objects re-read from Stripe ({"subscription": {...},
"invoice": {...}, "invoice_payment": {...}}) that replace or complete the snapshot. Returns
the outcome: applied, stale (a newer state was applied already), parked (waits for its
customer, product or payment; applied when that arrives), customer_conflict, invalid,
ignored, or duplicate (processed before). Errors: billing_event_unknown,
billing_event_invalid.';
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
    v_uid uuid := private.require_user();
    v_price record;
    v_quantity int := coalesce(p_quantity, 1);
begin
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
        join billing.subscription_items as it on it.subscription_id = s.id
        join billing.prices as p on p.id = it.price_id
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
    v_uid uuid := private.require_user();
    v_customer text;
begin
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
    perform private.billing_lock('customer:' || p_customer);
    insert into billing.customers (user_id, stripe_customer_id, email)
    values (p_user, p_customer, p_email)
    on conflict do nothing;
    update billing.customers as c set email = coalesce(c.email, p_email)
    where c.user_id = p_user and c.stripe_customer_id = p_customer;
    select c.stripe_customer_id into v_linked from billing.customers as c
    where c.user_id = p_user;
    if v_linked is null then
        perform private.raise_error('conflict', 'That customer belongs to another user.',
            'PT409');
    end if;
    -- Events that arrived for this customer before it was linked apply now.
    perform private.billing_unpark();
    return v_linked;
end;
$$;
comment on function billing.link_customer(uuid, text, text) is
'Service (edge, after creating a Stripe customer at checkout): link it to the user (the
email fills a row linked earlier without one) and apply events parked on it. Returns the
customer now linked (an earlier one wins a race). Errors: invalid_argument,
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
