-- billing: the Stripe mirror (catalog, customers, subscriptions, team seats, invoices), the
-- webhook event store and the entitlement state that changes are notified from.
--
-- Stripe is the source of truth for money; these tables mirror it through webhooks. Every
-- mirrored row keeps `stripe_event_created`, the Stripe `created` time of the last event
-- applied to it, and an older event is refused (out-of-order deliveries never overwrite
-- newer state). Clients only read (RLS); every write goes through the definer functions of
-- the next migrations, called by the edge service as service_role (the named exception)
-- or by api functions that check the caller.

create schema if not exists billing;
comment on schema billing is
'Payments domain: Stripe catalog mirror, customers, subscriptions, team seats, invoices,
webhook events and entitlements. Never exposed; read through api views.';
grant usage on schema billing to anon, authenticated, service_role;

insert into ops.error_codes (code, sqlstate, http_status, description) values
(
    'billing_price_unknown', '22023', 400,
    'No such price in the catalog (or it is not for sale); details.price_id names it.'
),
(
    'billing_price_mismatch', '22023', 400,
    'The amount or currency does not match the catalog price; details has both.'
),
(
    'billing_price_changed', 'PT409', 409,
    'The price changed at Stripe since the catalog was last updated; reload the pricing page.'
),
(
    'billing_already_subscribed', 'PT409', 409,
    'You already have an active subscription to this plan; manage it in the billing portal.'
),
('billing_no_customer', 'PT404', 404, 'You have no billing account yet: subscribe first.'),
('billing_not_team_plan', '22023', 400, 'Seats exist only on team (per-seat) subscriptions.'),
('billing_no_seats_left', 'PT409', 409, 'Every seat of the subscription is assigned.'),
('billing_event_invalid', '22023', 400, 'The Stripe event is malformed; see details.'),
('billing_event_unknown', 'PT404', 404, 'No stored Stripe event with that id.'),
(
    'billing_payments_unavailable', 'PT503', 503,
    'Payments are not configured on this deployment (no Stripe key); the catalog still reads.'
),
(
    'billing_webhook_signature_invalid', '22023', 400,
    'The Stripe-Signature header is missing, wrong or outside the tolerance window.'
),
('billing_stripe_error', 'PT502', 502, 'Stripe did not answer as expected; try again.'),
(
    'billing_livemode_mismatch', '22023', 400,
    'The event''s livemode differs from this deployment''s Stripe mode (test or live keys).'
);

-- Configuration -----------------------------------------------------------------------------
create table billing.config (
    id boolean primary key default true check (id),
    past_due_grace interval not null default interval '3 days'
    check (past_due_grace >= interval '0'),
    manage_billing_url text not null default 'http://127.0.0.1:3000/account/billing',
    updated_at timestamptz not null default now()
);
comment on table billing.config is
'Single-row billing settings: past_due_grace (how long a past_due subscription keeps its
entitlements after the first failed payment) and manage_billing_url (the app page that
opens the Stripe customer portal; linked from payment-failure emails).';
insert into billing.config default values;
alter table billing.config enable row level security;
create trigger config_touch before update on billing.config
for each row execute function private.touch_updated_at();

-- Catalog -----------------------------------------------------------------------------------
create table billing.products (
    id text primary key check (id ~ '^prod_[A-Za-z0-9_]{1,120}$'),
    name text not null check (char_length(name) between 1 and 200),
    description text check (char_length(description) <= 2000),
    active boolean not null default true,
    features text[] not null default '{}',
    included_for_everyone boolean not null default false,
    sort_order int not null default 100,
    metadata jsonb not null default '{}',
    stripe_event_created timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table billing.products is
'Stripe products (plans) and the features they entitle (from product.metadata.features, a
comma-separated list). included_for_everyone marks the free plan, whose features every
signed-in user has. Seeded below with stable ids; product.* webhooks keep it current.';
alter table billing.products enable row level security;
create trigger products_touch before update on billing.products
for each row execute function private.touch_updated_at();

create table billing.prices (
    id text primary key check (id ~ '^price_[A-Za-z0-9_]{1,120}$'),
    product_id text not null references billing.products (id),
    active boolean not null default true,
    currency text not null check (currency ~ '^[a-z]{3}$'),
    unit_amount bigint not null check (unit_amount >= 0),
    recurring_interval text check (recurring_interval in ('day', 'week', 'month', 'year')),
    recurring_interval_count int not null default 1 check (recurring_interval_count >= 1),
    per_seat boolean not null default false,
    lookup_key text,
    nickname text,
    metadata jsonb not null default '{}',
    stripe_event_created timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table billing.prices is
'Stripe prices. per_seat (price.metadata.per_seat = ''true'') marks team prices whose
quantity is the number of seats. Checkout accepts only active recurring prices of this
table, at exactly this amount and currency.';
create index prices_product_idx on billing.prices (product_id);
create unique index prices_lookup_key_idx on billing.prices (lookup_key)
where lookup_key is not null;
alter table billing.prices enable row level security;
create trigger prices_touch before update on billing.prices
for each row execute function private.touch_updated_at();

insert into billing.products (
    id, name, description, features, included_for_everyone,
    sort_order
) values
(
    'prod_flagship_free', 'Free', 'Free courses, public CTFs and the community.',
    '{community,free_courses}', true, 10
),
(
    'prod_flagship_pro', 'Pro', 'Every pro course and pro challenge.',
    '{pro}', false, 20
),
(
    'prod_flagship_team', 'Team', 'Pro for a whole team: the owner assigns seats.',
    '{pro,team}', false, 30
);

insert into billing.prices (
    id, product_id, currency, unit_amount, recurring_interval,
    per_seat, lookup_key, nickname
) values
('price_flagship_free', 'prod_flagship_free', 'usd', 0, 'month', false, 'free', 'Free'),
(
    'price_flagship_pro_monthly', 'prod_flagship_pro', 'usd', 1500, 'month', false,
    'pro_monthly', 'Pro monthly'
),
(
    'price_flagship_pro_yearly', 'prod_flagship_pro', 'usd', 15000, 'year', false,
    'pro_yearly', 'Pro yearly'
),
(
    'price_flagship_team_seat', 'prod_flagship_team', 'usd', 1200, 'month', true,
    'team_seat_monthly', 'Team, per seat monthly'
);

-- Customers ---------------------------------------------------------------------------------
create table billing.customers (
    user_id uuid primary key references auth.users (id) on delete cascade,
    stripe_customer_id text not null unique check (stripe_customer_id ~ '^cus_[A-Za-z0-9]+$'),
    email text,
    name text,
    stripe_event_created timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table billing.customers is
'One Stripe customer per user (created or reused by checkout). Mapping Stripe events to
users goes through stripe_customer_id.';
alter table billing.customers enable row level security;
create trigger customers_touch before update on billing.customers
for each row execute function private.touch_updated_at();

-- Subscriptions -----------------------------------------------------------------------------
create table billing.subscriptions (
    id text primary key check (id ~ '^sub_[A-Za-z0-9]+$'),
    user_id uuid not null references auth.users (id) on delete cascade,
    customer_id text not null references billing.customers (stripe_customer_id)
    on delete cascade,
    price_id text references billing.prices (id),
    status text not null check (status in (
        'incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'canceled',
        'unpaid', 'paused'
    )),
    quantity int not null default 1 check (quantity >= 0),
    current_period_start timestamptz,
    current_period_end timestamptz,
    cancel_at_period_end boolean not null default false,
    cancel_at timestamptz,
    canceled_at timestamptz,
    ended_at timestamptz,
    trial_start timestamptz,
    trial_end timestamptz,
    past_due_since timestamptz,
    latest_invoice_id text,
    stripe_created timestamptz,
    stripe_event_created timestamptz,
    status_rank smallint not null default 1 check (status_rank between 0 and 2),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table billing.subscriptions is
'Stripe subscriptions. What they grant comes from every item (billing.subscription_items);
price_id and quantity repeat the main item for display: the known price of the highest plan
(null while no item has a known price). past_due_since is the first failure of the current
past_due spell: entitlements last past_due_grace beyond it. stripe_event_created and
status_rank order the events applied to the row (see private.billing_subscription_rank).';
create index subscriptions_user_idx on billing.subscriptions (user_id);
comment on column billing.subscriptions.status_rank is
'0 incomplete, 1 live states, 2 ended (canceled, incomplete_expired): a state never moves
back to a lower rank, whatever the order events arrive in.';
create index subscriptions_customer_idx on billing.subscriptions (customer_id);
create index subscriptions_price_idx on billing.subscriptions (price_id);
alter table billing.subscriptions enable row level security;
create trigger subscriptions_touch before update on billing.subscriptions
for each row execute function private.touch_updated_at();

create table billing.subscription_items (
    id text primary key check (id ~ '^si_[A-Za-z0-9]+$'),
    subscription_id text not null references billing.subscriptions (id) on delete cascade,
    price_id text not null check (price_id ~ '^price_[A-Za-z0-9_]{1,120}$'),
    quantity int not null default 1 check (quantity >= 0),
    created_at timestamptz not null default now()
);
comment on table billing.subscription_items is
'Every item of a Stripe subscription, replaced as a whole by each applied subscription event.
price_id is not a foreign key: an item whose price the catalog does not know yet is kept
(it grants nothing until price.created arrives, and never blocks the known items). For
per-seat prices quantity is the number of seats.';
create index subscription_items_subscription_idx on billing.subscription_items (
    subscription_id
);
create index subscription_items_price_idx on billing.subscription_items (price_id);
alter table billing.subscription_items enable row level security;

create table billing.seats (
    subscription_id text not null references billing.subscriptions (id) on delete cascade,
    user_id uuid not null references auth.users (id) on delete cascade,
    owner_id uuid not null references auth.users (id) on delete cascade,
    assigned_at timestamptz not null default now(),
    primary key (subscription_id, user_id)
);
comment on table billing.seats is
'Team seats: the owner of a per-seat subscription assigns its seats to members (one row per
seat holder). owner_id repeats the subscription''s owner so policies need not join.
Seats beyond the subscription''s quantity (oldest first) grant nothing.';
create index seats_user_idx on billing.seats (user_id);
create index seats_owner_idx on billing.seats (owner_id);
alter table billing.seats enable row level security;

-- Invoices ----------------------------------------------------------------------------------
create table billing.invoices (
    id text primary key check (id ~ '^in_[A-Za-z0-9]+$'),
    user_id uuid references auth.users (id) on delete set null,
    customer_id text not null,
    subscription_id text,
    number text,
    status text check (status in ('draft', 'open', 'paid', 'uncollectible', 'void')),
    billing_reason text,
    currency text not null check (currency ~ '^[a-z]{3}$'),
    subtotal bigint,
    total bigint,
    amount_due bigint not null default 0,
    amount_paid bigint not null default 0,
    amount_remaining bigint not null default 0,
    amount_refunded bigint not null default 0,
    attempt_count int not null default 0,
    next_payment_attempt timestamptz,
    hosted_invoice_url text,
    invoice_pdf text,
    period_start timestamptz,
    period_end timestamptz,
    paid_at timestamptz,
    lines jsonb not null default '[]',
    stripe_created timestamptz,
    stripe_event_created timestamptz,
    status_rank smallint not null default 0 check (status_rank between 0 and 3),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table billing.invoices is
'Stripe invoices: the billing history (amounts in the currency''s minor unit). Kept after
the user is deleted (user_id set null): invoices are accounting records. subscription_id is
not a foreign key because invoice events may arrive before their subscription''s.';
create index invoices_user_idx on billing.invoices (user_id, stripe_created desc);
comment on column billing.invoices.status_rank is
'draft 0, open 1, uncollectible 2, paid or void 3: an invoice never moves back to a lower
rank (a paid invoice is never open again), whatever the order its events arrive in.';
create index invoices_customer_idx on billing.invoices (customer_id);
create index invoices_subscription_idx on billing.invoices (subscription_id);
alter table billing.invoices enable row level security;
create trigger invoices_touch before update on billing.invoices
for each row execute function private.touch_updated_at();

create table billing.invoice_payments (
    payment_intent_id text primary key check (payment_intent_id ~ '^pi_[A-Za-z0-9]+$'),
    invoice_id text not null check (invoice_id ~ '^in_[A-Za-z0-9]+$'),
    created_at timestamptz not null default now()
);
comment on table billing.invoice_payments is
'Which invoice a payment intent paid. Since Stripe API version 2025-03-31 a charge no longer
names its invoice: refunds are matched through their payment intent, learnt from
invoice_payment.paid events, invoices that still carry payment_intent (older versions) and
re-reads of Stripe''s invoice payments.';
create index invoice_payments_invoice_idx on billing.invoice_payments (invoice_id);
alter table billing.invoice_payments enable row level security;

create table billing.charge_refunds (
    charge_id text primary key check (charge_id ~ '^(ch|py)_[A-Za-z0-9]+$'),
    invoice_id text not null references billing.invoices (id) on delete cascade,
    amount_refunded bigint not null check (amount_refunded >= 0),
    updated_at timestamptz not null default now()
);
comment on table billing.charge_refunds is
'The refunded total of each charge of an invoice (charge.amount_refunded only grows, so the
largest seen wins); billing.invoices.amount_refunded is their sum.';
create index charge_refunds_invoice_idx on billing.charge_refunds (invoice_id);
alter table billing.charge_refunds enable row level security;

-- Webhook events ----------------------------------------------------------------------------
create table billing.webhook_events (
    id text primary key check (id ~ '^evt_[A-Za-z0-9_]+$'),
    type text not null check (char_length(type) <= 100),
    api_version text,
    livemode boolean not null default false,
    stripe_created timestamptz not null,
    object_type text,
    object_id text,
    customer_id text,
    user_id uuid references auth.users (id) on delete set null,
    payload jsonb not null,
    deliveries int not null default 1,
    received_at timestamptz not null default now(),
    last_received_at timestamptz not null default now(),
    processed_at timestamptz,
    outcome text,
    error text,
    parked_on text check (
        parked_on ~ '^(customer|product|payment_intent|invoice):[A-Za-z0-9_]+$'
    ),
    updated_at timestamptz not null default now()
);
comment on table billing.webhook_events is
'Every verified Stripe event, stored once (the event id is the key; deliveries counts
redeliveries). processed_at is set exactly once; outcome says what happened (applied,
stale, ignored, ...) and error why it was not applied. An event that names something not
known yet (a customer before its checkout, a price of an unknown product, a refund of a
payment not matched to an invoice) is parked: stored unprocessed with parked_on naming what
it waits for, and applied when that arrives.';
create index webhook_events_customer_idx on billing.webhook_events (
    customer_id, stripe_created desc
);
create index webhook_events_user_idx on billing.webhook_events (user_id);
create index webhook_events_object_idx on billing.webhook_events (object_id);
create index webhook_events_received_idx on billing.webhook_events (received_at desc);
create index webhook_events_unprocessed_idx on billing.webhook_events (received_at)
where processed_at is null;
create index webhook_events_parked_idx on billing.webhook_events (parked_on, stripe_created)
where parked_on is not null and processed_at is null;
alter table billing.webhook_events enable row level security;
create trigger webhook_events_touch before update on billing.webhook_events
for each row execute function private.touch_updated_at();

-- Entitlement state -------------------------------------------------------------------------
create table billing.entitlements (
    user_id uuid not null references auth.users (id) on delete cascade,
    feature text not null check (feature ~ '^[a-z][a-z0-9_]{0,62}$'),
    granted_at timestamptz not null default now(),
    primary key (user_id, feature)
);
comment on table billing.entitlements is
'The paid features each user was last told they have. Not the access check (that is
private.user_has_entitlement, computed live); this is what entitlement changes are diffed
against, so each grant and loss is audited and notified exactly once.';
alter table billing.entitlements enable row level security;

-- Read policies: the catalog is public; the rest is the user's own, and everything for
-- platform admins. One permissive policy per role and action.
create policy products_read_anon on billing.products for select to anon using (active);
create policy products_read on billing.products for select to authenticated
using (active or (select private.jwt_has_permission('platform.admin')));
create policy prices_read_anon on billing.prices for select to anon using (active);
create policy prices_read on billing.prices for select to authenticated
using (active or (select private.jwt_has_permission('platform.admin')));
create policy config_read on billing.config for select to authenticated
using ((select private.jwt_has_permission('platform.admin')));
create policy customers_read on billing.customers for select to authenticated
using (user_id = (select auth.uid()) or (select private.jwt_has_permission('platform.admin')));
create policy seats_read on billing.seats for select to authenticated
using (
    user_id = (select auth.uid())
    or owner_id = (select auth.uid())
    or (select private.jwt_has_permission('platform.admin'))
);
create policy subscriptions_read on billing.subscriptions for select to authenticated
using (
    user_id = (select auth.uid())
    or id in (
        select s.subscription_id from billing.seats as s where s.user_id = (select auth.uid())
    )
    or (select private.jwt_has_permission('platform.admin'))
);
create policy subscription_items_read on billing.subscription_items for select
to authenticated
using (
    subscription_id in (select s.id from billing.subscriptions as s)
);
create policy invoices_read on billing.invoices for select to authenticated
using (user_id = (select auth.uid()) or (select private.jwt_has_permission('platform.admin')));
create policy webhook_events_read on billing.webhook_events for select to authenticated
using ((select private.jwt_has_permission('platform.admin')));
create policy entitlements_read on billing.entitlements for select to authenticated
using (user_id = (select auth.uid()) or (select private.jwt_has_permission('platform.admin')));

grant select on billing.products, billing.prices to anon;
grant select on billing.products, billing.prices, billing.config, billing.customers,
billing.subscriptions, billing.subscription_items, billing.seats, billing.invoices,
billing.webhook_events, billing.entitlements to authenticated, service_role;
