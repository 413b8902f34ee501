-- edge: email — the local mailbox (embedded default), the suppression list, webhook receipts
-- (replay protection), contact email verification, and the emails the database queues.
--
-- Email leaves the database only through the outbox: `ops.enqueue('email.send', payload)`
-- with payload {template, to | user_id, data, category, object: {type, id}}. The sync worker
-- renders and sends it (Resend, or ops.mailbox when RESEND_API_KEY is unset) with the job's
-- idempotency key, so a retried job never sends twice.

insert into ops.error_codes (code, sqlstate, http_status, description) values
('edge_email_invalid', '22023', 400, 'The email address is malformed.'),
('edge_email_token_invalid', '22023', 400, 'The verification token is not valid.'),
-- Raised by the edge service itself (see docs/edge.md); catalogued so clients see one list.
('edge_token_invalid', '42501', 401, 'The bearer token is malformed, tampered or not allowed.'),
('edge_token_expired', '42501', 401, 'The bearer token expired.'),
('edge_webhook_signature', '42501', 401, 'The webhook signature does not verify.'),
('edge_webhook_timestamp', '42501', 401, 'The webhook timestamp is outside the tolerance.'),
('edge_unsubscribe_invalid', '22023', 400, 'The unsubscribe token does not verify.'),
('edge_payload_too_large', 'PT413', 413, 'The request body exceeds the size limit.'),
('edge_batch_too_large', '22023', 400, 'A batch holds too many sub-requests.');

-- Mailbox -------------------------------------------------------------------------------
create table ops.mailbox (
    id bigint generated always as identity primary key,
    idempotency_key text not null unique check (char_length(idempotency_key) <= 256),
    to_address text not null,
    from_address text not null,
    subject text not null,
    html text not null,
    text_body text not null,
    headers jsonb not null default '{}',
    tags jsonb not null default '[]',
    template text,
    created_at timestamptz not null default now()
);
comment on table ops.mailbox is
'The local mailbox: messages that would have gone to Resend when RESEND_API_KEY is unset,
one per idempotency key (a retried send is a no-op). Read with `flagship mail`.';
create index mailbox_to_idx on ops.mailbox (lower(to_address), created_at desc);
alter table ops.mailbox enable row level security;
grant select, insert on ops.mailbox to service_role;
create policy mailbox_service on ops.mailbox for all to service_role using (true)
with check (true);

-- Suppressions ----------------------------------------------------------------------------
create table ops.email_suppressions (
    email text not null check (email = lower(email) and char_length(email) <= 320),
    category text not null default '*' check (category ~ '^(\*|[a-z][a-z_]*)$'),
    reason text not null check (reason in ('bounced', 'complained', 'unsubscribed', 'manual')),
    details jsonb not null default '{}',
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (email, category)
);
comment on table ops.email_suppressions is
'Addresses we must not mail: category * (hard bounce, complaint — every email but the
Supabase Auth ones) or one category (one-click unsubscribe). Fed by Resend webhooks and the
unsubscribe endpoint.';
alter table ops.email_suppressions enable row level security;
create trigger email_suppressions_touch before update on ops.email_suppressions
for each row execute function private.touch_updated_at();
grant select, insert, update on ops.email_suppressions to service_role;
create policy email_suppressions_service on ops.email_suppressions for all to service_role
using (true) with check (true);

-- Inbound webhook receipts (replay protection) ----------------------------------------------
create table ops.webhook_receipts (
    source text not null check (source ~ '^[a-z][a-z_]*$'),
    webhook_id text not null check (char_length(webhook_id) <= 200),
    event_type text,
    received_at timestamptz not null default now(),
    primary key (source, webhook_id)
);
comment on table ops.webhook_receipts is
'Webhook ids already processed, per source: a replayed delivery is acknowledged, not redone.
Rows older than the signature tolerance may be pruned (a replay that old fails the
timestamp check).';
create index webhook_receipts_time_idx on ops.webhook_receipts (received_at);
alter table ops.webhook_receipts enable row level security;
grant select, insert, delete on ops.webhook_receipts to service_role;
create policy webhook_receipts_service on ops.webhook_receipts for all to service_role
using (true) with check (true);

-- Recipient routing ---------------------------------------------------------------------------
create table accounts.contact_emails (
    user_id uuid primary key references auth.users (id) on delete cascade,
    email text not null check (char_length(email) <= 320),
    verified_at timestamptz not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table accounts.contact_emails is
'A verified contact email that replaces the sign-in email for notifications. Set only by
api.accounts_confirm_contact_email_change.';
alter table accounts.contact_emails enable row level security;
create policy contact_emails_read on accounts.contact_emails for select to authenticated
using (user_id = (select auth.uid()));
grant select on accounts.contact_emails to authenticated, service_role;
create trigger contact_emails_touch before update on accounts.contact_emails
for each row execute function private.touch_updated_at();

create table accounts.email_verifications (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references auth.users (id) on delete cascade,
    email text not null check (char_length(email) <= 320),
    token_digest text not null unique check (token_digest ~ '^[0-9a-f]{64}$'),
    expires_at timestamptz not null,
    used_at timestamptz,
    created_at timestamptz not null default now()
);
comment on table accounts.email_verifications is
'Pending contact email changes: the token (sent to the new address) only as a digest.';
create index email_verifications_user_idx on accounts.email_verifications (user_id);
alter table accounts.email_verifications enable row level security;

create function private.email_route(p_to text, p_user uuid, p_category text) returns jsonb
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_to text := p_to;
    v_setting text;
begin
    if v_to is null and p_user is not null then
        select coalesce(c.email, u.email) into v_to
        from auth.users as u left join accounts.contact_emails as c on c.user_id = u.id
        where u.id = p_user;
    end if;
    if v_to is null or v_to = '' then
        return jsonb_build_object('send', false, 'reason', 'no_recipient');
    end if;
    if exists (
        select 1 from ops.email_suppressions as s
        where s.email = lower(v_to) and s.category in ('*', p_category)
    ) then
        return jsonb_build_object('send', false, 'reason', 'suppressed', 'to', v_to);
    end if;
    -- Opt-in categories from the user's settings (account/billing/security cannot be off).
    if p_user is not null and p_category in (
        'newsletter', 'product_updates', 'course_updates', 'ctf_events'
    ) then
        v_setting := private.user_settings(p_user) -> 'email_categories' ->> p_category;
        if v_setting is distinct from 'true' then
            return jsonb_build_object('send', false, 'reason', 'opted_out', 'to', v_to);
        end if;
    end if;
    return jsonb_build_object('send', true, 'to', v_to);
end;
$$;
comment on function private.email_route(text, uuid, text) is
'Where an email goes and whether it may: the given address, else the user''s verified
contact email, else their sign-in email; refused when suppressed (* or the category) or when
the user switched the category off. Definer: reads auth.users and settings. Worker/edge only.';
revoke execute on function private.email_route(text, uuid, text) from public;
grant execute on function private.email_route(text, uuid, text) to service_role;

-- Contact email verification ----------------------------------------------------------------
create function api.accounts_request_contact_email_change(p_email text) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_session();
    v_email text := lower(btrim(p_email));
    v_token text := private.random_hex();
    v_row accounts.email_verifications;
begin
    if v_email is null or char_length(v_email) > 320
       or v_email !~ '^[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$' then
        perform private.raise_error('edge_email_invalid', 'That is not an email address.',
            '22023', '{"field": "p_email"}');
    end if;
    perform private.rate_limit('edge:email_change:' || v_uid::text, 5, interval '1 hour');
    insert into accounts.email_verifications (user_id, email, token_digest, expires_at)
    values (v_uid, v_email, encode(sha256(convert_to(v_token, 'UTF8')), 'hex'),
            now() + interval '24 hours')
    returning * into v_row;
    perform ops.enqueue('email.send', jsonb_build_object(
        'template', 'verify_email', 'to', v_email, 'category', 'security',
        'data', jsonb_build_object('token', v_token, 'email', v_email),
        'object', jsonb_build_object('type', 'email_verification', 'id', v_row.id)
    ), 'verify:' || v_row.id::text);
    return jsonb_build_object('email', v_email, 'expires_at', v_row.expires_at);
end;
$$;
comment on function api.accounts_request_contact_email_change(text) is
'Ask to use p_email as your contact email: a link with a one-time token (24 h) is mailed to
it; nothing changes until api.accounts_confirm_contact_email_change. Five requests an hour. Errors:
not_authenticated, forbidden (API key tokens), edge_email_invalid, rate_limited.';
revoke execute on function api.accounts_request_contact_email_change(text) from public;
grant execute on function api.accounts_request_contact_email_change(text) to authenticated;

create function api.accounts_confirm_contact_email_change(p_token text) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_session();
    v_row accounts.email_verifications;
begin
    select * into v_row from accounts.email_verifications as v
    where v.token_digest = encode(sha256(convert_to(coalesce(p_token, ''), 'UTF8')), 'hex')
      and v.user_id = v_uid and v.used_at is null and v.expires_at > now()
    for update;
    if not found then
        perform private.raise_error('edge_email_token_invalid',
            'The link is invalid or expired; ask for a new one.', '22023');
    end if;
    update accounts.email_verifications set used_at = now() where id = v_row.id;
    insert into accounts.contact_emails (user_id, email, verified_at)
    values (v_uid, v_row.email, now())
    on conflict (user_id) do update set email = excluded.email, verified_at = excluded.verified_at;
    perform private.audit('edge.contact_email_changed', 'user', v_uid::text,
        jsonb_build_object('email', v_row.email));
    return jsonb_build_object('email', v_row.email, 'verified_at', now());
end;
$$;
comment on function api.accounts_confirm_contact_email_change(text) is
'Confirm a contact email change with the token from the email (signed in as the same user).
Returns {email, verified_at}. Errors: not_authenticated, forbidden, edge_email_token_invalid.';
revoke execute on function api.accounts_confirm_contact_email_change(text) from public;
grant execute on function api.accounts_confirm_contact_email_change(text) to authenticated;

-- Emails the database queues ------------------------------------------------------------------
create function private.queue_account_emails() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    if tg_op = 'UPDATE' then
        perform ops.enqueue('email.send', jsonb_build_object(
            'template', 'welcome', 'user_id', new.id, 'category', 'account',
            'object', jsonb_build_object('type', 'user', 'id', new.id)
        ), 'welcome:' || new.id::text);
        return new;
    end if;
    if old.email is not null and old.email <> '' then
        perform ops.enqueue('email.send', jsonb_build_object(
            'template', 'goodbye', 'to', old.email, 'category', 'account',
            'object', jsonb_build_object('type', 'user', 'id', old.id)
        ), 'goodbye:' || old.id::text);
    end if;
    return old;
end;
$$;
comment on function private.queue_account_emails() is
'Trigger on auth.users: the welcome email when a sign-up confirms its address, the goodbye
email when an account is deleted (its address is captured before the row goes).';
revoke execute on function private.queue_account_emails() from public;

create trigger users_welcome_email after update of email_confirmed_at on auth.users
for each row when (old.email_confirmed_at is null and new.email_confirmed_at is not null)
execute function private.queue_account_emails();
create trigger users_goodbye_email before delete on auth.users
for each row execute function private.queue_account_emails();

-- Outbox observability (the edge's /metrics, as service_role) ---------------------------------
create function ops.outbox_stats() returns table (
    pending bigint,
    processing bigint,
    dead bigint,
    retrying bigint,
    oldest_pending_age double precision
)
language sql stable
security definer
set search_path = ''
as $$
    select
        count(*) filter (where status = 'pending'),
        count(*) filter (where status = 'processing'),
        (select count(*) from ops.outbox as d where d.status = 'dead'),
        count(*) filter (where status = 'pending' and attempts > 0),
        coalesce(extract(epoch from now() - min(created_at) filter (where status = 'pending')),
                 0)::double precision
    from ops.outbox
    where status in ('pending', 'processing')
$$;
comment on function ops.outbox_stats() is
'Outbox depth (pending, processing, dead, retrying) and the age in seconds of the oldest
pending job, for metrics. Reads pending/processing rows through their partial indexes.';
revoke execute on function ops.outbox_stats() from public;
grant execute on function ops.outbox_stats() to service_role;

create index outbox_dead_idx on ops.outbox (updated_at) where status = 'dead';

create function ops.replay_dead_outbox(p_id bigint default null) returns int
language sql
set search_path = ''
as $$
    with replayed as (
        update ops.outbox
        set status = 'pending', attempts = 0, run_after = clock_timestamp(),
            updated_at = clock_timestamp()
        where status = 'dead' and (p_id is null or id = p_id)
        returning 1
    )
    select count(*)::int from replayed
$$;
comment on function ops.replay_dead_outbox(bigint) is
'Operator: put one dead job (or all with null) back in the queue with fresh attempts; the
last_error stays until the next attempt. Same idempotency key, so nothing is sent twice.';
revoke execute on function ops.replay_dead_outbox(bigint) from public;
grant execute on function ops.replay_dead_outbox(bigint) to service_role;
