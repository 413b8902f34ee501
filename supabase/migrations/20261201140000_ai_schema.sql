-- ai: schema, error codes, the retrieval index (chunks: full text always, a pgvector column
-- and its HNSW index only where the extension exists), per-call usage, quotas per plan, and
-- the one helper every AI operation calls before it spends anything (private.ai_admit).
--
-- Clients never write ai tables. The index is written by the worker (service_role) through
-- private.ai_replace_chunks; usage rows by the edge and the worker after each provider call.

create schema if not exists ai;
comment on schema ai is
'AI domain: the retrieval index (chunks of lessons, challenge descriptions, forum posts and
docs), assistant conversations, usage and quotas. Not exposed; the API is in schema api.';
grant usage on schema ai to anon, authenticated, service_role;

insert into ops.error_codes (code, sqlstate, http_status, description) values
(
    'ai_unavailable', 'PT503', 503,
    'This AI operation needs a language model and none is configured on this deployment '
    || '(set OPENAI_API_KEY, or OPENAI_BASE_URL for a compatible server).'
),
(
    'ai_quota_exceeded', 'PT429', 429,
    'Your AI quota for today is used up: details.limit, details.used, details.retry_after '
    || '(seconds until it resets). The pro plan has a larger quota.'
),
(
    'ai_request_too_large', '22023', 400,
    'The request is longer than your plan allows: details.max characters.'
),
('ai_conversation_not_found', 'PT404', 404, 'No such conversation, or it is not yours.'),
(
    'ai_provider_error', 'PT503', 503,
    'The language model provider failed after retries; try again later.'
);

-- pgvector, where it exists -------------------------------------------------------------------
-- Supabase and the embedded default ship pgvector; a plain Postgres may not. Everything below
-- works without it (retrieval is then full-text only): the vector column, its index and the
-- vector half of the ranker exist only when the extension does.
do $$
begin
    if exists (select 1 from pg_available_extensions where name = 'vector')
        and not exists (select 1 from pg_extension where extname = 'vector') then
        begin
            create extension if not exists vector with schema extensions;
        exception when insufficient_privilege then
            raise notice 'pgvector is available but may not be created here: full text only';
        end;
    end if;
end;
$$;

-- The index ----------------------------------------------------------------------------------
create table ai.chunks (
    id bigint generated always as identity primary key,
    source_kind text not null check (source_kind in ('lesson', 'challenge', 'forum_post', 'doc')),
    source_id text not null check (char_length(source_id) <= 64),
    -- The container the source belongs to (course, event, category; null for docs): lets the
    -- ranker narrow to what the caller may read before RLS decides row by row.
    scope_id text check (char_length(scope_id) <= 64),
    position int not null check (position >= 0),
    title text not null default '' check (char_length(title) <= 300),
    content text not null check (char_length(content) <= 8000),
    tsv tsvector generated always as (
        setweight(to_tsvector('english', title), 'A') || to_tsvector('english', content)
    ) stored,
    -- A preview lesson (readable without enrollment): lets the ranker include it for
    -- everyone; the policy still checks the lesson itself.
    preview boolean not null default false,
    embedding_model text,
    source_updated_at timestamptz,
    created_at timestamptz not null default now(),
    unique (source_kind, source_id, position)
);
comment on table ai.chunks is
'The retrieval index: public text of lessons, CTF challenge descriptions, forum posts and
docs, cut into chunks (position = order within the source). Never flags, answer keys, hints
or write-ups. Readable under RLS only where the caller may read the source itself (policy
chunks_read joins back to the source under the caller''s own RLS). Written by the worker.';
create index chunks_tsv_idx on ai.chunks using gin (tsv);
create index chunks_scope_idx on ai.chunks (source_kind, scope_id);
alter table ai.chunks enable row level security;
grant select on ai.chunks to anon, authenticated, service_role;

do $$
begin
    if exists (select 1 from pg_extension where extname = 'vector') then
        execute 'alter table ai.chunks add column embedding extensions.vector(384)';
        execute 'create index chunks_embedding_idx on ai.chunks '
            || 'using hnsw (embedding extensions.vector_cosine_ops)';
        execute 'comment on column ai.chunks.embedding is '
            || quote_literal('Unit vector of title + content (384 dimensions; '
            || 'embedding_model says which model). Only where pgvector exists.');
    end if;
end;
$$;

create function private.ai_has_vectors() returns boolean
language sql stable
set search_path = ''
as $$
    select exists (
        select 1 from pg_attribute
        where attrelid = 'ai.chunks'::regclass and attname = 'embedding' and not attisdropped
    )
$$;
comment on function private.ai_has_vectors() is
'Does the index carry vectors (pgvector installed when the ai migrations ran)?';
revoke execute on function private.ai_has_vectors() from public;
grant execute on function private.ai_has_vectors() to anon, authenticated, service_role;

create table ai.docs (
    slug text primary key check (slug ~ '^[a-z0-9][a-z0-9-]{0,79}$'),
    title text not null check (char_length(title) between 1 and 200),
    body_md text not null check (char_length(body_md) <= 200000),
    updated_at timestamptz not null default now()
);
comment on table ai.docs is
'Public help pages the assistant may cite (loaded by `flagship ai load-docs` or staff).';
alter table ai.docs enable row level security;
create policy docs_read on ai.docs for select to anon, authenticated using (true);
grant select on ai.docs to anon, authenticated, service_role;
create trigger docs_touch before update on ai.docs
for each row execute function private.touch_updated_at();

-- Usage and quotas -----------------------------------------------------------------------
create table ai.quotas (
    plan text primary key check (plan in ('free', 'pro')),
    daily_tokens int not null check (daily_tokens >= 0),
    daily_requests int not null check (daily_requests >= 0),
    per_minute int not null check (per_minute > 0),
    max_input_chars int not null check (max_input_chars > 0)
);
comment on table ai.quotas is
'AI limits per plan: tokens and requests per UTC day, requests per minute, and the longest
accepted input. Pro (the pro entitlement) gets more. Staff edit it in SQL.';
alter table ai.quotas enable row level security;
create policy quotas_read on ai.quotas for select to anon, authenticated using (true);
grant select on ai.quotas to anon, authenticated, service_role;
insert into ai.quotas (plan, daily_tokens, daily_requests, per_minute, max_input_chars) values
('free', 20000, 50, 10, 2000),
('pro', 200000, 500, 30, 8000);

create table ai.prices (
    model text primary key check (char_length(model) <= 100),
    input_per_mtok numeric(10, 4) not null check (input_per_mtok >= 0),
    output_per_mtok numeric(10, 4) not null check (output_per_mtok >= 0)
);
comment on table ai.prices is
'USD per million tokens, for the cost of each call (unknown models cost 0 and are logged).';
alter table ai.prices enable row level security;
create policy prices_read on ai.prices for select to anon, authenticated using (true);
grant select on ai.prices to anon, authenticated, service_role;
insert into ai.prices (model, input_per_mtok, output_per_mtok) values
('gpt-4o-mini', 0.15, 0.60),
('gpt-4.1-mini', 0.40, 1.60),
('text-embedding-3-small', 0.02, 0),
('omni-moderation-latest', 0, 0),
('all-MiniLM-L6-v2-onnx-int8', 0, 0),
('local-extractive', 0, 0);

create table ai.usage (
    id bigint generated always as identity primary key,
    user_id uuid references auth.users (id) on delete cascade,
    operation text not null check (char_length(operation) between 1 and 60),
    provider text not null check (provider in ('openai', 'local')),
    model text not null check (char_length(model) <= 100),
    prompt_tokens int not null default 0 check (prompt_tokens >= 0),
    completion_tokens int not null default 0 check (completion_tokens >= 0),
    total_tokens int generated always as (prompt_tokens + completion_tokens) stored,
    cost_usd numeric(12, 6) not null default 0,
    cached boolean not null default false,
    latency_ms int,
    created_at timestamptz not null default now()
);
comment on table ai.usage is
'One row per provider call (or cache hit): who, what, which model, tokens and cost. user_id
null: background work (indexing). Users read their own rows; admins all (api views).';
create index usage_user_day_idx on ai.usage (user_id, created_at);
create index usage_created_idx on ai.usage (created_at);
alter table ai.usage enable row level security;
create policy usage_read on ai.usage for select to authenticated
using (user_id = (select auth.uid()) or (select private.jwt_has_permission('platform.admin')));
grant select on ai.usage to authenticated, service_role;

-- The one admission check ----------------------------------------------------------------
create function private.ai_plan(p_user uuid) returns text
language sql stable
security definer
set search_path = ''
as $$
    select case when private.user_has_entitlement(p_user, 'pro') then 'pro' else 'free' end
$$;
comment on function private.ai_plan(uuid) is 'The AI quota plan of a user: pro or free.';
revoke execute on function private.ai_plan(uuid) from public;

create function private.ai_today_usage(p_user uuid, out requests int, out tokens int)
language sql stable
security definer
set search_path = ''
as $$
    select count(*)::int, coalesce(sum(u.total_tokens), 0)::int
    from ai.usage as u
    where u.user_id = p_user and u.created_at >= date_trunc('day', now() at time zone 'utc')
        at time zone 'utc'
$$;
comment on function private.ai_today_usage(uuid) is
'Requests and tokens a user spent today (UTC), from ai.usage.';
revoke execute on function private.ai_today_usage(uuid) from public;

create function private.ai_admit(p_operation text, p_input_chars int) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_plan text := private.ai_plan(v_uid);
    v_quota ai.quotas;
    v_used record;
    v_reset int;
begin
    select * into v_quota from ai.quotas as q where q.plan = v_plan;
    if coalesce(p_input_chars, 0) > v_quota.max_input_chars then
        perform private.raise_error('ai_request_too_large',
            format('The request is %s characters; your plan allows %s.', p_input_chars,
                v_quota.max_input_chars),
            '22023', jsonb_build_object('max', v_quota.max_input_chars, 'plan', v_plan));
    end if;
    perform private.rate_limit('ai:' || v_uid, v_quota.per_minute, interval '1 minute');
    select * into v_used from private.ai_today_usage(v_uid);
    if v_used.requests >= v_quota.daily_requests or v_used.tokens >= v_quota.daily_tokens then
        v_reset := ceil(extract(epoch from (
            date_trunc('day', now() at time zone 'utc') + interval '1 day'
            - (now() at time zone 'utc'))))::int;
        perform private.raise_error('ai_quota_exceeded',
            'Your AI quota for today is used up.', 'PT429',
            jsonb_build_object('plan', v_plan, 'used', v_used.tokens,
                'limit', v_quota.daily_tokens, 'requests', v_used.requests,
                'request_limit', v_quota.daily_requests, 'retry_after', greatest(v_reset, 1)));
    end if;
    return jsonb_build_object('user_id', v_uid, 'plan', v_plan, 'operation', p_operation,
        'tokens_left', v_quota.daily_tokens - v_used.tokens,
        'requests_left', v_quota.daily_requests - v_used.requests);
end;
$$;
comment on function private.ai_admit(text, int) is
'Before any AI operation, as the caller: signed in, input within the plan''s size limit, per
minute rate limit, today''s quota not used up. Returns {user_id, plan, tokens_left,
requests_left}. Errors: not_authenticated, ai_request_too_large, rate_limited,
ai_quota_exceeded.';
revoke execute on function private.ai_admit(text, int) from public;
grant execute on function private.ai_admit(text, int) to authenticated;

create function private.ai_record_usage(
    p_user uuid, p_operation text, p_provider text, p_model text,
    p_prompt_tokens int, p_completion_tokens int, p_cached boolean, p_latency_ms int
) returns bigint
language sql
security definer
set search_path = ''
as $$
    insert into ai.usage (user_id, operation, provider, model, prompt_tokens,
        completion_tokens, cost_usd, cached, latency_ms)
    select p_user, p_operation, p_provider, p_model, greatest(coalesce(p_prompt_tokens, 0), 0),
        greatest(coalesce(p_completion_tokens, 0), 0),
        case when p_cached then 0 else coalesce((
            select (greatest(coalesce(p_prompt_tokens, 0), 0) * p.input_per_mtok
                + greatest(coalesce(p_completion_tokens, 0), 0) * p.output_per_mtok) / 1000000
            from ai.prices as p where p.model = p_model
        ), 0) end,
        coalesce(p_cached, false), p_latency_ms
    returning id
$$;
comment on function private.ai_record_usage(uuid, text, text, text, int, int, boolean, int) is
'Record one provider call (cost from ai.prices; a cache hit costs nothing). Called by the
edge and the worker as service_role after each call.';
revoke execute on function private.ai_record_usage(uuid, text, text, text, int, int, boolean, int)
from public;
grant execute on function private.ai_record_usage(uuid, text, text, text, int, int, boolean, int)
to service_role;

-- Usage through the API -------------------------------------------------------------------
create view api.ai_my_usage with (security_invoker = true) as
select
    u.id,
    u.operation,
    u.provider,
    u.model,
    u.prompt_tokens,
    u.completion_tokens,
    u.total_tokens,
    u.cost_usd,
    u.cached,
    u.created_at
from ai.usage as u
where
    (select private.key_may_read('api.ai_my_usage'))
    and u.user_id = (select auth.uid());
comment on view api.ai_my_usage is
'Your AI calls: operation, model, tokens, cost (USD) and whether the cache answered.';
grant select on api.ai_my_usage to authenticated, service_role;

create view api.ai_usage_daily with (security_invoker = true) as
select
    u.user_id,
    (u.created_at at time zone 'utc')::date as day,
    u.operation,
    u.model,
    count(*)::int as calls,
    sum(u.total_tokens)::bigint as tokens,
    sum(u.cost_usd)::numeric(12, 6) as cost_usd
from ai.usage as u
where
    (select private.key_may_read('api.ai_usage_daily'))
    and (select private.jwt_has_permission('platform.admin'))
group by u.user_id, (u.created_at at time zone 'utc')::date, u.operation, u.model;
comment on view api.ai_usage_daily is
'Admins: AI calls, tokens and cost per user, day (UTC), operation and model.';
grant select on api.ai_usage_daily to authenticated, service_role;

create function api.ai_get_my_quota() returns jsonb
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_plan text := private.ai_plan(v_uid);
    v_quota ai.quotas;
    v_used record;
begin
    select * into v_quota from ai.quotas as q where q.plan = v_plan;
    select * into v_used from private.ai_today_usage(v_uid);
    return jsonb_build_object('plan', v_plan,
        'daily_tokens', v_quota.daily_tokens, 'tokens_used', v_used.tokens,
        'daily_requests', v_quota.daily_requests, 'requests_used', v_used.requests,
        'per_minute', v_quota.per_minute, 'max_input_chars', v_quota.max_input_chars);
end;
$$;
comment on function api.ai_get_my_quota() is
'Your AI plan and what is left today: {plan, daily_tokens, tokens_used, daily_requests,
requests_used, per_minute, max_input_chars}. Errors: not_authenticated.';
revoke execute on function api.ai_get_my_quota() from public, anon;
grant execute on function api.ai_get_my_quota() to authenticated;

insert into accounts.api_object_scopes (object, kind, access, scope) values
('api.ai_my_usage', 'view', 'session', null),
('api.ai_usage_daily', 'view', 'session', null),
('api.ai_get_my_quota', 'function', 'session', null);
