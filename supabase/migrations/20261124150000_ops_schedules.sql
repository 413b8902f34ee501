-- ops: periodic jobs, run by the sync worker, and the retention they apply.
--
-- Schedules live in the database so every worker agrees on them and only one runs each
-- (FOR UPDATE SKIP LOCKED): a worker calls ops.run_due_schedules() every few seconds, and
-- each due function runs in its own subtransaction, so one failure never blocks the rest.

create table ops.schedules (
    name text primary key check (name ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'),
    function_name regprocedure not null,
    every interval not null check (every >= interval '10 seconds'),
    enabled boolean not null default true,
    next_run_at timestamptz not null default now(),
    last_run_at timestamptz,
    last_result text,
    last_error text,
    runs bigint not null default 0,
    failures bigint not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table ops.schedules is
'Periodic jobs: a function (callable without arguments) run every `every` by the sync worker
through ops.run_due_schedules(). Disable one with enabled = false.';
create index schedules_due_idx on ops.schedules (next_run_at) where enabled;
alter table ops.schedules enable row level security;
create trigger schedules_touch before update on ops.schedules
for each row execute function private.touch_updated_at();

create function ops.run_due_schedules() returns int
language plpgsql
set search_path = ''
as $$
declare
    v_job record;
    v_result text;
    v_ran int := 0;
begin
    for v_job in
        select s.name, s.function_name::oid as fn, s.every from ops.schedules as s
        where s.enabled and s.next_run_at <= clock_timestamp()
        order by s.next_run_at
        for update skip locked
    loop
        begin
            execute format('select (%s())::text', v_job.fn::regproc) into v_result;
            update ops.schedules set
                last_run_at = clock_timestamp(), last_result = v_result, last_error = null,
                runs = runs + 1, next_run_at = clock_timestamp() + v_job.every
            where name = v_job.name;
        exception when others then
            update ops.schedules set
                last_run_at = clock_timestamp(), last_error = left(sqlerrm, 2000),
                failures = failures + 1, next_run_at = clock_timestamp() + v_job.every
            where name = v_job.name;
        end;
        v_ran := v_ran + 1;
    end loop;
    return v_ran;
end;
$$;
comment on function ops.run_due_schedules() is
'Worker: run every due schedule once (skipping those another worker is running); returns
how many ran. Errors are kept in ops.schedules.last_error.';
revoke execute on function ops.run_due_schedules() from public;
grant execute on function ops.run_due_schedules() to service_role;

-- Retention --------------------------------------------------------------------------------
create function ops.purge_finished_outbox(
    p_done_after interval default interval '7 days',
    p_dead_after interval default interval '30 days'
) returns int
language sql
set search_path = ''
as $$
    with purged as (
        delete from ops.outbox
        where (status = 'done' and processed_at < now() - p_done_after)
           or (status = 'dead' and updated_at < now() - p_dead_after)
        returning 1
    )
    select count(*)::int from purged
$$;
comment on function ops.purge_finished_outbox(interval, interval) is
'Retention: delete delivered jobs after a week and dead letters after a month, so the
outbox stays small (the claim query reads only pending rows either way).';
revoke execute on function ops.purge_finished_outbox(interval, interval) from public;
grant execute on function ops.purge_finished_outbox(interval, interval) to service_role;

create function ops.purge_webhook_receipts(p_after interval default interval '2 days')
returns int
language sql
set search_path = ''
as $$
    with purged as (
        delete from ops.webhook_receipts where received_at < now() - p_after returning 1
    )
    select count(*)::int from purged
$$;
comment on function ops.purge_webhook_receipts(interval) is
'Retention: forget webhook ids long after the signature tolerance window (replays older
than the window are refused by their timestamp anyway).';
revoke execute on function ops.purge_webhook_receipts(interval) from public;
grant execute on function ops.purge_webhook_receipts(interval) to service_role;

insert into ops.schedules (name, function_name, every) values
('ops.purge_finished_outbox', 'ops.purge_finished_outbox(interval, interval)', '1 hour'),
('ops.purge_webhook_receipts', 'ops.purge_webhook_receipts(interval)', '1 hour'),
('learning.close_overdue_attempts', 'private.learning_close_all_overdue()', '1 minute'),
('community.enqueue_digests', 'private.community_enqueue_digests(interval)', '1 hour'),
('billing.sync_due_entitlements', 'billing.sync_due_entitlements()', '5 minutes');
