-- ops basics: the append-only audit log, the transactional outbox, rate-limit counters.

-- Audit log ---------------------------------------------------------------------------------
create table ops.audit_log (
    id bigint generated always as identity primary key,
    occurred_at timestamptz not null default now(),
    actor_id uuid,
    actor_role text,
    action text not null check (action ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
    target_type text,
    target_id text,
    reason text,
    details jsonb not null default '{}',
    request_id text
);
comment on table ops.audit_log is
'Append-only record of privileged actions (who, what, on which object, why). Rows are never
updated or deleted; admins read it through api.ops_audit_log.';
create index audit_log_actor_idx on ops.audit_log (actor_id, occurred_at desc);
create index audit_log_target_idx on ops.audit_log (target_type, target_id, occurred_at desc);
create index audit_log_time_idx on ops.audit_log (occurred_at desc);
alter table ops.audit_log enable row level security;

create function private.forbid_change() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    raise exception using
        errcode = '42501',
        message = format('%s.%s is append-only', tg_table_schema, tg_table_name),
        hint = 'forbidden';
end;
$$;
comment on function private.forbid_change() is
'Trigger: refuses update and delete on append-only tables.';
revoke execute on function private.forbid_change() from public;

create trigger audit_log_append_only before update or delete on ops.audit_log
for each row execute function private.forbid_change();

create function private.audit(
    p_action text,
    p_target_type text,
    p_target_id text,
    p_details jsonb default '{}',
    p_reason text default null
) returns bigint
language sql
security definer
set search_path = ''
as $$
    insert into ops.audit_log (actor_id, actor_role, action, target_type, target_id, reason,
                               details, request_id)
    values (
        (select auth.uid()),
        coalesce((select auth.role()), current_user),
        p_action, p_target_type, p_target_id, p_reason, coalesce(p_details, '{}'),
        -- A request id is recorded only when it has the edge's shape (64 plain characters).
        (
            select h.v from (
                select nullif(current_setting('request.headers', true), '')::jsonb
                ->> 'x-request-id' as v
            ) as h
            where h.v ~ '^[A-Za-z0-9._:-]{1,64}$'
        )
    )
    returning id
$$;
comment on function private.audit(text, text, text, jsonb, text) is
'Append an audit row for the current caller. Definer because callers cannot write
ops.audit_log; only definer functions (which already checked the caller) call it.';
revoke execute on function private.audit(text, text, text, jsonb, text) from public;

-- Outbox ------------------------------------------------------------------------------------
create table ops.outbox (
    id bigint generated always as identity primary key,
    topic text not null check (topic ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
    payload jsonb not null default '{}',
    dedupe_key text check (length(dedupe_key) <= 200),
    status text not null default 'pending'
    check (status in ('pending', 'processing', 'done', 'dead')),
    attempts int not null default 0,
    max_attempts int not null default 8 check (max_attempts between 1 and 100),
    run_after timestamptz not null default now(),
    locked_by text,
    locked_at timestamptz,
    last_error text,
    processed_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table ops.outbox is
'Transactional outbox: side effects (email, webhooks, AI jobs) written in the same transaction
as the change and delivered at least once by the sync worker. dedupe_key makes enqueueing
idempotent per topic.';
create unique index outbox_dedupe_idx on ops.outbox (topic, dedupe_key)
where dedupe_key is not null;
-- The claim query reads only pending rows: delivered rows never slow it down.
create index outbox_pending_idx on ops.outbox (run_after, id) where status = 'pending';
create index outbox_processing_idx on ops.outbox (locked_at) where status = 'processing';
create index outbox_finished_idx on ops.outbox (processed_at) where status = 'done';
alter table ops.outbox enable row level security;

create function ops.enqueue(
    p_topic text, p_payload jsonb default '{}', p_dedupe_key text default null
) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_id bigint;
begin
    insert into ops.outbox (topic, payload, dedupe_key)
    values (p_topic, coalesce(p_payload, '{}'), p_dedupe_key)
    on conflict (topic, dedupe_key) where dedupe_key is not null do nothing
    returning id into v_id;
    if v_id is null then
        select o.id into v_id from ops.outbox as o
        where o.topic = p_topic and o.dedupe_key = p_dedupe_key;
    else
        perform pg_notify('ops_outbox', p_topic);
    end if;
    return v_id;
end;
$$;
comment on function ops.enqueue(text, jsonb, text) is
'Queue a side effect in the caller''s transaction. With a dedupe_key the same job is queued
once per topic (the existing id is returned). Definer so that domain functions can enqueue
without clients being able to read or write the outbox.';
revoke execute on function ops.enqueue(text, jsonb, text) from public;
grant execute on function ops.enqueue(text, jsonb, text) to service_role;

create function ops.claim_outbox(
    p_worker text, p_limit int default 10, p_topics text[] default null
) returns setof ops.outbox
language sql
set search_path = ''
as $$
    update ops.outbox as o
    set status = 'processing', locked_by = p_worker, locked_at = clock_timestamp(),
        attempts = o.attempts + 1, updated_at = clock_timestamp()
    where o.id in (
        select c.id from ops.outbox as c
        where c.status = 'pending' and c.run_after <= clock_timestamp()
          and (p_topics is null or c.topic = any(p_topics))
        order by c.run_after, c.id
        limit greatest(1, least(p_limit, 500))
        for update skip locked
    )
    returning o.*
$$;
comment on function ops.claim_outbox(text, int, text[]) is
'Worker: claim up to p_limit due jobs (FOR UPDATE SKIP LOCKED, so workers never share one).';

create function ops.complete_outbox(p_id bigint) returns void
language sql
set search_path = ''
as $$
    update ops.outbox
    set status = 'done', processed_at = clock_timestamp(), updated_at = clock_timestamp(),
        locked_by = null, locked_at = null, last_error = null
    where id = p_id and status = 'processing'
$$;
comment on function ops.complete_outbox(bigint) is 'Worker: mark a claimed job delivered.';

create function ops.fail_outbox(p_id bigint, p_error text, p_retry_in interval) returns text
language sql
set search_path = ''
as $$
    update ops.outbox
    set status = case when attempts >= max_attempts then 'dead' else 'pending' end,
        run_after = clock_timestamp() + greatest(p_retry_in, interval '0'),
        last_error = left(p_error, 2000), locked_by = null, locked_at = null,
        updated_at = clock_timestamp()
    where id = p_id and status = 'processing'
    returning status
$$;
comment on function ops.fail_outbox(bigint, text, interval) is
'Worker: record a failed delivery; retried after p_retry_in, or dead after max_attempts.';

create function ops.release_stale_outbox(p_timeout interval default interval '5 minutes')
returns int
language sql
set search_path = ''
as $$
    with released as (
        update ops.outbox
        set status = 'pending', locked_by = null, locked_at = null,
            updated_at = clock_timestamp(), last_error = 'released: worker lost its claim'
        where status = 'processing' and locked_at < clock_timestamp() - p_timeout
        returning 1
    )
    select count(*)::int from released
$$;
comment on function ops.release_stale_outbox(interval) is
'Worker: give back jobs whose worker died mid-delivery (at-least-once delivery).';

revoke execute on function ops.claim_outbox(text, int, text[]) from public;
revoke execute on function ops.complete_outbox(bigint) from public;
revoke execute on function ops.fail_outbox(bigint, text, interval) from public;
revoke execute on function ops.release_stale_outbox(interval) from public;
grant execute on function ops.claim_outbox(text, int, text[]),
ops.complete_outbox(bigint), ops.fail_outbox(bigint, text, interval),
ops.release_stale_outbox(interval) to service_role;
grant select, update on ops.outbox to service_role;

-- Rate limits -------------------------------------------------------------------------------
create table ops.rate_limits (
    key text primary key check (length(key) <= 200),
    window_start timestamptz not null,
    hits int not null
);
comment on table ops.rate_limits is
'Fixed-window counters, one small row per key: checking a limit never scans history.';
alter table ops.rate_limits enable row level security;

create function private.rate_limit(p_key text, p_max int, p_window interval) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_hits int;
    v_start timestamptz;
begin
    insert into ops.rate_limits as r (key, window_start, hits)
    values (p_key, now(), 1)
    on conflict (key) do update
    set hits = case when r.window_start + p_window <= now() then 1 else r.hits + 1 end,
        window_start = case when r.window_start + p_window <= now() then now()
                            else r.window_start end
    returning hits, window_start into v_hits, v_start;
    if v_hits > p_max then
        perform private.raise_error(
            'rate_limited',
            'Too many requests; try again later.',
            'PT429',
            jsonb_build_object(
                'retry_after',
                greatest(1, ceil(extract(epoch from (v_start + p_window - now()))))::int
            )
        );
    end if;
end;
$$;
comment on function private.rate_limit(text, int, interval) is
'Count one hit for p_key; raise PT429 rate_limited with details.retry_after (seconds) when
more than p_max hits fall in the current window. Definer: callers cannot touch the counters.';
revoke execute on function private.rate_limit(text, int, interval) from public;
grant execute on function private.rate_limit(text, int, interval) to authenticated, service_role;
