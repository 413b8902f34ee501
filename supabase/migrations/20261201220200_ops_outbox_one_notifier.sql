-- ops: at most one transaction at a time wakes the workers.
--
-- A transaction that ran NOTIFY takes one cluster-wide lock at commit (PostgreSQL queues
-- notifications in commit order), so every transaction that enqueued a job committed one
-- after another: at 32 parallel correct CTF submissions, nearly all of them waited on that
-- lock. ops.enqueue now notifies only when no other transaction that is notifying is in
-- flight (a transaction-level advisory lock, tried without waiting). A job whose transaction
-- skipped the notification is claimed by the worker's next claim: workers claim again at once
-- after a batch, once more shortly after the queue looked empty, and at least every
-- SYNC_POLL_INTERVAL.

create or replace function ops.enqueue(
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
    elsif pg_try_advisory_xact_lock(hashtext('ops.outbox'), hashtext('notify')) then
        -- the one notifier in flight (or this transaction again): its commit wakes them
        perform pg_notify('ops_outbox', p_topic);
    end if;
    return v_id;
end;
$$;
comment on function ops.enqueue(text, jsonb, text) is
'Queue a side effect in the caller''s transaction. With a dedupe_key the same job is queued
once per topic (the existing id is returned). Wakes the workers (NOTIFY ops_outbox) unless
another transaction that will wake them is in flight: NOTIFY serialises commits. Definer so
that domain functions can enqueue without clients being able to read or write the outbox.';
