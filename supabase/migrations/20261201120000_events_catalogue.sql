-- events: the catalogue of outbox topics and the strict outbox contract.
--
-- Every topic queued with ops.enqueue('<topic>', ...) has one row in ops.event_types: its
-- version, what it means, the JSON Schema of its payload, an example payload, the Python
-- module whose `@handler("<topic>")` delivers it, and whether outgoing webhooks may subscribe
-- to it. The sync worker validates every claimed payload against the schema and buries jobs
-- of unknown topics or with invalid payloads as dead letters, with the reason; nothing is
-- acknowledged without delivery. tests/guards/test_event_catalogue.py fails when a queued
-- topic has no row, schema, example or handler, or when an example does not validate.
--
-- Registering a topic is one statement in the migration of the topic's owner:
--     select ops.register_event_type('<topic>', 1, '<summary>', '<schema>', '<example>',
--         '<handler module>', <webhooks may subscribe>);
-- (an upsert, so a topic re-registered with a new version or schema keeps one row).

-- Catalogue ---------------------------------------------------------------------------------
create table ops.event_types (
    topic text primary key check (topic ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
    version int not null default 1 check (version >= 1),
    summary text not null check (char_length(summary) between 1 and 1000),
    payload_schema jsonb not null check (jsonb_typeof(payload_schema) = 'object'),
    example jsonb not null check (jsonb_typeof(example) = 'object'),
    handler text not null check (handler ~ '^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$'),
    webhooks boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table ops.event_types is
'The event catalogue: one row per outbox topic (version, summary, JSON Schema of the
payload, example, the Python module of its @handler, whether webhooks may subscribe).
Rows are written by the migration of the topic''s owner through ops.register_event_type;
integrators read it through api.events_catalogue.';
comment on column ops.event_types.handler is
'The Python module whose @handler("<topic>") delivers the topic (for example sync.email).';
comment on column ops.event_types.webhooks is
'True when outgoing webhook endpoints may subscribe to the topic (public, documented payload).';
alter table ops.event_types enable row level security;
create trigger event_types_touch before update on ops.event_types
for each row execute function private.touch_updated_at();
create policy event_types_read on ops.event_types for select to anon, authenticated
using (true);
grant select on ops.event_types to anon, authenticated, service_role;

create function ops.register_event_type(
    p_topic text,
    p_version int,
    p_summary text,
    p_payload_schema jsonb,
    p_example jsonb,
    p_handler text,
    p_webhooks boolean default false
) returns void
language sql
set search_path = ''
as $$
    insert into ops.event_types (topic, version, summary, payload_schema, example, handler,
                                 webhooks)
    values (p_topic, p_version, p_summary, p_payload_schema, p_example, p_handler, p_webhooks)
    on conflict (topic) do update set
        version = excluded.version, summary = excluded.summary,
        payload_schema = excluded.payload_schema, example = excluded.example,
        handler = excluded.handler, webhooks = excluded.webhooks
$$;
comment on function ops.register_event_type(text, int, text, jsonb, jsonb, text, boolean) is
'Migrations: register (or update) a topic of the event catalogue. The JSON Schema and the
example are checked by tests/guards/test_event_catalogue.py.';
revoke execute on function ops.register_event_type(
    text, int, text, jsonb, jsonb, text, boolean
) from public;

-- Dead letters ------------------------------------------------------------------------------
create function ops.bury_outbox(p_id bigint, p_reason text) returns text
language sql
set search_path = ''
as $$
    update ops.outbox
    set status = 'dead', last_error = left(p_reason, 2000), locked_by = null,
        locked_at = null, updated_at = clock_timestamp()
    where id = p_id and status = 'processing'
    returning status
$$;
comment on function ops.bury_outbox(bigint, text) is
'Worker: make a claimed job a dead letter at once, with the reason (unknown topic, payload
that fails its schema, a payload no retry can fix). Null when the claim was lost.';
revoke execute on function ops.bury_outbox(bigint, text) from public;
grant execute on function ops.bury_outbox(bigint, text) to service_role;

create function ops.retry_dead_outbox(p_id bigint) returns text
language sql
set search_path = ''
as $$
    update ops.outbox
    set status = 'pending', attempts = 0, run_after = clock_timestamp(),
        updated_at = clock_timestamp()
    where id = p_id and status = 'dead'
    returning status
$$;
comment on function ops.retry_dead_outbox(bigint) is
'Operators: queue a dead letter again (after its handler or schema was fixed), with fresh
attempts; its last_error stays until the next outcome. Null when the job is not dead.';
revoke execute on function ops.retry_dead_outbox(bigint) from public;
grant execute on function ops.retry_dead_outbox(bigint) to service_role;

-- API ---------------------------------------------------------------------------------------
create view api.events_catalogue with (security_invoker = true) as
select
    e.topic,
    e.version,
    e.summary,
    e.payload_schema,
    e.example,
    e.webhooks,
    e.updated_at
from ops.event_types as e
where (select private.key_may_read('api.events_catalogue'));
comment on view api.events_catalogue is
'Every event the platform emits: topic, version, summary, JSON Schema of the payload, an
example, and whether webhook endpoints may subscribe to it. Public reference data.';
grant select on api.events_catalogue to anon, authenticated, service_role;
insert into accounts.api_object_scopes (object, kind, access, scope) values
('api.events_catalogue', 'view', 'any_key', null);

-- The topics that existed before the catalogue ----------------------------------------------
select ops.register_event_type(
    'email.send', 1,
    'Send one email from a template of mail/templates (the recipient and permission come '
    || 'from private.email_route: contact email, suppressions, opt-outs).',
    $json${
      "type": "object",
      "required": ["template"],
      "anyOf": [{"required": ["to"]}, {"required": ["user_id"]}],
      "properties": {
        "template": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
        "to": {"type": "string", "format": "email", "maxLength": 320},
        "user_id": {"type": "string", "format": "uuid"},
        "category": {"type": "string", "pattern": "^[a-z][a-z_]*$"},
        "data": {"type": "object"},
        "object": {
          "type": "object",
          "properties": {"type": {"type": "string"}, "id": {"type": ["string", "integer"]}}
        },
        "attachments": {
          "type": "array",
          "items": {
            "type": "object",
            "required": ["filename", "content_base64"],
            "properties": {
              "filename": {"type": "string"},
              "content_type": {"type": "string"},
              "content_base64": {"type": "string"}
            }
          }
        }
      }
    }$json$,
    $json${"template": "welcome", "user_id": "7f0c1d1e-2b1a-4c55-9a3e-0d3c2b1a0f00",
           "category": "account",
           "object": {"type": "user", "id": "7f0c1d1e-2b1a-4c55-9a3e-0d3c2b1a0f00"}}$json$,
    'sync.email'
);

select ops.register_event_type(
    'content.render', 1,
    'Render a markdown column to sanitised HTML (queued whenever the markdown changes).',
    $json${
      "type": "object",
      "required": ["table", "id", "column"],
      "properties": {
        "table": {"type": "string", "pattern": "^[a-z_]+\\.[a-z_]+$"},
        "id": {"type": "string", "minLength": 1},
        "column": {"type": "string", "pattern": "^[a-z_]+$"}
      }
    }$json$,
    '{"table": "community.posts", "id": "42", "column": "body"}',
    'sync.render'
);

select ops.register_event_type(
    'billing.receipt', 1,
    'An invoice was paid: render its receipt PDF and queue the receipt email (once per invoice).',
    $json${
      "type": "object",
      "required": ["invoice_id"],
      "properties": {"invoice_id": {"type": "string", "pattern": "^in_[A-Za-z0-9]+$"}}
    }$json$,
    '{"invoice_id": "in_1PqR2sT3uV4wX5yZ"}',
    'sync.billing'
);

select ops.register_event_type(
    'billing.entitlement_changed', 1,
    'A user gained or lost a paid feature (subscription, seat, grant or expiry).',
    $json${
      "type": "object",
      "required": ["user_id", "feature", "entitled"],
      "properties": {
        "user_id": {"type": "string", "format": "uuid"},
        "feature": {"type": "string", "minLength": 1},
        "entitled": {"type": "boolean"},
        "cause": {"type": ["string", "null"]}
      }
    }$json$,
    $json${"user_id": "7f0c1d1e-2b1a-4c55-9a3e-0d3c2b1a0f00", "feature": "pro_courses",
           "entitled": true, "cause": "evt_1PqR2sT3uV4wX5yZ"}$json$,
    'sync.lifecycle', true
);

select ops.register_event_type(
    'certificate.issued', 1,
    'A learner completed a course and its certificate was issued (the email links the PDF '
    || 'and the public verification page).',
    $json${
      "type": "object",
      "required": ["certificate_id", "code", "user_id", "course_id", "course_title",
                   "issued_at"],
      "properties": {
        "certificate_id": {"type": "string", "format": "uuid"},
        "code": {"type": "string", "minLength": 1},
        "user_id": {"type": "string", "format": "uuid"},
        "course_id": {"type": "string", "format": "uuid"},
        "course_title": {"type": "string"},
        "holder_name": {"type": ["string", "null"]},
        "holder_username": {"type": ["string", "null"]},
        "issued_at": {"type": "string", "format": "date-time"}
      }
    }$json$,
    $json${"certificate_id": "1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d", "code": "FS-7K2M-9QX4",
           "user_id": "7f0c1d1e-2b1a-4c55-9a3e-0d3c2b1a0f00",
           "course_id": "2c3d4e5f-6071-4b8c-9dae-1f2a3b4c5d6e",
           "course_title": "Web exploitation 101", "holder_name": "Ada Lovelace",
           "holder_username": "ada", "issued_at": "2026-12-01T12:00:00+00:00"}$json$,
    'sync.lifecycle', true
);

select ops.register_event_type(
    'community.notification_email', 1,
    'Email one notification now (the member chose instant email for its category).',
    $json${
      "type": "object",
      "required": ["user_id", "notification_id", "kind"],
      "properties": {
        "user_id": {"type": "string", "format": "uuid"},
        "notification_id": {"type": "integer", "minimum": 1},
        "kind": {"type": "string", "minLength": 1},
        "object_type": {"type": ["string", "null"]},
        "object_id": {"type": ["string", "null"]},
        "data": {"type": ["object", "null"]}
      }
    }$json$,
    $json${"user_id": "7f0c1d1e-2b1a-4c55-9a3e-0d3c2b1a0f00", "notification_id": 1201,
           "kind": "reply", "object_type": "post", "object_id": "42",
           "data": {"thread_title": "Heap exploitation on glibc 2.39"}}$json$,
    'sync.notifications'
);

select ops.register_event_type(
    'community.notification_digest', 1,
    'Email a member the digest of their unread notifications (daily or weekly, as chosen).',
    $json${
      "type": "object",
      "required": ["user_id", "notification_ids"],
      "properties": {
        "user_id": {"type": "string", "format": "uuid"},
        "notification_ids": {
          "type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 1}
        },
        "frequency": {"enum": ["daily", "weekly"]}
      }
    }$json$,
    $json${"user_id": "7f0c1d1e-2b1a-4c55-9a3e-0d3c2b1a0f00",
           "notification_ids": [1201, 1202, 1207]}$json$,
    'sync.notifications'
);

select ops.register_event_type(
    'community.challenge_proposal_approved', 1,
    'A community challenge proposal was approved: import it as a hidden CTF challenge.',
    $json${
      "type": "object",
      "required": ["contribution_id", "author_id", "title"],
      "properties": {
        "contribution_id": {"type": "integer", "minimum": 1},
        "author_id": {"type": "string", "format": "uuid"},
        "title": {"type": "string"},
        "body": {"type": ["string", "null"]},
        "data": {"type": ["object", "null"]},
        "approved_by": {"type": ["string", "null"], "format": "uuid"}
      }
    }$json$,
    $json${"contribution_id": 17, "author_id": "7f0c1d1e-2b1a-4c55-9a3e-0d3c2b1a0f00",
           "title": "Padding oracle", "body": "Decrypt the cookie.",
           "data": {"category": "crypto", "flag": "flag{example}"},
           "approved_by": "3d4e5f60-7182-4c9d-aebf-2a3b4c5d6e7f"}$json$,
    'sync.ctf'
);

select ops.register_event_type(
    'ctf.solve', 1,
    'A team solved a CTF challenge (points at solve time, blood rank 1-3 or null).',
    $json${
      "type": "object",
      "required": ["solve_id", "event_id", "challenge_id", "team_id", "user_id", "points"],
      "properties": {
        "solve_id": {"type": "integer", "minimum": 1},
        "event_id": {"type": "string", "format": "uuid"},
        "challenge_id": {"type": "string", "format": "uuid"},
        "team_id": {"type": "string", "format": "uuid"},
        "user_id": {"type": "string", "format": "uuid"},
        "points": {"type": "integer"},
        "blood_rank": {"type": ["integer", "null"], "minimum": 1}
      }
    }$json$,
    $json${"solve_id": 5012, "event_id": "4e5f6071-8293-4dae-bfc0-3b4c5d6e7f80",
           "challenge_id": "5f607182-93a4-4ebf-c0d1-4c5d6e7f8091",
           "team_id": "60718293-a4b5-4fc0-d1e2-5d6e7f8091a2",
           "user_id": "7f0c1d1e-2b1a-4c55-9a3e-0d3c2b1a0f00", "points": 500,
           "blood_rank": 1}$json$,
    'sync.ctf', true
);

select ops.register_event_type(
    'ctf.first_blood', 1,
    'The first solve of a CTF challenge (queued beside its ctf.solve).',
    $json${
      "type": "object",
      "required": ["solve_id", "event_id", "challenge_id", "team_id", "user_id"],
      "properties": {
        "solve_id": {"type": "integer", "minimum": 1},
        "event_id": {"type": "string", "format": "uuid"},
        "challenge_id": {"type": "string", "format": "uuid"},
        "team_id": {"type": "string", "format": "uuid"},
        "user_id": {"type": "string", "format": "uuid"}
      }
    }$json$,
    $json${"solve_id": 5012, "event_id": "4e5f6071-8293-4dae-bfc0-3b4c5d6e7f80",
           "challenge_id": "5f607182-93a4-4ebf-c0d1-4c5d6e7f8091",
           "team_id": "60718293-a4b5-4fc0-d1e2-5d6e7f8091a2",
           "user_id": "7f0c1d1e-2b1a-4c55-9a3e-0d3c2b1a0f00"}$json$,
    'sync.ctf', true
);

select ops.register_event_type(
    'ctf.flag_shared', 1,
    'A team submitted another team''s unique flag: the organisers are told (suspected sharing).',
    $json${
      "type": "object",
      "required": ["event_id", "challenge_id", "submitter_team_id", "owner_team_id",
                   "submission_id"],
      "properties": {
        "event_id": {"type": "string", "format": "uuid"},
        "challenge_id": {"type": "string", "format": "uuid"},
        "submitter_team_id": {"type": "string", "format": "uuid"},
        "owner_team_id": {"type": "string", "format": "uuid"},
        "submission_id": {"type": "integer", "minimum": 1}
      }
    }$json$,
    $json${"event_id": "4e5f6071-8293-4dae-bfc0-3b4c5d6e7f80",
           "challenge_id": "5f607182-93a4-4ebf-c0d1-4c5d6e7f8091",
           "submitter_team_id": "60718293-a4b5-4fc0-d1e2-5d6e7f8091a2",
           "owner_team_id": "718293a4-b5c6-4d0e-e2f3-6e7f8091a2b3", "submission_id": 90211}$json$,
    'sync.ctf'
);
