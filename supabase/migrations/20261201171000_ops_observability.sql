-- ops: what operations see — the request id carried into outbox jobs, database statement
-- statistics (pg_stat_statements, when installed), replica lag and failing webhook
-- endpoints, for /metrics.

-- Request ids -----------------------------------------------------------------------------------
create function private.current_request_id() returns text
language sql stable
set search_path = ''
as $$
    -- The id the edge or the gateway put in request.headers, when it has their shape
    -- (1-64 plain characters: safe in logs and headers).
    select h.v from (
        select nullif(current_setting('request.headers', true), '')::jsonb
        ->> 'x-request-id' as v
    ) as h
    where h.v ~ '^[A-Za-z0-9._:-]{1,64}$'
$$;
comment on function private.current_request_id() is
'The current request''s X-Request-Id (from request.headers), or null outside a request or
when it is not 1-64 plain characters.';
revoke execute on function private.current_request_id() from public;

alter table ops.outbox add column request_id text default private.current_request_id();
comment on column ops.outbox.request_id is
'X-Request-Id of the request whose transaction queued the job (null for schedules and
direct SQL); the worker logs it with every line about the job and sends it to Sentry.';

-- Database statistics for /metrics --------------------------------------------------------------
create function ops.statement_stats(p_limit int default 20) returns jsonb
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_schema name;
    v_rows jsonb;
begin
    select n.nspname into v_schema
    from pg_catalog.pg_extension as e
    join pg_catalog.pg_namespace as n on n.oid = e.extnamespace
    where e.extname = 'pg_stat_statements';
    if v_schema is null then
        return jsonb_build_object('available', false, 'reason', 'extension not installed');
    end if;
    begin
        execute format(
            'select coalesce(jsonb_agg(jsonb_build_object(''queryid'', s.queryid::text,'
            ' ''query'', left(regexp_replace(s.query, ''\s+'', '' '', ''g''), 200),'
            ' ''calls'', s.calls, ''total_ms'', s.total_exec_time,'
            ' ''mean_ms'', s.mean_exec_time, ''rows'', s.rows)'
            ' order by s.total_exec_time desc), ''[]''::jsonb)'
            ' from (select * from %I.pg_stat_statements as x'
            ' where x.dbid = (select oid from pg_catalog.pg_database'
            ' where datname = current_database())'
            ' order by x.total_exec_time desc limit $1) as s',
            v_schema
        ) into v_rows using least(greatest(coalesce(p_limit, 20), 1), 100);
    exception when object_not_in_prerequisite_state or undefined_table
        or undefined_column then
        -- installed but not in shared_preload_libraries, or an older version
        return jsonb_build_object('available', false, 'reason', sqlerrm);
    end;
    return jsonb_build_object('available', true, 'statements', v_rows);
end;
$$;
comment on function ops.statement_stats(int) is
'The p_limit (1-100) statements of this database with the most execution time, from
pg_stat_statements: queryid, normalised query text (200 characters), calls, total and mean
milliseconds, rows. {"available": false, "reason"} when the extension is not installed or
not loaded (it is optional). For the edge''s /metrics (service_role).';

create function ops.replica_lag() returns jsonb
language sql stable
security definer
set search_path = ''
as $$
    select case when pg_catalog.pg_is_in_recovery() then jsonb_build_object(
        'standby', true,
        'replicas', jsonb_build_array(jsonb_build_object('replica', 'self',
            'lag_seconds', coalesce(extract(epoch from now()
                - pg_catalog.pg_last_xact_replay_timestamp()), 0))))
    else jsonb_build_object('standby', false, 'replicas', coalesce((
        select jsonb_agg(jsonb_build_object('replica', r.application_name,
            'lag_seconds', coalesce(extract(epoch from r.replay_lag), 0)))
        from pg_catalog.pg_stat_replication as r
    ), '[]'::jsonb))
    end
$$;
comment on function ops.replica_lag() is
'Replication lag in seconds: on a primary one entry per streaming replica
(pg_stat_replication.replay_lag), on a standby its own replay delay. For /metrics.';

create function ops.webhook_endpoint_health() returns jsonb
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_rows jsonb;
begin
    -- events.endpoints belongs to the outgoing webhooks (a later migration may add it)
    if to_regclass('events.endpoints') is null then
        return '[]'::jsonb;
    end if;
    execute 'select coalesce(jsonb_agg(jsonb_build_object(''endpoint'', x.id::text,'
        ' ''failing_seconds'', coalesce(extract(epoch from now() - x.failing_since), 0),'
        ' ''enabled'', x.disabled_at is null)), ''[]''::jsonb)'
        ' from (select e.id, e.failing_since, e.disabled_at from events.endpoints as e'
        ' order by e.failing_since nulls last, e.id limit 100) as x'
    into v_rows;
    return v_rows;
end;
$$;
comment on function ops.webhook_endpoint_health() is
'Outgoing webhook endpoints (at most 100, failing longest first): endpoint id, seconds since
deliveries to it started failing (0 when healthy), enabled. An empty array until webhook
endpoints exist. For /metrics.';

revoke execute on function ops.webhook_endpoint_health() from public;
grant execute on function ops.webhook_endpoint_health() to service_role;
revoke execute on function ops.statement_stats(int) from public;
revoke execute on function ops.replica_lag() from public;
grant execute on function ops.statement_stats(int), ops.replica_lag() to service_role;
