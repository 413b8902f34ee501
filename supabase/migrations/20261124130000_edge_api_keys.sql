-- edge: API keys for integrations (schema accounts), exchanged at the edge for short-lived
-- JWTs that carry the key's scopes.
--
-- A key is `fsk_<8 hex>_<64 hex>`. Only its sha256 digest is stored, with the visible prefix
-- `fsk_<8 hex>` so owners can tell keys apart; the full key is returned once, by
-- api.accounts_create_api_key / api.accounts_rotate_api_key. The edge (as service_role, the one
-- named use)
-- calls ops.authenticate_api_key and signs a JWT with role authenticated, sub = owner,
-- `scopes` and `api_key_id` claims. What each api object needs is declared in
-- accounts.api_object_scopes and enforced by private.pre_request / private.require_scope
-- (migration 20261124160000_api_object_scopes.sql).

insert into ops.error_codes (code, sqlstate, http_status, description) values
('edge_api_key_invalid', '42501', 401, 'The API key is unknown or malformed.'),
('edge_api_key_revoked', '42501', 401, 'The API key was revoked.'),
('edge_api_key_expired', '42501', 401, 'The API key expired, or its rotation overlap ended.'),
('edge_api_key_rotated', 'PT409', 409, 'The API key was already rotated; rotate the new one.'),
('edge_api_key_limit', 'PT409', 409, 'The account has too many active API keys (50).'),
(
    'edge_scope_unknown', '22023', 400,
    'A scope is not in api.accounts_api_scopes; details.scope names it.'
);

create table accounts.api_scopes (
    scope text primary key check (scope ~ '^[a-z][a-z_]*(:[a-z][a-z_]*)+$'),
    description text not null
);
comment on table accounts.api_scopes is
'Scopes an API key may carry (domain:object:action). A write scope does not imply read.';
alter table accounts.api_scopes enable row level security;
create policy api_scopes_read on accounts.api_scopes for select to anon, authenticated
using (true);
grant select on accounts.api_scopes to anon, authenticated, service_role;

insert into accounts.api_scopes (scope, description) values
('profile:read', 'Read the owner''s account, settings and activity, and public profiles.'),
('profile:write', 'Update the owner''s profile, avatar and settings.'),
('learning:courses:read', 'Read courses, modules, lessons, quizzes, reviews; verify certificates.'),
('learning:courses:write', 'Author courses the owner teaches: content, quizzes, publishing.'),
('learning:progress:read', 'Read learning progress: enrollments, attempts, certificates, rosters.'),
('learning:progress:write', 'Record learning progress: enroll, complete lessons, take quizzes.'),
('ctf:challenges:read', 'Read CTF events and challenges the owner may see.'),
('ctf:challenges:write', 'Import and update CTF challenges, flags, hints, files (CI pipelines).'),
('ctf:events:write', 'Organise CTF events: settings, brackets, awards, bans, standings.'),
('ctf:play', 'Play CTF events: register, teams, hints, flag submissions, feedback.'),
('ctf:scores:read', 'Read CTF standings, solves, teams and awards.'),
('community:posts:read', 'Read forums, contributions and the owner''s notifications.'),
('community:posts:write', 'Post, edit, react, watch, report, block and appeal in the community.'),
('community:messages:read', 'Read the owner''s private conversations.'),
('community:messages:write', 'Start conversations and send private messages.'),
('community:moderation:read', 'Read moderation queues, history and statistics (staff).'),
('community:moderation:write', 'Moderate: decide reviews, appeals and contributions (staff).'),
('billing:read', 'Read plans, subscriptions, invoices, seats and entitlements.'),
('billing:seats:write', 'Assign and release seats of the owner''s organisation plan.');

create table accounts.api_keys (
    id uuid primary key default gen_random_uuid(),
    owner_id uuid not null references auth.users (id) on delete cascade,
    created_by uuid references auth.users (id) on delete set null,
    name text not null check (char_length(name) between 1 and 100),
    prefix text not null unique check (prefix ~ '^fsk_[0-9a-f]{8}$'),
    digest text not null unique check (digest ~ '^[0-9a-f]{64}$'),
    scopes text[] not null check (cardinality(scopes) between 1 and 32),
    expires_at timestamptz,
    revoked_at timestamptz,
    rotated_from uuid references accounts.api_keys (id) on delete set null,
    last_used_at timestamptz,
    last_used_ip inet,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table accounts.api_keys is
'API keys for integrations: owner, scopes, expiry, last use; the key itself only as a sha256
digest (never readable through the API). Rotation creates a new key (rotated_from) and
shortens the old one''s expiry to the overlap window.';
create index api_keys_owner_idx on accounts.api_keys (owner_id, created_at desc);
create index api_keys_created_by_idx on accounts.api_keys (created_by);
create index api_keys_rotated_from_idx on accounts.api_keys (rotated_from);
alter table accounts.api_keys enable row level security;
create policy api_keys_read on accounts.api_keys for select to authenticated
using (owner_id = (select auth.uid()) or (select private.jwt_has_permission('platform.admin')));
-- Every column but the digest.
grant select (
    id, owner_id, created_by, name, prefix, scopes, expires_at, revoked_at, rotated_from,
    last_used_at, last_used_ip, created_at, updated_at
) on accounts.api_keys to authenticated, service_role;

create trigger api_keys_touch before update on accounts.api_keys
for each row execute function private.touch_updated_at();

create view api.accounts_api_keys with (security_invoker = true) as
select
    k.id,
    k.owner_id,
    k.created_by,
    k.name,
    k.prefix,
    k.scopes,
    k.expires_at,
    k.revoked_at,
    k.rotated_from,
    k.last_used_at,
    k.last_used_ip,
    k.created_at,
    case
        when k.revoked_at is not null then 'revoked'
        when k.expires_at <= now() then 'expired'
        else 'active'
    end as status
from accounts.api_keys as k
where (select private.key_may_read('api.accounts_api_keys'));
comment on view api.accounts_api_keys is
'Your API keys (admins: everyone''s), without the secret: prefix, scopes, expiry, last use
(time and IP), status active | revoked | expired.';
grant select on api.accounts_api_keys to authenticated, service_role;

create view api.accounts_api_scopes with (security_invoker = true) as
select
    scope,
    description
from accounts.api_scopes
where (select private.key_may_read('api.accounts_api_scopes'));
comment on view api.accounts_api_scopes is 'The scopes an API key may carry.';
grant select on api.accounts_api_scopes to anon, authenticated, service_role;

-- Helpers -----------------------------------------------------------------------------------
create function private.has_scope(p_scope text) returns boolean
language sql stable
set search_path = ''
as $$
    select not coalesce((select auth.jwt()) ? 'api_key_id', false)
        or coalesce((select auth.jwt()) -> 'scopes' ? p_scope, false)
$$;
comment on function private.has_scope(text) is
'Does the caller hold p_scope? A user session holds every scope; a token exchanged for an
API key (api_key_id claim) only the scopes in its scopes claim.';
revoke execute on function private.has_scope(text) from public;
grant execute on function private.has_scope(text) to anon, authenticated, service_role;

create function private.require_session() returns uuid
language plpgsql stable
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
begin
    if coalesce((select auth.jwt()) ? 'api_key_id', false) then
        perform private.raise_error(
            'forbidden', 'API keys cannot manage keys or contact emails; sign in.', '42501'
        );
    end if;
    return v_uid;
end;
$$;
comment on function private.require_session() is
'The caller''s user id when they act through a signed-in session (not an API key token);
raises not_authenticated / forbidden otherwise.';
revoke execute on function private.require_session() from public;
grant execute on function private.require_session() to authenticated, service_role;

create function private.random_hex() returns text
language sql volatile
set search_path = ''
as $$
    -- Two version-4 UUIDs: 244 random bits from the server's CSPRNG (no pgcrypto needed).
    select replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', '')
$$;
comment on function private.random_hex() is '64 hex characters from two random UUIDs.';
revoke execute on function private.random_hex() from public;

create function private.issue_api_key(
    p_owner uuid,
    p_name text,
    p_scopes text[],
    p_expires_at timestamptz,
    p_rotated_from uuid
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_key text := 'fsk_' || left(private.random_hex(), 8) || '_' || private.random_hex();
    v_row accounts.api_keys;
begin
    insert into accounts.api_keys (
        owner_id, created_by, name, prefix, digest, scopes, expires_at, rotated_from
    )
    values (
        p_owner, (select auth.uid()), p_name, left(v_key, 12),
        encode(sha256(convert_to(v_key, 'UTF8')), 'hex'), p_scopes, p_expires_at,
        p_rotated_from
    )
    returning * into v_row;
    return jsonb_build_object(
        'id', v_row.id, 'key', v_key, 'prefix', v_row.prefix, 'name', v_row.name,
        'owner_id', v_row.owner_id, 'scopes', to_jsonb(v_row.scopes),
        'expires_at', v_row.expires_at, 'created_at', v_row.created_at,
        'rotated_from', v_row.rotated_from
    );
exception when unique_violation then
    -- A prefix collision (1 in 4 billion per pair): the caller may simply retry.
    perform private.raise_error('conflict', 'Key generation collided; try again.', 'PT409');
end;
$$;
comment on function private.issue_api_key(uuid, text, text[], timestamptz, uuid) is
'Insert a key and return it once in clear. Definer: clients cannot write api_keys; only
api.accounts_create_api_key / api.accounts_rotate_api_key call it after checking the caller.';
revoke execute on function private.issue_api_key(uuid, text, text[], timestamptz, uuid)
from public;

-- API ---------------------------------------------------------------------------------------
create function api.accounts_create_api_key(
    p_name text,
    p_scopes text[],
    p_expires_at timestamptz default null,
    p_owner_id uuid default null
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_session();
    v_owner uuid := coalesce(p_owner_id, v_uid);
    v_unknown text;
    v_result jsonb;
begin
    if v_owner <> v_uid then
        perform private.require_permission('platform.admin');
        if not exists (select 1 from auth.users as u where u.id = v_owner) then
            perform private.raise_error('user_not_found', 'No such user.', 'PT404');
        end if;
    end if;
    if p_name is null or char_length(btrim(p_name)) not between 1 and 100 then
        perform private.raise_error('invalid_argument', 'A key needs a name of 1-100 characters.',
            '22023', '{"field": "p_name"}');
    end if;
    if p_scopes is null or cardinality(p_scopes) not between 1 and 32 then
        perform private.raise_error('invalid_argument', 'A key needs 1-32 scopes.', '22023',
            '{"field": "p_scopes"}');
    end if;
    select s into v_unknown from unnest(p_scopes) as s
    where s is null or not exists (select 1 from accounts.api_scopes as a where a.scope = s)
    limit 1;
    if found then
        perform private.raise_error('edge_scope_unknown', 'Unknown scope.', '22023',
            jsonb_build_object('scope', v_unknown));
    end if;
    if p_expires_at is not null and p_expires_at <= now() then
        perform private.raise_error('invalid_argument', 'The expiry must be in the future.',
            '22023', '{"field": "p_expires_at"}');
    end if;
    -- Serialise key creation per owner so the limit holds under concurrency.
    perform pg_advisory_xact_lock(hashtext('api_keys:' || v_owner::text));
    if (
        select count(*) from accounts.api_keys as k
        where k.owner_id = v_owner and k.revoked_at is null
          and (k.expires_at is null or k.expires_at > now())
    ) >= 50 then
        perform private.raise_error('edge_api_key_limit', 'Too many active API keys.', 'PT409');
    end if;
    v_result := private.issue_api_key(
        v_owner, btrim(p_name),
        array(select distinct s from unnest(p_scopes) as s order by s), p_expires_at, null
    );
    perform private.audit('edge.api_key_created', 'api_key', v_result ->> 'id',
        jsonb_build_object('owner_id', v_owner, 'scopes', v_result -> 'scopes'));
    return v_result;
end;
$$;
comment on function api.accounts_create_api_key(text, text[], timestamptz, uuid) is
'Create an API key: name, scopes (see api.accounts_api_scopes), optional expiry, optional owner
(another user: admins only). Returns {id, key, prefix, name, owner_id, scopes, expires_at,
created_at}; the key is shown only here. Signed-in sessions only (not API key tokens).
Errors: not_authenticated, forbidden, user_not_found, invalid_argument, edge_scope_unknown,
edge_api_key_limit.';
revoke execute on function api.accounts_create_api_key(text, text[], timestamptz, uuid) from public;
grant execute on function api.accounts_create_api_key(text, text[], timestamptz, uuid)
to authenticated;

create function private.managed_api_key(p_id uuid) returns accounts.api_keys
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_session();
    v_row accounts.api_keys;
begin
    select * into v_row from accounts.api_keys as k where k.id = p_id for update;
    if not found
       or (v_row.owner_id <> v_uid and not private.user_has_permission(v_uid, 'platform.admin')) then
        perform private.raise_error('not_found', 'No such API key.', 'PT404');
    end if;
    return v_row;
end;
$$;
comment on function private.managed_api_key(uuid) is
'The key p_id, locked, if the signed-in caller owns it or is an admin; else not_found.';
revoke execute on function private.managed_api_key(uuid) from public;

create function api.accounts_revoke_api_key(p_id uuid) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_row accounts.api_keys := private.managed_api_key(p_id);
begin
    if v_row.revoked_at is null then
        update accounts.api_keys set revoked_at = now() where id = v_row.id;
        perform private.audit('edge.api_key_revoked', 'api_key', v_row.id::text,
            jsonb_build_object('owner_id', v_row.owner_id));
    end if;
end;
$$;
comment on function api.accounts_revoke_api_key(uuid) is
'Revoke an API key at once (owner or admin); idempotent. Tokens already exchanged expire
within their short lifetime. Errors: not_authenticated, forbidden, not_found.';
revoke execute on function api.accounts_revoke_api_key(uuid) from public;
grant execute on function api.accounts_revoke_api_key(uuid) to authenticated;

create function api.accounts_rotate_api_key(p_id uuid, p_overlap interval default interval '1 day')
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_row accounts.api_keys := private.managed_api_key(p_id);
    v_result jsonb;
begin
    if p_overlap is null or p_overlap < interval '0' or p_overlap > interval '30 days' then
        perform private.raise_error('invalid_argument',
            'The overlap must be between 0 and 30 days.', '22023', '{"field": "p_overlap"}');
    end if;
    if v_row.revoked_at is not null then
        perform private.raise_error('edge_api_key_revoked', 'The API key was revoked.', '42501');
    end if;
    if v_row.expires_at <= now() then
        perform private.raise_error('edge_api_key_expired', 'The API key expired.', '42501');
    end if;
    if exists (select 1 from accounts.api_keys as k where k.rotated_from = v_row.id) then
        perform private.raise_error('edge_api_key_rotated',
            'This key was already rotated.', 'PT409');
    end if;
    v_result := private.issue_api_key(
        v_row.owner_id, v_row.name, v_row.scopes, v_row.expires_at, v_row.id
    );
    update accounts.api_keys
    set expires_at = least(coalesce(expires_at, 'infinity'), now() + p_overlap)
    where id = v_row.id;
    perform private.audit('edge.api_key_rotated', 'api_key', v_row.id::text,
        jsonb_build_object('new_id', v_result ->> 'id', 'overlap', p_overlap::text));
    return v_result || jsonb_build_object('old_key_expires_at', least(
        coalesce(v_row.expires_at, 'infinity'), now() + p_overlap
    ));
end;
$$;
comment on function api.accounts_rotate_api_key(uuid, interval) is
'Rotate an API key: a new key with the same owner, name, scopes and expiry (returned once,
as from api.accounts_create_api_key, plus old_key_expires_at); the old key keeps working for
p_overlap (default 1 day, 0-30 days), then stops. Errors: not_authenticated, forbidden,
not_found, invalid_argument, edge_api_key_revoked, edge_api_key_expired,
edge_api_key_rotated.';
revoke execute on function api.accounts_rotate_api_key(uuid, interval) from public;
grant execute on function api.accounts_rotate_api_key(uuid, interval) to authenticated;

-- The edge's exchange (service_role) ----------------------------------------------------
create function ops.authenticate_api_key(p_key text, p_ip inet default null)
returns table (key_id uuid, owner_id uuid, scopes text[], expires_at timestamptz)
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_row accounts.api_keys;
begin
    if p_key is null or p_key !~ '^fsk_[0-9a-f]{8}_[0-9a-f]{64}$' then
        perform private.raise_error('edge_api_key_invalid', 'Invalid API key.', '42501');
    end if;
    select * into v_row from accounts.api_keys as k
    where k.digest = encode(sha256(convert_to(p_key, 'UTF8')), 'hex');
    if not found then
        perform private.raise_error('edge_api_key_invalid', 'Invalid API key.', '42501');
    end if;
    if v_row.revoked_at is not null then
        perform private.raise_error('edge_api_key_revoked', 'The API key was revoked.', '42501',
            jsonb_build_object('prefix', v_row.prefix));
    end if;
    if v_row.expires_at <= now() then
        perform private.raise_error('edge_api_key_expired', 'The API key expired.', '42501',
            jsonb_build_object('prefix', v_row.prefix));
    end if;
    -- Last use is recorded at most every 30 seconds per key and address (no hot-row churn).
    update accounts.api_keys as k set last_used_at = now(), last_used_ip = p_ip
    where k.id = v_row.id
      and (k.last_used_at is null or k.last_used_at < now() - interval '30 seconds'
           or k.last_used_ip is distinct from p_ip);
    return query select v_row.id, v_row.owner_id, v_row.scopes, v_row.expires_at;
end;
$$;
comment on function ops.authenticate_api_key(text, inet) is
'Edge only (service_role): check a presented key by digest and record its use. Returns
(key_id, owner_id, scopes, expires_at). Errors: edge_api_key_invalid, edge_api_key_revoked,
edge_api_key_expired (all 401).';
revoke execute on function ops.authenticate_api_key(text, inet) from public;
grant execute on function ops.authenticate_api_key(text, inet) to service_role;
