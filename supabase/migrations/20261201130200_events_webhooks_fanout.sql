-- events: fan-out from the outbox, replay, the delivery-log views, and the API-key scopes of
-- every api.events_* object.

-- Fan-out -----------------------------------------------------------------------------------
create function events.fan_out(p_outbox ops.outbox) returns text
language plpgsql
set search_path = ''
as $$
declare
    v_id text;
begin
    if not exists (
        select 1 from ops.event_types as t where t.topic = p_outbox.topic and t.webhooks
    ) or not exists (
        select 1 from events.endpoints as e
        where e.enabled and (e.topics is null or p_outbox.topic = any(e.topics))
    ) then
        return null;
    end if;
    insert into events.messages (id, topic, outbox_id, payload)
    values (
        'msg_' || replace(gen_random_uuid()::text, '-', ''), p_outbox.topic, p_outbox.id,
        jsonb_build_object(
            'type', p_outbox.topic,
            'timestamp', to_char(p_outbox.created_at at time zone 'UTC',
                'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            'data', p_outbox.payload
        )
    )
    on conflict (outbox_id) do nothing
    returning id into v_id;
    if v_id is null then
        select m.id into v_id from events.messages as m where m.outbox_id = p_outbox.id;
        return v_id;  -- already fanned out
    end if;
    insert into events.deliveries (message_id, endpoint_id)
    select v_id, e.id from events.endpoints as e
    where e.enabled and (e.topics is null or p_outbox.topic = any(e.topics));
    return v_id;
end;
$$;
comment on function events.fan_out(ops.outbox) is
'Record the webhook message of an outbox event and queue one delivery per enabled endpoint
subscribed to its topic, if the catalogue lets webhooks subscribe to it and one does
(idempotent per outbox row). The message id, or null when no endpoint receives the event.';
revoke execute on function events.fan_out(ops.outbox) from public;

create function private.events_outbox_fan_out() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform events.fan_out(new);
    return null;
end;
$$;
comment on function private.events_outbox_fan_out() is
'Trigger: fan a new outbox event out to the webhook endpoints (events.fan_out), in the
transaction of the event. Definer: it writes the events schema, which API roles cannot.';
revoke execute on function private.events_outbox_fan_out() from public;

create trigger outbox_webhook_fan_out after insert on ops.outbox
for each row execute function private.events_outbox_fan_out();

-- Replay -----------------------------------------------------------------------------------
create function private.events_requeue(p_endpoint uuid, p_messages text[]) returns int
language plpgsql
set search_path = ''
as $$
declare
    v_count int;
begin
    insert into events.deliveries (message_id, endpoint_id, replay_of)
    select m.id, p_endpoint, (
        select max(d.id) from events.deliveries as d
        where d.message_id = m.id and d.endpoint_id = p_endpoint
    )
    from unnest(p_messages) as m (id)
    on conflict (message_id, endpoint_id) where status in ('pending', 'processing') do nothing;
    get diagnostics v_count = row_count;
    perform pg_notify('events_deliveries', p_endpoint::text);
    return v_count;
end;
$$;
comment on function private.events_requeue(uuid, text[]) is
'Queue the messages again for the endpoint (one new delivery each, replay_of the last one;
skipped where one is still open) and wake the workers. The number queued.';
revoke execute on function private.events_requeue(uuid, text[]) from public;

create function private.events_replayable(p_endpoint_id uuid) returns events.endpoints
language plpgsql stable
set search_path = ''
as $$
declare
    v_endpoint events.endpoints := private.events_manageable_endpoint(p_endpoint_id);
begin
    if not v_endpoint.enabled then
        perform private.raise_error('events_endpoint_disabled',
            'The endpoint is disabled; enable it before replaying.', 'PT403',
            jsonb_build_object('disabled_reason', v_endpoint.disabled_reason));
    end if;
    return v_endpoint;
end;
$$;
comment on function private.events_replayable(uuid) is
'The endpoint, if the caller may manage it and it is enabled (else events_endpoint_disabled).';
revoke execute on function private.events_replayable(uuid) from public;

create function api.events_replay_message(p_endpoint_id uuid, p_message_id text)
returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_endpoint events.endpoints := private.events_replayable(p_endpoint_id);
    v_count int;
begin
    if not exists (
        select 1 from events.deliveries as d
        where d.endpoint_id = v_endpoint.id and d.message_id = p_message_id
    ) then
        perform private.raise_error('events_message_not_found',
            'This endpoint never received that message.', 'PT404');
    end if;
    v_count := private.events_requeue(v_endpoint.id, array[p_message_id]);
    perform private.audit('events.message_replayed', 'webhook_endpoint', v_endpoint.id::text,
        jsonb_build_object('message_id', p_message_id, 'queued', v_count));
    return v_count;
end;
$$;
comment on function api.events_replay_message(uuid, text) is
'Send one message to the endpoint again (same webhook-id, a new signature and timestamp):
1 when queued, 0 when a delivery of it is still open. Errors: not_authenticated, forbidden,
scope_missing, events_endpoint_not_found, events_endpoint_disabled, events_message_not_found.';
revoke execute on function api.events_replay_message(uuid, text) from public, anon;
grant execute on function api.events_replay_message(uuid, text) to authenticated;

create function api.events_replay_since(p_endpoint_id uuid, p_since timestamptz)
returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_endpoint events.endpoints := private.events_replayable(p_endpoint_id);
    v_count int;
begin
    if p_since is null or p_since > now() then
        perform private.arg_error('p_since', 'p_since is a time in the past.');
    end if;
    v_count := private.events_requeue(v_endpoint.id, array(
        select m.id from events.messages as m
        where m.created_at >= p_since and exists (
            select 1 from events.deliveries as d
            where d.message_id = m.id and d.endpoint_id = v_endpoint.id
        )
        order by m.created_at, m.id
        limit 10000
    ));
    perform private.audit('events.messages_replayed', 'webhook_endpoint', v_endpoint.id::text,
        jsonb_build_object('since', p_since, 'queued', v_count));
    return v_count;
end;
$$;
comment on function api.events_replay_since(uuid, timestamptz) is
'Send the endpoint again every message it was sent since p_since (delivered or not), oldest
first, at most 10,000 per call (call again from the last one''s time for more); messages
still being delivered are skipped. The number queued. Errors: not_authenticated, forbidden,
scope_missing, invalid_argument, events_endpoint_not_found, events_endpoint_disabled.';
revoke execute on function api.events_replay_since(uuid, timestamptz) from public, anon;
grant execute on function api.events_replay_since(uuid, timestamptz) to authenticated;

-- Views -------------------------------------------------------------------------------------
create view api.events_endpoints with (security_invoker = true) as
select
    e.id,
    e.owner_id,
    e.url,
    e.description,
    e.topics,
    e.enabled,
    e.disabled_reason,
    e.disabled_at,
    e.failing_since,
    e.created_at,
    e.updated_at
from events.endpoints as e
where (select private.key_may_read('api.events_endpoints'));
comment on view api.events_endpoints is
'Webhook endpoints (admins): url, topic filters (null = every webhook topic), enabled or
disabled (reason manual | failing, since when), failing_since. Never the signing secret.';
grant select on api.events_endpoints to authenticated;

create view api.events_messages with (security_invoker = true) as
select
    m.id,
    m.topic,
    m.payload,
    m.created_at
from events.messages as m
where (select private.key_may_read('api.events_messages'));
comment on view api.events_messages is
'Webhook messages (admins): id (the webhook-id header), topic, the payload sent
{type, timestamp, data}, when the event happened.';
grant select on api.events_messages to authenticated;

create view api.events_deliveries with (security_invoker = true) as
select
    d.id,
    d.message_id,
    d.endpoint_id,
    d.status,
    d.attempts,
    d.max_attempts,
    d.next_attempt_at,
    d.last_status,
    d.last_error,
    d.replay_of,
    d.created_at,
    d.finished_at
from events.deliveries as d
where (select private.key_may_read('api.events_deliveries'));
comment on view api.events_deliveries is
'Webhook deliveries (admins), one per message and endpoint (replays add rows, replay_of):
status pending | processing | delivered | failed | cancelled, attempts, the next attempt,
the last HTTP status and error.';
grant select on api.events_deliveries to authenticated;

create view api.events_delivery_attempts with (security_invoker = true) as
select
    a.id,
    a.delivery_id,
    a.endpoint_id,
    a.message_id,
    a.attempt,
    a.attempted_at,
    a.outcome,
    a.response_status,
    a.latency_ms,
    a.response_body,
    a.error
from events.delivery_attempts as a
where (select private.key_may_read('api.events_delivery_attempts'));
comment on view api.events_delivery_attempts is
'The webhook delivery log (admins): one row per attempt with outcome (delivered | failed),
HTTP status, latency in ms, the first 2 KiB of the response body and the error.';
grant select on api.events_delivery_attempts to authenticated;

-- API-key scopes ----------------------------------------------------------------------------
insert into accounts.api_object_scopes (object, kind, access, scope) values
('api.events_create_endpoint', 'function', 'scope', 'webhooks:manage'),
('api.events_update_endpoint', 'function', 'scope', 'webhooks:manage'),
('api.events_rotate_endpoint_secret', 'function', 'scope', 'webhooks:manage'),
('api.events_delete_endpoint', 'function', 'scope', 'webhooks:manage'),
('api.events_replay_message', 'function', 'scope', 'webhooks:manage'),
('api.events_replay_since', 'function', 'scope', 'webhooks:manage'),
('api.events_endpoints', 'view', 'scope', 'webhooks:manage'),
('api.events_messages', 'view', 'scope', 'webhooks:manage'),
('api.events_deliveries', 'view', 'scope', 'webhooks:manage'),
('api.events_delivery_attempts', 'view', 'scope', 'webhooks:manage');
