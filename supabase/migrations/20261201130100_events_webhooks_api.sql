-- events: the webhook API (api.events_*), the webhooks:manage scope, the fan-out from the
-- outbox, and the learning.course_completed topic.
--
-- Who: platform admins (platform.admin, checked in the tables), in a session or through an
-- API key that holds webhooks:manage (a key never widens what its owner may do). Events are
-- platform-wide — every solve, every completion — so no one else may subscribe to them.
--
-- Fan-out: an AFTER INSERT trigger on ops.outbox. When the topic is webhook-eligible in the
-- event catalogue (ops.event_types.webhooks) and at least one enabled endpoint subscribes to
-- it, one message {type, timestamp, data} is recorded and one delivery queued per such
-- endpoint, in the transaction of the event: a rolled-back change sends nothing, a committed
-- one is never missed. The outbox job keeps its own single handler.

insert into accounts.api_scopes (scope, description) values
('webhooks:manage', 'Manage outgoing webhook endpoints, read their delivery log, replay.');

-- Who may manage webhooks ------------------------------------------------------------------
create function private.events_may_manage() returns boolean
language sql stable
security definer
set search_path = ''
as $$
    select coalesce(private.user_has_permission((select auth.uid()), 'platform.admin'), false)
$$;
comment on function private.events_may_manage() is
'Does the caller hold platform.admin (read in the tables, so API key tokens qualify too)?
For the row policies of the events schema; evaluated once per statement.';
revoke execute on function private.events_may_manage() from public;
grant execute on function private.events_may_manage() to authenticated;

create policy endpoints_admin_read on events.endpoints for select to authenticated
using ((select private.events_may_manage()));
create policy messages_admin_read on events.messages for select to authenticated
using ((select private.events_may_manage()));
create policy deliveries_admin_read on events.deliveries for select to authenticated
using ((select private.events_may_manage()));
create policy delivery_attempts_admin_read on events.delivery_attempts for select
to authenticated using ((select private.events_may_manage()));
-- No grant at all on events.endpoint_secrets: no API role can read a secret.
grant select on events.endpoints, events.messages, events.deliveries, events.delivery_attempts
to authenticated;

-- Validation ----------------------------------------------------------------------------------
create function private.events_check_url(p_url text) returns text
language plpgsql immutable
set search_path = ''
as $$
declare
    v_url text := btrim(private.arg_text(p_url, 2000, 'p_url'));
    v_m text[];
    v_host text;
    v_addr inet;
begin
    v_m := regexp_match(v_url,
        '^(https?)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:[0-9]{1,5})?(/[^#[:space:]]*)?$');
    if v_m is null then
        perform private.raise_error('events_url_refused',
            'The URL must be http(s)://host[:port][/path], without credentials or fragment.',
            '22023', jsonb_build_object('reason', 'malformed'));
    end if;
    v_host := lower(btrim(v_m[2], '[]'));
    if v_m[3] is not null and substr(v_m[3], 2)::int not between 1 and 65535 then
        perform private.raise_error('events_url_refused', 'The port is out of range.',
            '22023', jsonb_build_object('reason', 'port'));
    end if;
    if rtrim(v_host, '.') in ('metadata', 'metadata.google.internal', 'metadata.goog') then
        perform private.raise_error('events_url_refused', 'Cloud metadata hosts are refused.',
            '22023', jsonb_build_object('reason', 'metadata'));
    end if;
    begin
        v_addr := v_host::inet;
    exception when others then
        v_addr := null;  -- a name: the worker resolves it and checks every address
    end;
    -- Literal addresses that can never be delivered to (loopback is left to the worker, whose
    -- test allowlist may admit it).
    if v_addr is not null and (
        v_addr << any(array[
            '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '169.254.0.0/16', '172.16.0.0/12',
            '192.168.0.0/16', '224.0.0.0/4', '240.0.0.0/4', 'fc00::/7', 'fe80::/10',
            'ff00::/8', '::ffff:0.0.0.0/96'
        ]::inet[])
        or v_addr = any(array['::', '168.63.129.16']::inet[])
    ) then
        perform private.raise_error('events_url_refused',
            'Private, link-local, metadata and multicast addresses are refused.', '22023',
            jsonb_build_object('reason', 'address', 'address', host(v_addr)));
    end if;
    return v_url;
end;
$$;
comment on function private.events_check_url(text) is
'An endpoint URL, checked: http(s), a host, an optional port and path, no credentials or
fragment, no metadata host or literal private / link-local / CGNAT / multicast / ULA / mapped
address (events_url_refused, details.reason). The worker checks again at each delivery, after
resolving the name (sync/ssrf.py), and refuses plain http outside the embedded default.';
revoke execute on function private.events_check_url(text) from public;

create function private.events_check_topics(p_topics text[]) returns text[]
language plpgsql stable
set search_path = ''
as $$
declare
    v_topic text;
begin
    if p_topics is null then
        return null;  -- every webhook topic
    end if;
    if cardinality(p_topics) = 0 or cardinality(p_topics) > 100 then
        perform private.arg_error('p_topics',
            'p_topics lists 1 to 100 topics (or is null for every webhook topic).');
    end if;
    foreach v_topic in array p_topics loop
        if not exists (
            select 1 from ops.event_types as t where t.topic = v_topic and t.webhooks
        ) then
            perform private.raise_error('events_topic_unknown',
                format('%s is not a webhook topic (see api.events_catalogue).', v_topic),
                '22023', jsonb_build_object('topic', v_topic));
        end if;
    end loop;
    return array(select distinct t from unnest(p_topics) as t order by t);
end;
$$;
comment on function private.events_check_topics(text[]) is
'Topic filters: null (every webhook topic) or 1-100 topics of the catalogue that webhooks may
subscribe to (events_topic_unknown, details.topic); returned sorted and deduplicated.';
revoke execute on function private.events_check_topics(text[]) from public;

create function private.events_description(p_text text, p_field text) returns text
language sql immutable
set search_path = ''
as $$
    select case
        when coalesce(btrim(p_text), '') = '' then ''
        else private.arg_text(btrim(p_text), 500, p_field)
    end
$$;
comment on function private.events_description(text, text) is
'An endpoint description: empty when null or blank, else at most 500 characters.';
revoke execute on function private.events_description(text, text) from public;

create function private.events_manageable_endpoint(p_endpoint_id uuid)
returns events.endpoints
language plpgsql stable
set search_path = ''
as $$
declare
    v_endpoint events.endpoints;
begin
    perform private.require_permission('platform.admin');
    select * into v_endpoint from events.endpoints as e where e.id = p_endpoint_id;
    if not found then
        perform private.raise_error('events_endpoint_not_found', 'No such webhook endpoint.',
            'PT404');
    end if;
    return v_endpoint;
end;
$$;
comment on function private.events_manageable_endpoint(uuid) is
'The endpoint, for a caller who may manage webhooks (platform.admin), else not_authenticated /
forbidden / events_endpoint_not_found.';
revoke execute on function private.events_manageable_endpoint(uuid) from public;

create function private.events_endpoint_json(p_endpoint events.endpoints) returns jsonb
language sql stable
set search_path = ''
as $$
    select jsonb_build_object(
        'id', p_endpoint.id, 'owner_id', p_endpoint.owner_id, 'url', p_endpoint.url,
        'description', p_endpoint.description, 'topics', p_endpoint.topics,
        'enabled', p_endpoint.enabled, 'disabled_reason', p_endpoint.disabled_reason,
        'disabled_at', p_endpoint.disabled_at, 'failing_since', p_endpoint.failing_since,
        'created_at', p_endpoint.created_at, 'updated_at', p_endpoint.updated_at
    )
$$;
comment on function private.events_endpoint_json(events.endpoints) is
'An endpoint as the API returns it (never with a secret).';
revoke execute on function private.events_endpoint_json(events.endpoints) from public;

-- Endpoints: create, update, rotate, delete -------------------------------------------------
create function api.events_create_endpoint(
    p_url text, p_topics text[] default null, p_description text default null
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_permission('platform.admin');
    v_endpoint events.endpoints;
    v_secret text := private.events_new_secret();
begin
    if (select count(*) from events.endpoints) >= 100 then
        perform private.raise_error('events_endpoint_limit',
            'There are 100 webhook endpoints already; delete one first.', 'PT409');
    end if;
    insert into events.endpoints (owner_id, url, description, topics)
    values (
        v_uid, private.events_check_url(p_url),
        private.events_description(p_description, 'p_description'),
        private.events_check_topics(p_topics)
    )
    returning * into v_endpoint;
    insert into events.endpoint_secrets (endpoint_id, secret) values (v_endpoint.id, v_secret);
    perform private.audit('events.endpoint_created', 'webhook_endpoint', v_endpoint.id::text,
        jsonb_build_object('url', v_endpoint.url, 'topics', v_endpoint.topics));
    return private.events_endpoint_json(v_endpoint) || jsonb_build_object('secret', v_secret);
end;
$$;
comment on function api.events_create_endpoint(text, text[], text) is
'Register a webhook endpoint (admins; API keys need webhooks:manage): p_url (https; plain http
only on the embedded default), p_topics (webhook topics of api.events_catalogue; null = all),
p_description. Returns the endpoint and its signing secret `secret` (whsec_…), shown this
once and never again. Errors: not_authenticated, forbidden, scope_missing, invalid_argument,
text_too_long, events_url_refused, events_topic_unknown, events_endpoint_limit.';
revoke execute on function api.events_create_endpoint(text, text[], text) from public, anon;
grant execute on function api.events_create_endpoint(text, text[], text) to authenticated;

create function api.events_update_endpoint(p_endpoint_id uuid, p_changes jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_endpoint events.endpoints := private.events_manageable_endpoint(p_endpoint_id);
    v_enabled text;
begin
    perform private.arg_keys(p_changes, array['url', 'description', 'topics', 'enabled']);
    v_enabled := private.arg_field(p_changes, 'enabled', 'bool');
    update events.endpoints as e set
        url = case when p_changes ? 'url'
            then private.events_check_url(private.arg_field(p_changes, 'url', 'text'))
            else e.url end,
        description = case when p_changes ? 'description' then private.events_description(
                private.arg_field(p_changes, 'description', 'text'), 'description')
            else e.description end,
        topics = case when p_changes ? 'topics' then private.events_check_topics(
                case when jsonb_typeof(p_changes -> 'topics') = 'null' then null
                else private.arg_field(p_changes, 'topics', 'text[]')::text[] end)
            else e.topics end,
        enabled = coalesce(v_enabled::boolean, e.enabled),
        disabled_reason = case
            when v_enabled::boolean then null
            when v_enabled::boolean is false and e.enabled then 'manual'
            else e.disabled_reason end,
        disabled_at = case
            when v_enabled::boolean then null
            when v_enabled::boolean is false and e.enabled then now()
            else e.disabled_at end,
        failing_since = case when v_enabled::boolean then null else e.failing_since end
    where e.id = v_endpoint.id
    returning * into v_endpoint;
    if not v_endpoint.enabled then
        perform private.events_cancel_open(v_endpoint.id, 'endpoint disabled: manual');
    end if;
    perform private.audit('events.endpoint_updated', 'webhook_endpoint', v_endpoint.id::text,
        p_changes);
    return private.events_endpoint_json(v_endpoint);
end;
$$;
comment on function api.events_update_endpoint(uuid, jsonb) is
'Change an endpoint: p_changes {url, description, topics (array or null = all), enabled}.
enabled false disables it (reason manual) and cancels its pending deliveries; enabled true
re-enables it and forgets its failures. Returns the endpoint (no secret). Errors:
not_authenticated, forbidden, scope_missing, invalid_argument, text_too_long,
events_endpoint_not_found, events_url_refused, events_topic_unknown.';
revoke execute on function api.events_update_endpoint(uuid, jsonb) from public, anon;
grant execute on function api.events_update_endpoint(uuid, jsonb) to authenticated;

create function api.events_rotate_endpoint_secret(
    p_endpoint_id uuid, p_overlap_seconds int default 86400
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_endpoint events.endpoints := private.events_manageable_endpoint(p_endpoint_id);
    v_secret text := private.events_new_secret();
    v_until timestamptz;
begin
    if p_overlap_seconds is null or p_overlap_seconds not between 0 and 604800 then
        perform private.arg_error('p_overlap_seconds',
            'p_overlap_seconds is between 0 and 604800 (7 days).');
    end if;
    v_until := now() + make_interval(secs => p_overlap_seconds);
    delete from events.endpoint_secrets
    where endpoint_id = v_endpoint.id and expires_at <= now();
    update events.endpoint_secrets set expires_at = v_until
    where endpoint_id = v_endpoint.id and expires_at is null;
    insert into events.endpoint_secrets (endpoint_id, secret) values (v_endpoint.id, v_secret);
    perform private.audit('events.endpoint_secret_rotated', 'webhook_endpoint',
        v_endpoint.id::text, jsonb_build_object('previous_expires_at', v_until));
    return jsonb_build_object('endpoint_id', v_endpoint.id, 'secret', v_secret,
        'previous_expires_at', v_until);
end;
$$;
comment on function api.events_rotate_endpoint_secret(uuid, int) is
'Give an endpoint a new signing secret, returned this once as `secret`. The previous secret
keeps signing beside it for p_overlap_seconds (default 1 day, at most 7): deliveries carry
both signatures, space-separated, until previous_expires_at. Errors: not_authenticated,
forbidden, scope_missing, invalid_argument, events_endpoint_not_found.';
revoke execute on function api.events_rotate_endpoint_secret(uuid, int) from public, anon;
grant execute on function api.events_rotate_endpoint_secret(uuid, int) to authenticated;

create function api.events_delete_endpoint(p_endpoint_id uuid) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_endpoint events.endpoints := private.events_manageable_endpoint(p_endpoint_id);
begin
    delete from events.endpoints where id = v_endpoint.id;
    perform private.audit('events.endpoint_deleted', 'webhook_endpoint', v_endpoint.id::text,
        jsonb_build_object('url', v_endpoint.url));
end;
$$;
comment on function api.events_delete_endpoint(uuid) is
'Delete an endpoint with its secrets, deliveries and delivery log. Errors: not_authenticated,
forbidden, scope_missing, events_endpoint_not_found.';
revoke execute on function api.events_delete_endpoint(uuid) from public, anon;
grant execute on function api.events_delete_endpoint(uuid) to authenticated;
