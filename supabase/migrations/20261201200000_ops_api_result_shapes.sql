-- Declared result shapes of the api functions that return jsonb.
--
-- A function returning `jsonb` tells PostgREST, the OpenAPI document, the generated
-- TypeScript types and the Python SDK nothing about its result. ops.api_result_shapes holds,
-- per such function, a JSON Schema (draft 2020-12) of what it returns; the reference
-- generators read it, and tests validate real results against it. A new api function that
-- returns jsonb without a row here fails tests/guards/test_api_result_shapes.py.
-- Rows are written by migrations through ops.declare_result_shape.

create table ops.api_result_shapes (
    object text primary key check (object ~ '^api\.[a-z][a-z0-9_]*$'),
    shape jsonb not null check (jsonb_typeof(shape) = 'object'),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table ops.api_result_shapes is
'The JSON Schema (draft 2020-12) of the result of each api function that returns jsonb,
keyed by the function''s qualified name (api.<fn>). Read by the OpenAPI, TypeScript and
Python SDK generators; written by migrations through ops.declare_result_shape.';
alter table ops.api_result_shapes enable row level security;
create trigger api_result_shapes_touch before update on ops.api_result_shapes
for each row execute function private.touch_updated_at();
create policy api_result_shapes_read on ops.api_result_shapes for select
to anon, authenticated using (true);
grant select on ops.api_result_shapes to anon, authenticated, service_role;

create function ops.declare_result_shape(p_object text, p_shape jsonb) returns void
language sql
set search_path = ''
as $$
    insert into ops.api_result_shapes (object, shape)
    values (p_object, p_shape)
    on conflict (object) do update set shape = excluded.shape
$$;
comment on function ops.declare_result_shape(text, jsonb) is
'Migrations: declare (or replace) the JSON Schema of the jsonb result of api.<fn>.';
revoke execute on function ops.declare_result_shape(text, jsonb) from public;
