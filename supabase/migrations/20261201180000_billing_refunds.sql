-- billing: refunds on every Stripe API version.
--
-- Until API version 2025-03-31 a charge named its invoice (charge.invoice). Since then it
-- does not: an invoice is paid by invoice payments (invoice_payment objects, each naming a
-- payment intent), and a refunded charge names only its payment intent. The mirror learns
-- which payment intent paid which invoice from every place Stripe says so (older invoices'
-- payment_intent, an expanded invoice.payments list, invoice_payment.paid events, and the
-- edge's re-read of the invoice payments of a refunded charge), and a refund whose payment
-- is not matched yet is parked on the payment intent until it is.

create function private.billing_note_payment(
    p_payment_intent text, p_invoice text
) returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
    if coalesce(p_payment_intent, '') !~ '^pi_[A-Za-z0-9]+$'
        or coalesce(p_invoice, '') !~ '^in_[A-Za-z0-9]+$' then
        return false;
    end if;
    perform private.billing_lock('payment_intent:' || p_payment_intent);
    insert into billing.invoice_payments (payment_intent_id, invoice_id)
    values (p_payment_intent, p_invoice)
    on conflict (payment_intent_id) do nothing;
    return true;
end;
$$;
comment on function private.billing_note_payment(text, text) is
'Record that a payment intent paid an invoice (ignored unless both ids are well formed; the
first record wins: a payment intent pays one invoice).';
revoke execute on function private.billing_note_payment(text, text) from public;

create function private.billing_note_invoice_payments(p_invoice text, p_inv jsonb)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    -- Before 2025-03-31 the invoice carried its payment intent.
    perform private.billing_note_payment(private.billing_id(p_inv -> 'payment_intent'),
        p_invoice);
    -- Since then, when the invoice was expanded with its payments.
    perform private.billing_note_payment(
        private.billing_id(pay -> 'payment' -> 'payment_intent'), p_invoice
    )
    from jsonb_array_elements(
        case when jsonb_typeof(p_inv -> 'payments' -> 'data') = 'array'
            then p_inv -> 'payments' -> 'data' else '[]' end
    ) as pay;
end;
$$;
comment on function private.billing_note_invoice_payments(text, jsonb) is
'Record the payment intents an invoice object names (payment_intent on older API versions,
payments.data[].payment.payment_intent when expanded on current ones).';
revoke execute on function private.billing_note_invoice_payments(text, jsonb) from public;

create function private.billing_apply_invoice_payment(p_payment jsonb) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_invoice text := private.billing_id(p_payment -> 'invoice');
    v_intent text := private.billing_id(p_payment -> 'payment' -> 'payment_intent');
begin
    if coalesce(p_payment ->> 'object', '') <> 'invoice_payment' or v_invoice is null then
        return private.billing_result('invalid', null, 'not an invoice payment object');
    end if;
    if not private.billing_note_payment(v_intent, v_invoice) then
        return private.billing_result('ignored', null,
            'the invoice payment is not a payment intent');
    end if;
    return private.billing_result('applied',
        (select i.user_id from billing.invoices as i where i.id = v_invoice));
end;
$$;
comment on function private.billing_apply_invoice_payment(jsonb) is
'invoice_payment.paid: learn which invoice the payment intent paid (refunds of current API
versions are matched through it).';
revoke execute on function private.billing_apply_invoice_payment(jsonb) from public;

create function private.billing_apply_refund(p_charge jsonb, p_fresh jsonb, p_cause text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_charge text := p_charge ->> 'id';
    v_intent text := private.billing_id(p_charge -> 'payment_intent');
    v_invoice text;
    v_row billing.invoices;
begin
    if coalesce(v_charge, '') !~ '^(ch|py)_[A-Za-z0-9]+$' then
        return private.billing_result('invalid', null, 'not a charge object');
    end if;
    if private.billing_id(p_charge -> 'customer') is not null then
        perform private.billing_lock('customer:' || private.billing_id(p_charge -> 'customer'));
    end if;
    if v_intent is not null then
        perform private.billing_lock('payment_intent:' || v_intent);
    end if;
    -- The edge's re-read of the charge's invoice payment (current API versions).
    if jsonb_typeof(p_fresh -> 'invoice_payment') = 'object'
        and private.billing_id(p_fresh -> 'invoice_payment' -> 'payment' -> 'payment_intent')
        = v_intent then
        perform private.billing_note_payment(v_intent,
            private.billing_id(p_fresh -> 'invoice_payment' -> 'invoice'));
    end if;
    v_invoice := coalesce(
        private.billing_id(p_charge -> 'invoice'),   -- API versions before 2025-03-31
        (select ip.invoice_id from billing.invoice_payments as ip
         where ip.payment_intent_id = v_intent),
        p_charge -> 'metadata' ->> 'invoice_id'
    );
    if v_invoice is null and v_intent ~ '^pi_[A-Za-z0-9]+$' then
        return private.billing_result('parked', null,
            format('payment %s is not matched to an invoice yet', v_intent),
            'payment_intent:' || v_intent);
    elsif v_invoice is null then
        return private.billing_result('ignored', null, 'the charge names no invoice');
    end if;
    if not exists (select 1 from billing.invoices as i where i.id = v_invoice) then
        -- the invoice itself may be parked (its customer not linked yet)
        return private.billing_result('parked', null,
            format('invoice %s is not known yet', v_invoice), 'invoice:' || v_invoice);
    end if;
    -- A charge's refunded total only grows, so the order of refund events does not matter;
    -- the invoice's refunded amount is the sum over its charges.
    insert into billing.charge_refunds as r (charge_id, invoice_id, amount_refunded)
    values (
        v_charge, v_invoice,
        greatest(coalesce((p_charge ->> 'amount_refunded')::bigint, 0), 0)
    )
    on conflict (charge_id) do update set
        amount_refunded = greatest(r.amount_refunded, excluded.amount_refunded),
        updated_at = now();
    update billing.invoices as i
    set amount_refunded = (
        select coalesce(sum(r.amount_refunded), 0) from billing.charge_refunds as r
        where r.invoice_id = v_invoice
    )
    where i.id = v_invoice
    returning * into v_row;
    perform private.billing_email(v_row.user_id, 'refund_issued', 'Your refund is on its way',
        jsonb_build_object('invoice_id', v_invoice, 'number', v_row.number,
            'amount_refunded', v_row.amount_refunded, 'currency', v_row.currency),
        'refund:' || p_cause);
    return private.billing_result('applied', v_row.user_id);
end;
$$;
comment on function private.billing_apply_refund(jsonb, jsonb, text) is
'charge.refunded: find the charge''s invoice (charge.invoice on older API versions, else its
payment intent''s invoice payment), record the charge''s refunded total, set the invoice''s
amount_refunded to the sum over its charges and email the user. A refund whose payment is
not matched to an invoice yet is parked on the payment intent, one of an invoice not
mirrored yet on the invoice.';
revoke execute on function private.billing_apply_refund(jsonb, jsonb, text) from public;
