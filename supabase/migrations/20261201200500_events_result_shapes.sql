-- Events: the declared result shapes of its api functions that return jsonb.
--
-- One JSON Schema (draft 2020-12) per function, registered with ops.declare_result_shape
-- (20261201200000_ops_api_result_shapes.sql). The OpenAPI document, the TypeScript types and
-- the Python SDK read them; flagship.testing.harness.rpc validates every real result against
-- them, so a change to a function's result changes its shape here in the same commit.

select ops.declare_result_shape('api.events_cancel_newsletter', '{
    "type": "object",
    "description": "The campaign: a scheduled one back to draft, a sending one stopped.",
    "properties": {
        "id": {"type": "integer", "description": "Campaign id."},
        "status": {"type": "string", "description": "New status.", "enum": ["draft", "cancelled"]}
    },
    "required": ["id", "status"],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.events_create_endpoint', '{
    "type": "object",
    "description": "The new webhook endpoint and its signing secret (shown once).",
    "properties": {
        "id": {"type": "string", "description": "Endpoint id.", "format": "uuid"},
        "owner_id": {"type": "string", "description": "Admin who created it.", "format": "uuid"},
        "url": {
            "type": "string", "description": "HTTPS URL deliveries are POSTed to.", "format": "uri"
        },
        "description": {"type": "string", "description": "Description; may be empty."},
        "topics": {
            "type": ["array", "null"],
            "description": "Topics delivered; null means every webhook topic.",
            "items": {"type": "string"}
        },
        "enabled": {"type": "boolean", "description": "Deliveries are made."},
        "disabled_reason": {
            "type": ["string", "null"], "description": "Why it is disabled; null while enabled.",
            "enum": ["manual", "failing", null]
        },
        "disabled_at": {
            "type": ["string", "null"], "description": "When it was disabled.",
            "format": "date-time"
        },
        "failing_since": {
            "type": ["string", "null"],
            "description": "First failure of the current run of failures.", "format": "date-time"
        },
        "created_at": {"type": "string", "description": "Created.", "format": "date-time"},
        "updated_at": {"type": "string", "description": "Last changed.", "format": "date-time"},
        "secret": {
            "type": "string",
            "description": "Signing secret (whsec_...). Shown only in this response; store it now."
        }
    },
    "required": [
        "id", "owner_id", "url", "description", "topics", "enabled", "disabled_reason",
        "disabled_at", "failing_since", "created_at", "updated_at", "secret"
    ],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.events_preview_newsletter', '{
    "type": "object",
    "description": "A campaign as it will be sent, and how many it reaches.",
    "properties": {
        "id": {"type": "integer", "description": "Campaign id."},
        "subject": {"type": "string", "description": "Email subject."},
        "headline": {"type": ["string", "null"], "description": "Headline above the body."},
        "body": {"type": "string", "description": "Body (Markdown)."},
        "body_html": {
            "type": ["string", "null"],
            "description": "Body rendered to sanitised HTML; null until rendered."
        },
        "audience": {
            "type": "object",
            "description": "Who the campaign goes to.",
            "oneOf": [
                {
                    "type": "object",
                    "description": "Every user opted in.",
                    "properties": {
                        "kind": {
                            "type": "string", "const": "everyone", "description": "Audience kind."
                        }
                    },
                    "required": ["kind"],
                    "additionalProperties": false
                },
                {
                    "type": "object",
                    "description": "Learners of a course.",
                    "properties": {
                        "kind": {
                            "type": "string", "const": "course", "description": "Audience kind."
                        },
                        "course_id": {"type": "string", "description": "Course.", "format": "uuid"}
                    },
                    "required": ["kind", "course_id"],
                    "additionalProperties": false
                },
                {
                    "type": "object",
                    "description": "Participants of a CTF event.",
                    "properties": {
                        "kind": {
                            "type": "string", "const": "event", "description": "Audience kind."
                        },
                        "event_id": {"type": "string", "description": "Event.", "format": "uuid"}
                    },
                    "required": ["kind", "event_id"],
                    "additionalProperties": false
                },
                {
                    "type": "object",
                    "description": "Holders of a plan feature.",
                    "properties": {
                        "kind": {
                            "type": "string", "const": "plan", "description": "Audience kind."
                        },
                        "feature": {
                            "type": "string", "description": "Entitlement feature, such as pro."
                        }
                    },
                    "required": ["kind", "feature"],
                    "additionalProperties": false
                }
            ]
        },
        "status": {
            "type": "string", "description": "Campaign status.",
            "enum": ["draft", "scheduled", "sending", "sent", "cancelled"]
        },
        "recipients": {"type": "integer", "description": "Users it would be sent to now."},
        "suppressed": {
            "type": "integer",
            "description": "Users of the audience left out (suppressed addresses)."
        }
    },
    "required": [
        "id", "subject", "headline", "body", "body_html", "audience", "status", "recipients",
        "suppressed"
    ],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.events_rotate_endpoint_secret', '{
    "type": "object",
    "description": "The new signing secret (shown once); the old one works until then.",
    "properties": {
        "endpoint_id": {"type": "string", "description": "Endpoint.", "format": "uuid"},
        "secret": {
            "type": "string",
            "description": "Signing secret (whsec_...). Shown only in this response; store it now."
        },
        "previous_expires_at": {
            "type": "string", "description": "When the previous secret stops signing.",
            "format": "date-time"
        }
    },
    "required": ["endpoint_id", "secret", "previous_expires_at"],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.events_schedule_newsletter', '{
    "type": "object",
    "description": "The campaign, scheduled.",
    "properties": {
        "id": {"type": "integer", "description": "Campaign id."},
        "status": {"type": "string", "const": "scheduled", "description": "New status."},
        "scheduled_at": {
            "type": "string", "description": "When sending starts (now at the earliest).",
            "format": "date-time"
        }
    },
    "required": ["id", "status", "scheduled_at"],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.events_update_endpoint', '{
    "type": "object",
    "description": "The webhook endpoint after the change.",
    "properties": {
        "id": {"type": "string", "description": "Endpoint id.", "format": "uuid"},
        "owner_id": {"type": "string", "description": "Admin who created it.", "format": "uuid"},
        "url": {
            "type": "string", "description": "HTTPS URL deliveries are POSTed to.", "format": "uri"
        },
        "description": {"type": "string", "description": "Description; may be empty."},
        "topics": {
            "type": ["array", "null"],
            "description": "Topics delivered; null means every webhook topic.",
            "items": {"type": "string"}
        },
        "enabled": {"type": "boolean", "description": "Deliveries are made."},
        "disabled_reason": {
            "type": ["string", "null"], "description": "Why it is disabled; null while enabled.",
            "enum": ["manual", "failing", null]
        },
        "disabled_at": {
            "type": ["string", "null"], "description": "When it was disabled.",
            "format": "date-time"
        },
        "failing_since": {
            "type": ["string", "null"],
            "description": "First failure of the current run of failures.", "format": "date-time"
        },
        "created_at": {"type": "string", "description": "Created.", "format": "date-time"},
        "updated_at": {"type": "string", "description": "Last changed.", "format": "date-time"}
    },
    "required": [
        "id", "owner_id", "url", "description", "topics", "enabled", "disabled_reason",
        "disabled_at", "failing_since", "created_at", "updated_at"
    ],
    "additionalProperties": false
}'::jsonb);
