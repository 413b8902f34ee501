-- CTF: the declared result shapes of its api functions that return jsonb (export).
--
-- One JSON Schema (draft 2020-12) per function, registered with ops.declare_result_shape
-- (20261201200000_ops_api_result_shapes.sql). The OpenAPI document, the TypeScript types and
-- the Python SDK read them; flagship.testing.harness.rpc validates every real result against
-- them, so a change to a function's result changes its shape here in the same commit.

select ops.declare_result_shape('api.ctf_export_event', '{
    "type": "object",
    "description": "An event export for its organisers (no flag secrets, invite codes).",
    "properties": {
        "format": {
            "type": "string", "const": "flagship-ctf-export/1",
            "description": "Export format version."
        },
        "generated_at": {
            "type": "string", "description": "When the export was made.", "format": "date-time"
        },
        "event": {
            "type": "object",
            "description": "The event.",
            "properties": {
                "id": {
                    "type": "string", "description": "ctf.events.id as stored.", "format": "uuid"
                },
                "slug": {"type": "string", "description": "ctf.events.slug as stored."},
                "title": {"type": "string", "description": "ctf.events.title as stored."},
                "description": {
                    "type": "string", "description": "ctf.events.description as stored."
                },
                "starts_at": {
                    "type": ["string", "null"], "description": "ctf.events.starts_at as stored.",
                    "format": "date-time"
                },
                "ends_at": {
                    "type": ["string", "null"], "description": "ctf.events.ends_at as stored.",
                    "format": "date-time"
                },
                "freeze_at": {
                    "type": ["string", "null"], "description": "ctf.events.freeze_at as stored.",
                    "format": "date-time"
                },
                "paused": {"type": "boolean", "description": "ctf.events.paused as stored."},
                "mode": {
                    "type": "string", "description": "ctf.events.mode as stored.",
                    "enum": ["individual", "teams"]
                },
                "team_size_limit": {
                    "type": ["integer", "null"],
                    "description": "ctf.events.team_size_limit as stored."
                },
                "registration_open": {
                    "type": "boolean", "description": "ctf.events.registration_open as stored."
                },
                "visibility": {
                    "type": "string", "description": "ctf.events.visibility as stored.",
                    "enum": ["public", "members", "private"]
                },
                "is_practice": {
                    "type": "boolean", "description": "ctf.events.is_practice as stored."
                },
                "wrong_per_minute": {
                    "type": "integer", "description": "ctf.events.wrong_per_minute as stored."
                },
                "created_by": {
                    "type": ["string", "null"], "description": "ctf.events.created_by as stored.",
                    "format": "uuid"
                },
                "created_at": {
                    "type": "string", "description": "ctf.events.created_at as stored.",
                    "format": "date-time"
                },
                "updated_at": {
                    "type": "string", "description": "ctf.events.updated_at as stored.",
                    "format": "date-time"
                }
            },
            "required": [
                "id", "slug", "title", "description", "starts_at", "ends_at", "freeze_at", "paused",
                "mode", "team_size_limit", "registration_open", "visibility", "is_practice",
                "wrong_per_minute", "created_by", "created_at", "updated_at"
            ],
            "additionalProperties": false
        },
        "brackets": {
            "type": "array",
            "description": "Brackets, by name.",
            "items": {
                "type": "object",
                "description": "A bracket.",
                "properties": {
                    "id": {
                        "type": "string", "description": "ctf.brackets.id as stored.",
                        "format": "uuid"
                    },
                    "event_id": {
                        "type": "string", "description": "ctf.brackets.event_id as stored.",
                        "format": "uuid"
                    },
                    "name": {"type": "string", "description": "ctf.brackets.name as stored."},
                    "created_at": {
                        "type": "string", "description": "ctf.brackets.created_at as stored.",
                        "format": "date-time"
                    }
                },
                "required": ["id", "event_id", "name", "created_at"],
                "additionalProperties": false
            }
        },
        "challenges": {
            "type": "array",
            "description": "Challenges, by board position.",
            "items": {
                "type": "object",
                "description": "A challenge with its content.",
                "properties": {
                    "id": {
                        "type": "string", "description": "ctf.challenges.id as stored.",
                        "format": "uuid"
                    },
                    "event_id": {
                        "type": "string", "description": "ctf.challenges.event_id as stored.",
                        "format": "uuid"
                    },
                    "title": {"type": "string", "description": "ctf.challenges.title as stored."},
                    "category": {
                        "type": "string", "description": "ctf.challenges.category as stored."
                    },
                    "tags": {
                        "type": "array",
                        "description": "ctf.challenges.tags as stored.",
                        "items": {"type": "string"}
                    },
                    "difficulty": {
                        "type": ["integer", "null"],
                        "description": "ctf.challenges.difficulty as stored."
                    },
                    "state": {
                        "type": "string", "description": "ctf.challenges.state as stored.",
                        "enum": ["hidden", "visible", "locked"]
                    },
                    "release_at": {
                        "type": ["string", "null"],
                        "description": "ctf.challenges.release_at as stored.", "format": "date-time"
                    },
                    "anonymise_when_locked": {
                        "type": "boolean",
                        "description": "ctf.challenges.anonymise_when_locked as stored."
                    },
                    "preview": {
                        "type": "string", "description": "ctf.challenges.preview as stored."
                    },
                    "max_attempts": {
                        "type": ["integer", "null"],
                        "description": "ctf.challenges.max_attempts as stored."
                    },
                    "attempt_window": {
                        "type": ["string", "null"],
                        "description": "ctf.challenges.attempt_window as stored."
                    },
                    "flag_logic": {
                        "type": "string", "description": "ctf.challenges.flag_logic as stored."
                    },
                    "writeup_visibility": {
                        "type": "string",
                        "description": "ctf.challenges.writeup_visibility as stored.",
                        "enum": ["never", "after_solve", "after_event"]
                    },
                    "author_id": {
                        "type": ["string", "null"],
                        "description": "ctf.challenges.author_id as stored.", "format": "uuid"
                    },
                    "author_credit": {
                        "type": ["string", "null"],
                        "description": "ctf.challenges.author_credit as stored."
                    },
                    "scoring": {
                        "type": "string", "description": "ctf.challenges.scoring as stored.",
                        "enum": ["static", "linear", "logarithmic", "rctf"]
                    },
                    "initial": {
                        "type": "integer", "description": "ctf.challenges.initial as stored."
                    },
                    "minimum": {
                        "type": "integer", "description": "ctf.challenges.minimum as stored."
                    },
                    "decay": {"type": "integer", "description": "ctf.challenges.decay as stored."},
                    "first_blood_bonus": {
                        "type": "array",
                        "description": "ctf.challenges.first_blood_bonus as stored.",
                        "items": {"type": "number"}
                    },
                    "value": {"type": "integer", "description": "ctf.challenges.value as stored."},
                    "solve_count": {
                        "type": "integer", "description": "ctf.challenges.solve_count as stored."
                    },
                    "position": {
                        "type": "integer", "description": "ctf.challenges.position as stored."
                    },
                    "created_at": {
                        "type": "string", "description": "ctf.challenges.created_at as stored.",
                        "format": "date-time"
                    },
                    "updated_at": {
                        "type": "string", "description": "ctf.challenges.updated_at as stored.",
                        "format": "date-time"
                    },
                    "source_contribution_id": {
                        "type": ["integer", "null"],
                        "description": "ctf.challenges.source_contribution_id as stored."
                    },
                    "description": {
                        "type": ["string", "null"], "description": "Description (Markdown)."
                    },
                    "connection_info": {
                        "type": ["string", "null"], "description": "How to reach the challenge."
                    },
                    "writeup": {
                        "type": ["string", "null"], "description": "The official write-up."
                    },
                    "prerequisites": {
                        "type": "array",
                        "description": "Challenges to solve first.",
                        "items": {"type": "string", "format": "uuid"}
                    },
                    "flags": {
                        "type": "array",
                        "description": "Flags (kind and label only).",
                        "items": {
                            "type": "object",
                            "description": "A flag.",
                            "properties": {
                                "kind": {
                                    "type": "string", "description": "Kind.",
                                    "enum": ["static", "static_ci", "regex", "team"]
                                },
                                "label": {"type": ["string", "null"], "description": "Label."}
                            },
                            "required": ["kind", "label"],
                            "additionalProperties": false
                        }
                    },
                    "hints": {
                        "type": "array",
                        "description": "Hints (title and cost only).",
                        "items": {
                            "type": "object",
                            "description": "A hint.",
                            "properties": {
                                "title": {"type": "string", "description": "Title."},
                                "cost": {"type": "integer", "description": "Cost."}
                            },
                            "required": ["title", "cost"],
                            "additionalProperties": false
                        }
                    },
                    "files": {
                        "type": "array",
                        "description": "Files.",
                        "items": {
                            "type": "object",
                            "description": "A file.",
                            "properties": {
                                "name": {"type": "string", "description": "File name."},
                                "storage_path": {"type": "string", "description": "Storage path."}
                            },
                            "required": ["name", "storage_path"],
                            "additionalProperties": false
                        }
                    }
                },
                "required": [
                    "id", "event_id", "title", "category", "tags", "difficulty", "state",
                    "release_at", "anonymise_when_locked", "preview", "max_attempts",
                    "attempt_window", "flag_logic", "writeup_visibility", "author_id",
                    "author_credit", "scoring", "initial", "minimum", "decay", "first_blood_bonus",
                    "value", "solve_count", "position", "created_at", "updated_at",
                    "source_contribution_id", "description", "connection_info", "writeup",
                    "prerequisites", "flags", "hints", "files"
                ],
                "additionalProperties": false
            }
        },
        "teams": {
            "type": "array",
            "description": "Teams, by name.",
            "items": {
                "type": "object",
                "description": "A team and its members.",
                "properties": {
                    "id": {
                        "type": "string", "description": "ctf.teams.id as stored.", "format": "uuid"
                    },
                    "event_id": {
                        "type": "string", "description": "ctf.teams.event_id as stored.",
                        "format": "uuid"
                    },
                    "name": {"type": "string", "description": "ctf.teams.name as stored."},
                    "captain_id": {
                        "type": ["string", "null"],
                        "description": "ctf.teams.captain_id as stored.", "format": "uuid"
                    },
                    "bracket_id": {
                        "type": ["string", "null"],
                        "description": "ctf.teams.bracket_id as stored.", "format": "uuid"
                    },
                    "solo": {"type": "boolean", "description": "ctf.teams.solo as stored."},
                    "banned": {"type": "boolean", "description": "ctf.teams.banned as stored."},
                    "hidden": {"type": "boolean", "description": "ctf.teams.hidden as stored."},
                    "created_at": {
                        "type": "string", "description": "ctf.teams.created_at as stored.",
                        "format": "date-time"
                    },
                    "updated_at": {
                        "type": "string", "description": "ctf.teams.updated_at as stored.",
                        "format": "date-time"
                    },
                    "members": {
                        "type": "array",
                        "description": "Member user ids.",
                        "items": {"type": "string", "format": "uuid"}
                    }
                },
                "required": [
                    "id", "event_id", "name", "captain_id", "bracket_id", "solo", "banned",
                    "hidden", "created_at", "updated_at", "members"
                ],
                "additionalProperties": false
            }
        },
        "solves": {
            "type": "array",
            "description": "Solves.",
            "items": {
                "type": "object",
                "description": "A solve.",
                "properties": {
                    "id": {"type": "integer", "description": "ctf.solves.id as stored."},
                    "event_id": {
                        "type": "string", "description": "ctf.solves.event_id as stored.",
                        "format": "uuid"
                    },
                    "challenge_id": {
                        "type": "string", "description": "ctf.solves.challenge_id as stored.",
                        "format": "uuid"
                    },
                    "team_id": {
                        "type": "string", "description": "ctf.solves.team_id as stored.",
                        "format": "uuid"
                    },
                    "user_id": {
                        "type": ["string", "null"], "description": "ctf.solves.user_id as stored.",
                        "format": "uuid"
                    },
                    "blood_rank": {
                        "type": ["integer", "null"],
                        "description": "ctf.solves.blood_rank as stored."
                    },
                    "solved_at": {
                        "type": "string", "description": "ctf.solves.solved_at as stored.",
                        "format": "date-time"
                    }
                },
                "required": [
                    "id", "event_id", "challenge_id", "team_id", "user_id", "blood_rank",
                    "solved_at"
                ],
                "additionalProperties": false
            }
        },
        "awards": {
            "type": "array",
            "description": "Awards and penalties.",
            "items": {
                "type": "object",
                "description": "An award.",
                "properties": {
                    "id": {"type": "integer", "description": "ctf.awards.id as stored."},
                    "event_id": {
                        "type": "string", "description": "ctf.awards.event_id as stored.",
                        "format": "uuid"
                    },
                    "team_id": {
                        "type": "string", "description": "ctf.awards.team_id as stored.",
                        "format": "uuid"
                    },
                    "value": {"type": "integer", "description": "ctf.awards.value as stored."},
                    "reason": {"type": "string", "description": "ctf.awards.reason as stored."},
                    "hint_id": {
                        "type": ["string", "null"], "description": "ctf.awards.hint_id as stored.",
                        "format": "uuid"
                    },
                    "created_by": {
                        "type": ["string", "null"],
                        "description": "ctf.awards.created_by as stored.", "format": "uuid"
                    },
                    "created_at": {
                        "type": "string", "description": "ctf.awards.created_at as stored.",
                        "format": "date-time"
                    }
                },
                "required": [
                    "id", "event_id", "team_id", "value", "reason", "hint_id", "created_by",
                    "created_at"
                ],
                "additionalProperties": false
            }
        },
        "standings": {
            "type": "array",
            "description": "Standings, best first.",
            "items": {
                "type": "object",
                "description": "A standing.",
                "properties": {
                    "event_id": {
                        "type": "string", "description": "ctf.standings.event_id as stored.",
                        "format": "uuid"
                    },
                    "team_id": {
                        "type": "string", "description": "ctf.standings.team_id as stored.",
                        "format": "uuid"
                    },
                    "bracket_id": {
                        "type": ["string", "null"],
                        "description": "ctf.standings.bracket_id as stored.", "format": "uuid"
                    },
                    "ranked": {"type": "boolean", "description": "ctf.standings.ranked as stored."},
                    "score": {"type": "integer", "description": "ctf.standings.score as stored."},
                    "solve_count": {
                        "type": "integer", "description": "ctf.standings.solve_count as stored."
                    },
                    "last_score_at": {
                        "type": ["string", "null"],
                        "description": "ctf.standings.last_score_at as stored.",
                        "format": "date-time"
                    }
                },
                "required": [
                    "event_id", "team_id", "bracket_id", "ranked", "score", "solve_count",
                    "last_score_at"
                ],
                "additionalProperties": false
            }
        }
    },
    "required": [
        "format", "generated_at", "event", "brackets", "challenges", "teams", "solves", "awards",
        "standings"
    ],
    "additionalProperties": false
}'::jsonb);
