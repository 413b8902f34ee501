-- AI: the declared result shapes of its api functions that return jsonb.
--
-- One JSON Schema (draft 2020-12) per function, registered with ops.declare_result_shape
-- (20261201200000_ops_api_result_shapes.sql). The OpenAPI document, the TypeScript types and
-- the Python SDK read them; flagship.testing.harness.rpc validates every real result against
-- them, so a change to a function's result changes its shape here in the same commit.

select ops.declare_result_shape('api.ai_apply_draft', '{
    "type": "object",
    "description": "The quiz questions created from an AI draft.",
    "properties": {
        "draft_id": {"type": "string", "description": "Draft, now applied.", "format": "uuid"},
        "quiz_id": {
            "type": "string", "description": "Quiz the questions were added to.", "format": "uuid"
        },
        "question_ids": {
            "type": "array",
            "description": "The new questions, in draft order.",
            "items": {"type": "string", "format": "uuid"}
        }
    },
    "required": ["draft_id", "quiz_id", "question_ids"],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.ai_generation_context', '{
    "type": "object",
    "description": "What the model drafts from (public text only); `kind` tells them apart.",
    "oneOf": [
        {
            "type": "object",
            "description": "Context for quiz questions about a lesson.",
            "properties": {
                "kind": {"type": "string", "const": "quiz_questions", "description": "Draft kind."},
                "course_id": {"type": "string", "description": "Course.", "format": "uuid"},
                "lesson_id": {"type": "string", "description": "Lesson.", "format": "uuid"},
                "title": {"type": "string", "description": "Lesson title."},
                "text": {
                    "type": "string", "description": "Lesson body (Markdown); empty when none."
                }
            },
            "required": ["kind", "course_id", "lesson_id", "title", "text"],
            "additionalProperties": false
        },
        {
            "type": "object",
            "description": "Context for a course outline.",
            "properties": {
                "kind": {"type": "string", "const": "course_outline", "description": "Draft kind."},
                "course_id": {"type": "string", "description": "Course.", "format": "uuid"},
                "title": {"type": "string", "description": "Course title."},
                "level": {
                    "type": "string", "description": "Course level.",
                    "enum": ["beginner", "intermediate", "advanced"]
                },
                "tags": {
                    "type": "array",
                    "description": "Course tags.",
                    "items": {"type": "string"}
                },
                "text": {"type": "string", "description": "Summary and description."},
                "modules": {
                    "type": "array",
                    "description": "Existing modules in order.",
                    "items": {
                        "type": "object",
                        "description": "A module.",
                        "properties": {
                            "title": {"type": "string", "description": "Module title."},
                            "lessons": {
                                "type": "array",
                                "description": "Lesson titles in order.",
                                "items": {"type": "string"}
                            }
                        },
                        "required": ["title", "lessons"],
                        "additionalProperties": false
                    }
                }
            },
            "required": ["kind", "course_id", "title", "level", "tags", "text", "modules"],
            "additionalProperties": false
        },
        {
            "type": "object",
            "description": "Context for a challenge write-up (no flags, hints, write-up).",
            "properties": {
                "kind": {
                    "type": "string", "const": "challenge_writeup", "description": "Draft kind."
                },
                "challenge_id": {"type": "string", "description": "Challenge.", "format": "uuid"},
                "event_id": {"type": "string", "description": "Event.", "format": "uuid"},
                "title": {"type": "string", "description": "Challenge title."},
                "category": {"type": "string", "description": "Category."},
                "tags": {"type": "array", "description": "Tags.", "items": {"type": "string"}},
                "difficulty": {
                    "type": ["integer", "null"], "description": "Difficulty; null when not rated."
                },
                "text": {"type": "string", "description": "Public description; empty when none."}
            },
            "required": [
                "kind", "challenge_id", "event_id", "title", "category", "tags", "difficulty",
                "text"
            ],
            "additionalProperties": false
        }
    ]
}'::jsonb);

select ops.declare_result_shape('api.ai_get_my_quota', '{
    "type": "object",
    "description": "The caller''s AI plan, its daily limits and today''s use (UTC day).",
    "properties": {
        "plan": {
            "type": "string", "description": "AI plan, from the caller''s entitlements.",
            "enum": ["free", "pro"]
        },
        "daily_tokens": {"type": "integer", "description": "Tokens allowed per day."},
        "tokens_used": {"type": "integer", "description": "Tokens used today."},
        "daily_requests": {"type": "integer", "description": "Requests allowed per day."},
        "requests_used": {"type": "integer", "description": "Requests made today."},
        "per_minute": {"type": "integer", "description": "Requests allowed per minute."},
        "max_input_chars": {
            "type": "integer", "description": "Longest input accepted, in characters."
        }
    },
    "required": [
        "plan", "daily_tokens", "tokens_used", "daily_requests", "requests_used", "per_minute",
        "max_input_chars"
    ],
    "additionalProperties": false
}'::jsonb);
