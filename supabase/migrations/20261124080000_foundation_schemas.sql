-- Foundation: the schemas every domain builds on, and the one error shape.
--
-- `api` is the only schema PostgREST exposes (see config.toml); domain schemas hold the
-- tables; `private` holds helpers that no client can reach through the API.

create schema if not exists api;
comment on schema api is
'Flagship API v1: the only schema PostgREST exposes. Changes inside v1 are additive only;
a breaking change ships as api_v2 beside it.';
grant usage on schema api to anon, authenticated, service_role;

create schema if not exists private;
comment on schema private is
'Helpers for policies and definer functions; never exposed through PostgREST.';
-- Policies evaluated as the caller may call the few helpers granted below.
grant usage on schema private to anon, authenticated, service_role;

create schema if not exists ops;
comment on schema ops is
'Operations: audit log, transactional outbox, rate-limit counters, error catalogue.';
-- anon and authenticated read ops.error_codes through the api.ops_error_codes invoker view.
grant usage on schema ops to anon, authenticated, service_role;

-- Every error the API raises is listed here: a stable code (in the error hint), the
-- SQLSTATE that PostgREST maps to an HTTP status, and what it means.
create table ops.error_codes (
    code text primary key check (code ~ '^[a-z][a-z0-9_]*$'),
    sqlstate text not null check (sqlstate ~ '^[0-9A-Z]{5}$'),
    http_status int not null check (http_status between 400 and 599),
    description text not null
);
comment on table ops.error_codes is
'Catalogue of API error codes. Each RPC failure carries one of these codes in the hint field;
tests check that every code raised in SQL appears here.';
alter table ops.error_codes enable row level security;
create policy error_codes_read on ops.error_codes for select to anon, authenticated using (true);
grant select on ops.error_codes to anon, authenticated, service_role;

insert into ops.error_codes (code, sqlstate, http_status, description) values
('not_authenticated', '42501', 401, 'The call needs a signed-in user.'),
('forbidden', '42501', 403, 'The caller may not do this.'),
('invalid_argument', '22023', 400, 'An argument is missing or malformed; see details.'),
('not_found', 'PT404', 404, 'The object does not exist or is not visible to the caller.'),
('conflict', 'PT409', 409, 'The change conflicts with the current state.'),
('rate_limited', 'PT429', 429, 'Too many calls; retry after details.retry_after seconds.');

create view api.ops_error_codes with (security_invoker = true) as
select
    code,
    sqlstate,
    http_status,
    description
from ops.error_codes;
comment on view api.ops_error_codes is
'The API error catalogue: code (in the error hint), SQLSTATE, HTTP status and meaning.';
grant select on api.ops_error_codes to anon, authenticated, service_role;

-- The one way SQL raises an API error: message for humans, code in the hint,
-- machine-readable details as JSON in the detail field.
create function private.raise_error(
    p_code text, p_message text, p_sqlstate text default 'P0001', p_details jsonb default null
) returns void
language plpgsql
set search_path = ''
as $$
begin
    raise exception using
        errcode = p_sqlstate,
        message = p_message,
        hint = p_code,
        detail = coalesce(p_details::text, '');
end;
$$;
comment on function private.raise_error(text, text, text, jsonb) is
'Raise an API error: message for humans, stable code in the hint, JSON details in detail.';
revoke execute on function private.raise_error(text, text, text, jsonb) from public;
grant execute on function private.raise_error(text, text, text, jsonb)
to anon, authenticated, service_role;
