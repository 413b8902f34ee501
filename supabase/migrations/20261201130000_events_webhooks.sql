-- events: outgoing webhooks (Standard Webhooks) — endpoints, their signing secrets, messages
-- (one per webhook-eligible outbox event) and deliveries (one per message and endpoint), with
-- the delivery log. The worker (sync/webhooks.py) claims due deliveries, signs and sends them,
-- and records each attempt through the events.* worker functions below.
--
-- Secrets: `whsec_` + base64 of 32 random bytes, returned once by the api RPC that creates or
-- rotates them. events.endpoint_secrets is granted to no API role (no view, no policy): only
-- the migration owner — the role the worker connects as — reads it, inside
-- events.claim_deliveries, which is likewise granted to no API role.
--
-- Delivery is at least once: a claim is a row lock (FOR UPDATE SKIP LOCKED on the partial
-- index of pending rows, so delivered rows never slow it) turned into status 'processing';
-- a worker that dies mid-delivery leaves the row to events.release_stale_deliveries. The
-- webhook-id header is the message id, the same for every attempt and replay: receivers
-- deduplicate on it.

create schema if not exists events;
comment on schema events is
'Outgoing webhooks: endpoints, signing secrets, messages, deliveries and the delivery log.
Not exposed: api.events_* views and RPCs are the interface.';
-- The api views are security_invoker: their callers need usage (RLS decides the rows).
grant usage on schema events to authenticated, service_role;

insert into ops.error_codes (code, sqlstate, http_status, description) values
('events_endpoint_not_found', 'PT404', 404, 'No such webhook endpoint.'),
('events_message_not_found', 'PT404', 404, 'No such webhook message for this endpoint.'),
(
    'events_url_refused', '22023', 400,
    'The endpoint URL is refused: http(s) only, no credentials or fragment, no private, '
    || 'loopback, link-local or metadata address; details.reason says why.'
),
(
    'events_topic_unknown', '22023', 400,
    'A topic filter names no webhook topic of the event catalogue; details.topic names it.'
),
(
    'events_endpoint_disabled', 'PT403', 403,
    'The endpoint is disabled: enable it (api.events_update_endpoint) before replaying.'
),
('events_endpoint_limit', 'PT409', 409, 'Too many webhook endpoints (100 per platform).');

-- Endpoints -------------------------------------------------------------------------------
create table events.endpoints (
    id uuid primary key default gen_random_uuid(),
    owner_id uuid not null references auth.users (id) on delete cascade,
    url text not null check (char_length(url) between 8 and 2000),
    description text not null default '' check (char_length(description) <= 500),
    -- null: every topic webhooks may subscribe to; else the catalogue topics listed.
    topics text[] check (topics is null or cardinality(topics) between 1 and 100),
    enabled boolean not null default true,
    disabled_reason text check (disabled_reason in ('manual', 'failing')),
    disabled_at timestamptz,
    -- First failed attempt since the last success: after 5 days of failures the endpoint is
    -- disabled (reason 'failing') and its owner emailed.
    failing_since timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check (enabled = (disabled_reason is null)),
    check (enabled = (disabled_at is null))
);
comment on table events.endpoints is
'Webhook endpoints: where events are delivered (url), which topics (null = every webhook
topic), enabled or disabled with the reason (manual | failing), the owner (an admin, emailed
when the endpoint is disabled for failing). Written only by the api.events_* RPCs and the
worker functions.';
create index endpoints_owner_idx on events.endpoints (owner_id);
create index endpoints_enabled_idx on events.endpoints (id) where enabled;
alter table events.endpoints enable row level security;
create trigger endpoints_touch before update on events.endpoints
for each row execute function private.touch_updated_at();

create table events.endpoint_secrets (
    id bigint generated always as identity primary key,
    endpoint_id uuid not null references events.endpoints (id) on delete cascade,
    secret text not null check (secret ~ '^whsec_[A-Za-z0-9+/]{43}=$'),
    created_at timestamptz not null default now(),
    -- null: the current secret; a rotated-out secret keeps signing until expires_at.
    expires_at timestamptz
);
comment on table events.endpoint_secrets is
'Signing secrets of webhook endpoints (whsec_ + base64 of 32 random bytes). The current one
has expires_at null; during a rotation the previous one signs too until its expires_at.
Granted to no API role and shown in no view: a secret is shown once, by the RPC that made it.';
create index endpoint_secrets_endpoint_idx on events.endpoint_secrets (endpoint_id, created_at);
create unique index endpoint_secrets_current_idx on events.endpoint_secrets (endpoint_id)
where expires_at is null;
alter table events.endpoint_secrets enable row level security;

-- Messages and deliveries ---------------------------------------------------------------------
create table events.messages (
    id text primary key check (id ~ '^msg_[0-9a-f]{32}$'),
    topic text not null,
    outbox_id bigint unique,  -- no foreign key: delivered outbox rows may be pruned
    payload jsonb not null check (payload ?& array['type', 'timestamp', 'data']),
    created_at timestamptz not null default now()
);
comment on table events.messages is
'One row per webhook-eligible event: the documented payload {type, timestamp, data} and the id
sent as webhook-id (the receivers'' idempotency key, the same for every attempt and replay).';
create index messages_created_idx on events.messages (created_at, id);
alter table events.messages enable row level security;

create table events.deliveries (
    id bigint generated always as identity primary key,
    message_id text not null references events.messages (id) on delete cascade,
    endpoint_id uuid not null references events.endpoints (id) on delete cascade,
    status text not null default 'pending'
    check (status in ('pending', 'processing', 'delivered', 'failed', 'cancelled')),
    attempts int not null default 0,
    max_attempts int not null default 8 check (max_attempts between 1 and 20),
    next_attempt_at timestamptz not null default now(),
    locked_by text,
    locked_at timestamptz,
    last_status int,
    last_error text,
    replay_of bigint references events.deliveries (id) on delete set null,
    finished_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table events.deliveries is
'One message to one endpoint: pending (due at next_attempt_at), processing (claimed by
locked_by), delivered, failed (every attempt failed) or cancelled (endpoint disabled). A
replay is a new row with replay_of; at most one open (pending or processing) row per message
and endpoint.';
-- The claim reads only pending rows: delivered rows never slow it down.
create index deliveries_pending_idx on events.deliveries (next_attempt_at, id)
where status = 'pending';
create index deliveries_processing_idx on events.deliveries (locked_at)
where status = 'processing';
create unique index deliveries_open_idx on events.deliveries (message_id, endpoint_id)
where status in ('pending', 'processing');
create index deliveries_message_idx on events.deliveries (message_id);
create index deliveries_endpoint_idx on events.deliveries (endpoint_id, created_at desc);
create index deliveries_replay_of_idx on events.deliveries (replay_of) where replay_of is not null;
alter table events.deliveries enable row level security;

create table events.delivery_attempts (
    id bigint generated always as identity primary key,
    delivery_id bigint not null references events.deliveries (id) on delete cascade,
    endpoint_id uuid not null references events.endpoints (id) on delete cascade,
    message_id text not null,
    attempt int not null,
    attempted_at timestamptz not null,
    outcome text not null check (outcome in ('delivered', 'failed')),
    response_status int,
    latency_ms int not null check (latency_ms >= 0),
    response_body text check (char_length(response_body) <= 2048),
    error text check (char_length(error) <= 1000),
    worker text
);
comment on table events.delivery_attempts is
'The delivery log: one row per attempt — outcome, HTTP status, latency, the first 2 KiB of
the response body, the error (timeout, connection reset, refused destination ...).';
create index delivery_attempts_delivery_idx on events.delivery_attempts (delivery_id);
create index delivery_attempts_endpoint_idx on events.delivery_attempts (
    endpoint_id, attempted_at desc
);
alter table events.delivery_attempts enable row level security;

-- Secrets -----------------------------------------------------------------------------------
create function private.events_new_secret() returns text
language sql volatile
set search_path = ''
as $$
    -- 32 bytes: sha256 over three random UUIDs (366 random bits; no pgcrypto needed).
    select 'whsec_' || encode(sha256(
        uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid())
        || uuid_send(gen_random_uuid())
    ), 'base64')
$$;
comment on function private.events_new_secret() is
'A new endpoint signing secret: whsec_ + base64 of 32 random bytes (Standard Webhooks).';
revoke execute on function private.events_new_secret() from public;

-- Worker functions (the worker's own role only; never granted to an API role) ---------------
create function events.claim_deliveries(p_worker text, p_limit int default 50)
returns table (
    delivery_id bigint,
    message_id text,
    endpoint_id uuid,
    url text,
    attempt int,
    max_attempts int,
    body text,
    secrets text[]
)
language sql
set search_path = ''
as $$
    with claimed as (
        update events.deliveries as d
        set status = 'processing', locked_by = p_worker, locked_at = clock_timestamp(),
            attempts = d.attempts + 1, updated_at = clock_timestamp()
        where d.id in (
            select c.id from events.deliveries as c
            where c.status = 'pending' and c.next_attempt_at <= clock_timestamp()
            order by c.next_attempt_at, c.id
            limit greatest(1, least(p_limit, 500))
            for update skip locked
        )
        returning d.id, d.message_id, d.endpoint_id, d.attempts, d.max_attempts
    )
    select
        c.id, c.message_id, c.endpoint_id, e.url, c.attempts, c.max_attempts, m.payload::text,
        array(
            select s.secret from events.endpoint_secrets as s
            where s.endpoint_id = c.endpoint_id
              and (s.expires_at is null or s.expires_at > clock_timestamp())
            order by s.created_at desc
        )
    from claimed as c
    join events.endpoints as e on e.id = c.endpoint_id
    join events.messages as m on m.id = c.message_id
$$;
comment on function events.claim_deliveries(text, int) is
'Worker: claim up to p_limit due deliveries (FOR UPDATE SKIP LOCKED on the pending index, so
two workers never hold the same one) with the URL, the body and the signing secrets (current
first, then those of a rotation overlap). Granted to no API role: it returns secrets.';

create function private.events_results(p_worker text, p_results jsonb)
returns table (
    id bigint, endpoint_id uuid, message_id text, attempt int, max_attempts int, ok boolean,
    status int, latency_ms int, body text, error text, retry_in_ms bigint,
    attempted_at timestamptz
)
language sql stable
set search_path = ''
as $$
    select d.id, d.endpoint_id, d.message_id, d.attempts, d.max_attempts, coalesce(r.ok, false),
        r.status, greatest(coalesce(r.latency_ms, 0), 0), left(r.body, 2048), left(r.error, 1000),
        greatest(coalesce(r.retry_in_ms, 0), 0), coalesce(r.attempted_at, clock_timestamp())
    from jsonb_to_recordset(p_results) as r (
        id bigint, ok boolean, status int, latency_ms int, body text, error text,
        retry_in_ms bigint, attempted_at timestamptz
    )
    join events.deliveries as d
        on d.id = r.id and d.status = 'processing' and d.locked_by = p_worker
$$;
comment on function private.events_results(text, jsonb) is
'The worker''s results (a JSON array) joined to the deliveries p_worker still holds.';
revoke execute on function private.events_results(text, jsonb) from public;

create function events.finish_deliveries(
    p_worker text, p_results jsonb, p_disable_after interval default interval '5 days'
) returns int
language plpgsql
set search_path = ''
as $$
declare
    v_done int;
begin
    insert into events.delivery_attempts (delivery_id, endpoint_id, message_id, attempt,
        attempted_at, outcome, response_status, latency_ms, response_body, error, worker)
    select r.id, r.endpoint_id, r.message_id, r.attempt, r.attempted_at,
        case when r.ok then 'delivered' else 'failed' end, r.status, r.latency_ms, r.body,
        r.error, p_worker
    from private.events_results(p_worker, p_results) as r;

    -- An endpoint fails from its first failed attempt until its next success.
    update events.endpoints as e
    set failing_since = f.failing_since
    from (
        select x.endpoint_id, case
                when bool_or(x.ok) then null
                else coalesce(min(e2.failing_since), min(x.attempted_at))
            end as failing_since
        from private.events_results(p_worker, p_results) as x
        join events.endpoints as e2 on e2.id = x.endpoint_id
        group by x.endpoint_id
    ) as f
    where e.id = f.endpoint_id and e.failing_since is distinct from f.failing_since;

    update events.deliveries as d
    set status = case
            when r.ok then 'delivered'
            when r.attempt >= r.max_attempts then 'failed'
            when not e.enabled then 'cancelled'
            else 'pending'
        end,
        next_attempt_at = case
            when r.ok or r.attempt >= r.max_attempts or not e.enabled then d.next_attempt_at
            else clock_timestamp() + make_interval(secs => r.retry_in_ms / 1000.0)
        end,
        finished_at = case
            when r.ok or r.attempt >= r.max_attempts or not e.enabled then clock_timestamp()
        end,
        last_status = r.status, last_error = r.error, locked_by = null, locked_at = null,
        updated_at = clock_timestamp()
    from private.events_results(p_worker, p_results) as r, events.endpoints as e
    where d.id = r.id and e.id = r.endpoint_id;
    get diagnostics v_done = row_count;

    perform private.events_disable_failing(p_disable_after);
    return v_done;
end;
$$;
comment on function events.finish_deliveries(text, jsonb, interval) is
'Worker: record the outcome of claimed deliveries, one JSON object per delivery {id, ok,
status, latency_ms, body, error, retry_in_ms, attempted_at}: a delivery-log row each;
delivered, failed after max_attempts, cancelled (endpoint disabled meanwhile) or pending
again after retry_in_ms. Only rows still claimed by p_worker are touched. Endpoints failing
for p_disable_after are then disabled. The number of deliveries recorded.';

create function private.events_disable_failing(p_after interval) returns int
language plpgsql
set search_path = ''
as $$
declare
    v_endpoint events.endpoints;
    v_count int := 0;
begin
    for v_endpoint in
        update events.endpoints
        set enabled = false, disabled_reason = 'failing', disabled_at = clock_timestamp()
        where enabled and failing_since <= clock_timestamp() - p_after
        returning *
    loop
        v_count := v_count + 1;
        perform private.events_cancel_open(v_endpoint.id, 'endpoint disabled: failing');
        perform ops.enqueue('email.send', jsonb_build_object(
            'template', 'webhook_endpoint_disabled',
            'user_id', v_endpoint.owner_id,
            'category', 'account',
            'object', jsonb_build_object('type', 'webhook_endpoint', 'id', v_endpoint.id),
            'data', jsonb_build_object(
                'endpoint_id', v_endpoint.id,
                'url', v_endpoint.url,
                'description', v_endpoint.description,
                'failing_since', v_endpoint.failing_since,
                'disabled_at', v_endpoint.disabled_at
            )
        ), 'webhook_endpoint_disabled:' || v_endpoint.id || ':' || v_endpoint.disabled_at);
    end loop;
    return v_count;
end;
$$;
comment on function private.events_disable_failing(interval) is
'Disable (reason failing) every enabled endpoint whose attempts have all failed for p_after,
cancel its open deliveries and email its owner (email.send, template
webhook_endpoint_disabled). The number disabled.';
revoke execute on function private.events_disable_failing(interval) from public;

create function private.events_cancel_open(p_endpoint uuid, p_reason text) returns int
language sql
set search_path = ''
as $$
    with cancelled as (
        update events.deliveries
        set status = 'cancelled', last_error = p_reason, finished_at = clock_timestamp(),
            locked_by = null, locked_at = null, updated_at = clock_timestamp()
        where endpoint_id = p_endpoint and status = 'pending'
        returning 1
    )
    select count(*)::int from cancelled
$$;
comment on function private.events_cancel_open(uuid, text) is
'Cancel the pending deliveries of an endpoint (it was disabled); in-flight ones finish.';
revoke execute on function private.events_cancel_open(uuid, text) from public;

create function events.release_stale_deliveries(p_timeout interval default interval '5 minutes')
returns int
language sql
set search_path = ''
as $$
    with released as (
        update events.deliveries
        set status = 'pending', locked_by = null, locked_at = null,
            next_attempt_at = clock_timestamp(), updated_at = clock_timestamp(),
            last_error = 'released: worker lost its claim'
        where status = 'processing' and locked_at < clock_timestamp() - p_timeout
        returning 1
    )
    select count(*)::int from released
$$;
comment on function events.release_stale_deliveries(interval) is
'Worker: give back deliveries whose worker died mid-delivery (at least once: the receiver may
see the message again, with the same webhook-id).';

revoke execute on function events.claim_deliveries(text, int) from public;
revoke execute on function events.finish_deliveries(text, jsonb, interval) from public;
revoke execute on function events.release_stale_deliveries(interval) from public;
