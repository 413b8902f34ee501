-- billing: entitlements derived from subscriptions and team seats, and the change
-- notifications (audit + outbox) when a user's paid features change.

create function private.billing_grace_period() returns interval
language sql stable
security definer
set search_path = ''
as $$
    select c.past_due_grace from billing.config as c where c.id
$$;
comment on function private.billing_grace_period() is
'How long a past_due subscription keeps granting (billing.config.past_due_grace). Definer:
the config row is admin-only, but every subscriber may see their own grace deadline.';
revoke execute on function private.billing_grace_period() from public;
grant execute on function private.billing_grace_period() to authenticated, service_role;

create function private.billing_status_grants(p_status text, p_past_due_since timestamptz)
returns boolean
language sql stable
set search_path = ''
as $$
    select p_status in ('active', 'trialing')
        or (
            p_status = 'past_due'
            and coalesce(p_past_due_since, now())
            + private.billing_grace_period() > now()
        )
$$;
comment on function private.billing_status_grants(text, timestamptz) is
'Does a subscription in this state grant its features? active and trialing do; past_due
does until billing.config.past_due_grace after the first failure; nothing else does.';
revoke execute on function private.billing_status_grants(text, timestamptz) from public;

-- Replaces the foundation's placeholder body (same signature, still definer).
create or replace function private.user_has_entitlement(p_user uuid, p_feature text)
returns boolean
language sql stable
security definer
set search_path = ''
as $$
    select p_user is not null and p_feature is not null and (
        exists (
            select 1 from billing.products as pr
            where pr.included_for_everyone and pr.active and p_feature = any(pr.features)
        )
        or exists (
            select 1
            from billing.subscriptions as s
            join billing.subscription_items as it on it.subscription_id = s.id
            join billing.prices as p on p.id = it.price_id
            join billing.products as pr on pr.id = p.product_id
            where p_feature = any(pr.features)
              and s.user_id = p_user
              and not p.per_seat
              and it.quantity > 0
              and private.billing_status_grants(s.status, s.past_due_since)
        )
        or exists (
            select 1
            from billing.seats as st
            join billing.subscriptions as s on s.id = st.subscription_id
            join billing.subscription_items as it on it.subscription_id = s.id
            join billing.prices as p on p.id = it.price_id and p.per_seat
            join billing.products as pr on pr.id = p.product_id
            where st.user_id = p_user
              and p_feature = any(pr.features)
              and private.billing_status_grants(s.status, s.past_due_since)
              -- seats beyond the paid quantity (the newest ones) grant nothing
              and (
                  select count(*) from billing.seats as o
                  where o.subscription_id = st.subscription_id
                    and (o.assigned_at, o.user_id) < (st.assigned_at, st.user_id)
              ) < it.quantity
        )
    )
$$;
comment on function private.user_has_entitlement(uuid, text) is
'Does the user''s plan include p_feature (e.g. ''pro'')? The one entitlement check every
domain uses. True when the free plan lists the feature, or an item of an individual
subscription of the user, or a team seat the user holds (within the per-seat item''s
quantity), is active, trialing, or past_due within billing.config.past_due_grace of the
first failure. Every item counts; an item whose price is unknown grants nothing. Definer: it
reads billing tables the caller cannot.';
revoke execute on function private.user_has_entitlement(uuid, text) from public;
grant execute on function private.user_has_entitlement(uuid, text) to authenticated, service_role;

create function private.billing_sync_entitlements(p_user uuid, p_cause text)
returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_feature text;
    v_changes int := 0;
begin
    if p_user is null then
        return 0;
    end if;
    -- One diff at a time per user: two webhooks for the same user must not both notify.
    perform pg_advisory_xact_lock(hashtext('billing.entitlements'), hashtext(p_user::text));
    for v_feature in
        select distinct f from billing.products as pr, unnest(pr.features) as f
        where not pr.included_for_everyone and private.user_has_entitlement(p_user, f)
        except
        select e.feature from billing.entitlements as e where e.user_id = p_user
        order by 1
    loop
        insert into billing.entitlements (user_id, feature) values (p_user, v_feature);
        perform private.audit('billing.entitlement_granted', 'user', p_user::text,
            jsonb_build_object('feature', v_feature, 'cause', p_cause));
        perform ops.enqueue('billing.entitlement_changed',
            jsonb_build_object('user_id', p_user, 'feature', v_feature, 'entitled', true,
                'cause', p_cause),
            format('%s:%s:granted:%s', p_user, v_feature, coalesce(p_cause, now()::text)));
        v_changes := v_changes + 1;
    end loop;
    for v_feature in
        select e.feature from billing.entitlements as e
        where e.user_id = p_user and not private.user_has_entitlement(p_user, e.feature)
        order by 1
    loop
        delete from billing.entitlements where user_id = p_user and feature = v_feature;
        perform private.audit('billing.entitlement_revoked', 'user', p_user::text,
            jsonb_build_object('feature', v_feature, 'cause', p_cause));
        perform ops.enqueue('billing.entitlement_changed',
            jsonb_build_object('user_id', p_user, 'feature', v_feature, 'entitled', false,
                'cause', p_cause),
            format('%s:%s:revoked:%s', p_user, v_feature, coalesce(p_cause, now()::text)));
        v_changes := v_changes + 1;
    end loop;
    return v_changes;
end;
$$;
comment on function private.billing_sync_entitlements(uuid, text) is
'Diff the user''s live entitlements against billing.entitlements; each grant or loss is
written to the audit log (billing.entitlement_granted / _revoked) and queued as the outbox
event billing.entitlement_changed {user_id, feature, entitled, cause}. Returns the number of
changes. Definer: writes audit, outbox and entitlement state.';
revoke execute on function private.billing_sync_entitlements(uuid, text) from public;

create function billing.sync_due_entitlements() returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_user uuid;
    v_changes int := 0;
begin
    -- Time-based losses (a past_due grace period that ran out) happen without an event:
    -- has_entitlement is already false; this notifies them.
    for v_user in
        select distinct e.user_id from billing.entitlements as e
        where not private.user_has_entitlement(e.user_id, e.feature)
    loop
        v_changes := v_changes + private.billing_sync_entitlements(v_user, 'grace_expired');
    end loop;
    return v_changes;
end;
$$;
comment on function billing.sync_due_entitlements() is
'Service: notify entitlement losses that time caused (past_due grace over). Run it
periodically (the worker''s schedule or pg_cron); access itself is already computed live.
Returns the number of changes.';
revoke execute on function billing.sync_due_entitlements() from public;
grant execute on function billing.sync_due_entitlements() to service_role;
