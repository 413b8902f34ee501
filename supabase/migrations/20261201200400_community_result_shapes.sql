-- Community: the declared result shapes of its api functions that return jsonb.
--
-- One JSON Schema (draft 2020-12) per function, registered with ops.declare_result_shape
-- (20261201200000_ops_api_result_shapes.sql). The OpenAPI document, the TypeScript types and
-- the Python SDK read them; flagship.testing.harness.rpc validates every real result against
-- them, so a change to a function's result changes its shape here in the same commit.

select ops.declare_result_shape('api.community_count_notifications', '{
    "type": "object",
    "description": "The caller''s unread in-app notifications.",
    "properties": {
        "unread": {"type": "integer", "description": "Unread in-app notifications.", "minimum": 0}
    },
    "required": ["unread"],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.community_get_moderation_stats', '{
    "type": "object",
    "description": "Moderation queue and activity since a time (default: 30 days ago).",
    "properties": {
        "since": {"type": "string", "description": "Start of the period.", "format": "date-time"},
        "open_items": {"type": "integer", "description": "Review items pending now."},
        "open_flags": {"type": "integer", "description": "Reports on pending review items."},
        "open_appeals": {"type": "integer", "description": "Appeals open now."},
        "resolved": {"type": "integer", "description": "Review items resolved in the period."},
        "decisions": {
            "type": "object",
            "description": "Review items resolved in the period, by decision.",
            "properties": {
                "agreed": {"type": "integer", "description": "Items resolved as agreed."},
                "disagreed": {"type": "integer", "description": "Items resolved as disagreed."},
                "deferred": {"type": "integer", "description": "Items resolved as deferred."}
            },
            "additionalProperties": false
        },
        "resolution_seconds": {
            "type": "object",
            "description": "Seconds from report to decision; nulls when nothing was resolved.",
            "properties": {
                "avg": {"type": ["number", "null"], "description": "Mean."},
                "median": {"type": ["number", "null"], "description": "Median."},
                "p95": {"type": ["number", "null"], "description": "95th percentile."}
            },
            "required": ["avg", "median", "p95"],
            "additionalProperties": false
        },
        "actions_by_moderator": {
            "type": "array",
            "description": "Moderation actions in the period per moderator, most first.",
            "items": {
                "type": "object",
                "description": "A moderator''s actions.",
                "properties": {
                    "moderator_id": {
                        "type": ["string", "null"],
                        "description": "Moderator; null once the account is erased.",
                        "format": "uuid"
                    },
                    "username": {"type": ["string", "null"], "description": "Moderator user name."},
                    "total": {"type": "integer", "description": "Actions taken."},
                    "by_action": {
                        "type": "object",
                        "description": "Actions taken, by action.",
                        "properties": {
                            "hide": {"type": "integer", "description": "hide actions."},
                            "restore": {"type": "integer", "description": "restore actions."},
                            "lock": {"type": "integer", "description": "lock actions."},
                            "unlock": {"type": "integer", "description": "unlock actions."},
                            "pin": {"type": "integer", "description": "pin actions."},
                            "unpin": {"type": "integer", "description": "unpin actions."},
                            "move": {"type": "integer", "description": "move actions."},
                            "delete": {"type": "integer", "description": "delete actions."},
                            "silence": {"type": "integer", "description": "silence actions."},
                            "unsilence": {"type": "integer", "description": "unsilence actions."},
                            "suspend": {"type": "integer", "description": "suspend actions."},
                            "unsuspend": {"type": "integer", "description": "unsuspend actions."}
                        },
                        "additionalProperties": false
                    }
                },
                "required": ["moderator_id", "username", "total", "by_action"],
                "additionalProperties": false
            }
        }
    },
    "required": [
        "since", "open_items", "open_flags", "open_appeals", "resolved", "decisions",
        "resolution_seconds", "actions_by_moderator"
    ],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.community_record_visit', '{
    "type": "object",
    "description": "The caller''s trust level after recording today''s visit.",
    "properties": {
        "trust_level": {
            "type": "integer", "description": "Trust level, 0 to 4.", "minimum": 0, "maximum": 4
        }
    },
    "required": ["trust_level"],
    "additionalProperties": false
}'::jsonb);
