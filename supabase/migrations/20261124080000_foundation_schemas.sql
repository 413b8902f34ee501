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
('rate_limited', 'PT429', 429, 'Too many calls; retry after details.retry_after seconds.'),
('text_too_long', '22023', 400, 'A text is over its size limit; details.field and details.max.');

-- API-key scope of a view ------------------------------------------------------------------
-- Every api view ends its WHERE with `(select private.key_may_read('api.<view>'))`: one
-- initplan per statement that is true for sessions, anon and service_role, and for an API key
-- token refuses (scope_missing) unless the key holds the view's read scope. The pre-request
-- function sees only the top-level object of a request; this check also covers views read
-- through embedding (`select=*,other_view(*)`), from SQL, or inside other functions.
-- Late-bound: private.require_scope is defined with the scope declarations (accounts).
create function private.key_may_read(p_view text) returns boolean
language plpgsql stable
set search_path = ''
as $$
declare
    v_stack text;
begin
    if not coalesce((select auth.jwt()) ? 'api_key_id', false) then
        return true;
    end if;
    get diagnostics v_stack = pg_context;
    if v_stack ~ 'function api\.[a-z0-9_]+\(' then
        -- Read inside an api function: that function's scope governs what it reads.
        perform private.require_calling_scope();
    else
        perform private.require_scope(p_view, 'GET');
    end if;
    return true;
end;
$$;
comment on function private.key_may_read(text) is
'True, or scope_missing (403) when an API key token lacks the read scope of api view p_view
(accounts.api_object_scopes); inside an api function, the scopes of the functions on the call
stack govern instead. Called once per statement from the WHERE of every api view.';
revoke execute on function private.key_may_read(text) from public;
grant execute on function private.key_may_read(text) to anon, authenticated, service_role;

create view api.ops_error_codes with (security_invoker = true) as
select
    code,
    sqlstate,
    http_status,
    description
from ops.error_codes
where (select private.key_may_read('api.ops_error_codes'));
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

-- Argument validation: the one family every domain uses ----------------------------------
-- Every RPC validates its arguments with these (never a domain-local copy): a bad argument
-- is invalid_argument (22023, 400) with details.field naming it; text over its limit is
-- text_too_long with details.max. A guard test refuses new domain-local validators.

create function private.arg_error(p_field text, p_message text) returns void
language plpgsql
set search_path = ''
as $$
begin
    perform private.raise_error('invalid_argument', p_message, '22023',
        jsonb_build_object('field', p_field));
end;
$$;
comment on function private.arg_error(text, text) is
'Raise invalid_argument (22023) with details.field naming the offending argument or field.';

create function private.arg_keys(p_obj jsonb, p_allowed text[]) returns void
language plpgsql immutable
set search_path = ''
as $$
declare
    v_key text;
begin
    if p_obj is null or jsonb_typeof(p_obj) <> 'object' then
        perform private.raise_error('invalid_argument', 'Pass a JSON object of fields.', '22023');
    end if;
    for v_key in select jsonb_object_keys(p_obj) loop
        if not v_key = any(p_allowed) then
            perform private.arg_error(v_key, format('%s is not a known field.', v_key));
        end if;
    end loop;
end;
$$;
comment on function private.arg_keys(jsonb, text[]) is
'Refuse a non-object argument and any key not in p_allowed (invalid_argument, details.field).';

create function private.arg_field(p_obj jsonb, p_key text, p_type text) returns text
language plpgsql immutable
set search_path = ''
as $$
declare
    v jsonb := p_obj -> p_key;
    v_text text;
    v_ok boolean := true;
begin
    if v is null or jsonb_typeof(v) = 'null' then
        return null;
    end if;
    v_text := v #>> '{}';
    begin
        case p_type
            when 'text' then v_ok := jsonb_typeof(v) = 'string';
            when 'int' then v_ok := jsonb_typeof(v) = 'number' and v_text ~ '^-?[0-9]{1,9}$';
            when 'bool' then v_ok := jsonb_typeof(v) = 'boolean';
            when 'timestamptz' then
                v_ok := jsonb_typeof(v) = 'string' and v_text::timestamptz is not null;
            when 'interval' then
                v_ok := jsonb_typeof(v) = 'string' and v_text::interval is not null;
            when 'uuid' then v_ok := jsonb_typeof(v) = 'string' and v_text::uuid is not null;
            when 'text[]' then
                v_ok := jsonb_typeof(v) = 'array' and not exists (
                    select 1 from jsonb_array_elements(v) as e(x)
                    where jsonb_typeof(e.x) <> 'string' or char_length(e.x #>> '{}') > 40
                );
                v_text := array(select jsonb_array_elements_text(v))::text;
            when 'uuid[]' then
                v_ok := jsonb_typeof(v) = 'array';
                v_text := array(select (jsonb_array_elements_text(v))::uuid)::text;
            when 'numeric[]' then
                v_ok := jsonb_typeof(v) = 'array' and not exists (
                    select 1 from jsonb_array_elements(v) as e(x)
                    where jsonb_typeof(e.x) <> 'number'
                       or (e.x #>> '{}')::numeric not between 1 and 10
                );
                v_text := array(select (jsonb_array_elements_text(v))::numeric)::text;
            else
                v_ok := false;
        end case;
    exception when others then
        v_ok := false;
    end;
    if not v_ok then
        perform private.arg_error(p_key, format('%s is not a valid %s.', p_key, p_type));
    end if;
    return v_text;
end;
$$;
comment on function private.arg_field(jsonb, text, text) is
'Validate one JSON field against a type: text, int, bool, timestamptz, interval, uuid, text[]
(items of at most 40 characters), uuid[], numeric[] (items between 1 and 10). Returns its text
(null when absent or null), or raises invalid_argument with details.field.';

create function private.arg_enum(p_obj jsonb, p_key text, p_allowed text[]) returns text
language plpgsql immutable
set search_path = ''
as $$
declare
    v_text text := private.arg_field(p_obj, p_key, 'text');
begin
    if v_text is not null and not v_text = any(p_allowed) then
        perform private.raise_error('invalid_argument',
            format('%s is one of %s.', p_key, array_to_string(p_allowed, ', ')), '22023',
            jsonb_build_object('field', p_key, 'allowed', p_allowed));
    end if;
    return v_text;
end;
$$;
comment on function private.arg_enum(jsonb, text, text[]) is
'A text field restricted to a list of values (details.allowed), or invalid_argument.';

create function private.arg_text(p_text text, p_max int, p_field text) returns text
language plpgsql immutable
set search_path = ''
as $$
begin
    if p_text is null or btrim(p_text) = '' then
        perform private.arg_error(p_field, format('%s is required.', p_field));
    end if;
    if char_length(p_text) > p_max then
        perform private.raise_error('text_too_long',
            format('%s is over %s characters.', p_field, p_max), '22023',
            jsonb_build_object('field', p_field, 'max', p_max));
    end if;
    return p_text;
end;
$$;
comment on function private.arg_text(text, int, text) is
'A required text of at most p_max characters: invalid_argument when empty, text_too_long over.';

revoke execute on function private.arg_error(text, text) from public;
revoke execute on function private.arg_keys(jsonb, text[]) from public;
revoke execute on function private.arg_field(jsonb, text, text) from public;
revoke execute on function private.arg_enum(jsonb, text, text[]) from public;
revoke execute on function private.arg_text(text, int, text) from public;
