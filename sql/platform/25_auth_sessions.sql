-- Supabase platform contract: the session tables Supabase Auth keeps beside auth.users.
-- probe: select to_regclass('auth.sessions') is not null
--
-- Sessions, their rotating refresh tokens, identities, one-time tokens (email links and
-- codes), the authentication method references of a session and PKCE flow states, with
-- the columns of Supabase Auth's own migrations, so the local /auth/v1 and a real Supabase
-- Auth read and write the same rows. Owned by `supabase_auth_admin`; RLS on without
-- policies (no API role is granted anything); `postgres` may read them, and write
-- identities (seeds create users with theirs).
do $types$
begin
    create type auth.aal_level as enum ('aal1', 'aal2', 'aal3');
exception
    when duplicate_object then null;
end
$types$;

do $types$
begin
    create type auth.one_time_token_type as enum (
        'confirmation_token',
        'reauthentication_token',
        'recovery_token',
        'email_change_token_new',
        'email_change_token_current',
        'phone_change_token'
    );
exception
    when duplicate_object then null;
end
$types$;

do $types$
begin
    create type auth.code_challenge_method as enum ('s256', 'plain');
exception
    when duplicate_object then null;
end
$types$;

alter type auth.aal_level owner to supabase_auth_admin;
alter type auth.code_challenge_method owner to supabase_auth_admin;
alter type auth.one_time_token_type owner to supabase_auth_admin;

create table auth.sessions (
    id uuid not null primary key,
    user_id uuid not null references auth.users (id) on delete cascade,
    created_at timestamptz,
    updated_at timestamptz,
    factor_id uuid,
    aal auth.aal_level,
    not_after timestamptz,
    refreshed_at timestamp,
    user_agent text,
    ip inet,
    tag text,
    oauth_client_id uuid,
    refresh_token_hmac_key text,
    refresh_token_counter bigint,
    scopes text constraint sessions_scopes_length check (char_length(scopes) <= 4096)
);
create index sessions_user_id_idx on auth.sessions (user_id);
create index user_id_created_at_idx on auth.sessions (user_id, created_at);
create index sessions_not_after_idx on auth.sessions (not_after desc);
create index sessions_oauth_client_id_idx on auth.sessions (oauth_client_id);
comment on table auth.sessions is
'Auth: Stores session data associated to a user (platform contract).';
comment on column auth.sessions.not_after is
'Auth: Not after is a nullable column that contains a timestamp after which the session '
'should be regarded as expired.';

create table auth.refresh_tokens (
    instance_id uuid,
    id bigserial primary key,
    token varchar(255) constraint refresh_tokens_token_unique unique,
    user_id varchar(255),
    revoked boolean,
    created_at timestamptz,
    updated_at timestamptz,
    parent varchar(255),
    session_id uuid references auth.sessions (id) on delete cascade
);
create index refresh_tokens_instance_id_idx on auth.refresh_tokens (instance_id);
create index refresh_tokens_instance_id_user_id_idx on auth.refresh_tokens (
    instance_id, user_id
);
create index refresh_tokens_parent_idx on auth.refresh_tokens (parent);
create index refresh_tokens_session_id_revoked_idx on auth.refresh_tokens (
    session_id, revoked
);
create index refresh_tokens_updated_at_idx on auth.refresh_tokens (updated_at desc);
comment on table auth.refresh_tokens is
'Auth: Store of tokens used to refresh JWT tokens once they expire (platform contract).';

create table auth.identities (
    provider_id text not null,
    user_id uuid not null references auth.users (id) on delete cascade,
    identity_data jsonb not null,
    provider text not null,
    last_sign_in_at timestamptz,
    created_at timestamptz,
    updated_at timestamptz,
    email text generated always as (lower(identity_data ->> 'email')) stored,
    id uuid not null default gen_random_uuid() primary key,
    constraint identities_provider_id_provider_unique unique (provider_id, provider)
);
create index identities_user_id_idx on auth.identities (user_id);
create index identities_email_idx on auth.identities (email text_pattern_ops);
comment on table auth.identities is
'Auth: Stores identities associated to a user (platform contract).';
comment on column auth.identities.email is
'Auth: Email is a generated column that references the optional email property in the '
'identity_data';

create table auth.one_time_tokens (
    id uuid primary key,
    user_id uuid not null references auth.users (id) on delete cascade,
    token_type auth.one_time_token_type not null,
    token_hash text not null check (char_length(token_hash) > 0),
    relates_to text not null,
    created_at timestamp not null default now(),
    updated_at timestamp not null default now()
);
create index one_time_tokens_token_hash_hash_idx on auth.one_time_tokens using hash (
    token_hash
);
create index one_time_tokens_relates_to_hash_idx on auth.one_time_tokens using hash (
    relates_to
);
create unique index one_time_tokens_user_id_token_type_key on auth.one_time_tokens (
    user_id, token_type
);
comment on table auth.one_time_tokens is
'Auth: One-time tokens (email links and codes) by user and type (platform contract).';

create table auth.mfa_amr_claims (
    session_id uuid not null references auth.sessions (id) on delete cascade,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    authentication_method text not null,
    id uuid not null constraint amr_id_pk primary key,
    constraint mfa_amr_claims_session_id_authentication_method_pkey unique (
        session_id, authentication_method
    )
);
comment on table auth.mfa_amr_claims is
'auth: stores authenticator method reference claims for multi factor authentication';

create table auth.flow_state (
    id uuid primary key,
    user_id uuid,
    auth_code text,
    code_challenge_method auth.code_challenge_method,
    code_challenge text,
    provider_type text not null,
    provider_access_token text,
    provider_refresh_token text,
    created_at timestamptz,
    updated_at timestamptz,
    authentication_method text not null,
    auth_code_issued_at timestamptz,
    invite_token text,
    referrer text,
    oauth_client_state_id uuid,
    linking_target_id uuid,
    email_optional boolean not null default false
);
create index idx_auth_code on auth.flow_state (auth_code);
create index idx_user_id_auth_method on auth.flow_state (user_id, authentication_method);
create index flow_state_created_at_idx on auth.flow_state (created_at desc);
comment on table auth.flow_state is
'Stores metadata for all OAuth/SSO login flows (platform contract: PKCE email flows here).';

alter table auth.sessions owner to supabase_auth_admin;
alter table auth.flow_state owner to supabase_auth_admin;
alter table auth.refresh_tokens owner to supabase_auth_admin;
alter sequence auth.refresh_tokens_id_seq owner to supabase_auth_admin;
alter table auth.identities owner to supabase_auth_admin;
alter table auth.one_time_tokens owner to supabase_auth_admin;
alter table auth.mfa_amr_claims owner to supabase_auth_admin;

alter table auth.sessions enable row level security;
alter table auth.refresh_tokens enable row level security;
alter table auth.identities enable row level security;
alter table auth.one_time_tokens enable row level security;
alter table auth.mfa_amr_claims enable row level security;
alter table auth.flow_state enable row level security;

grant select on auth.sessions, auth.refresh_tokens, auth.identities, auth.one_time_tokens,
auth.mfa_amr_claims, auth.flow_state to postgres with grant option;
-- Seeds create users with their identities, as they may on Supabase (like auth.users).
grant insert, update, delete on auth.identities to postgres;
