-- CTF: the declared result shapes of its api functions that return jsonb.
--
-- One JSON Schema (draft 2020-12) per function, registered with ops.declare_result_shape
-- (20261201200000_ops_api_result_shapes.sql). The OpenAPI document, the TypeScript types and
-- the Python SDK read them; flagship.testing.harness.rpc validates every real result against
-- them, so a change to a function's result changes its shape here in the same commit.

select ops.declare_result_shape('api.ctf_create_team', '{
    "type": "object",
    "description": "The new team; the caller is its captain.",
    "properties": {
        "team_id": {"type": "string", "description": "Team id.", "format": "uuid"},
        "invite_code": {
            "type": "string",
            "description": "Code others join the team with; share it with team mates only."
        }
    },
    "required": ["team_id", "invite_code"],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.ctf_submit', '{
    "type": "object",
    "description": "The outcome of a flag submission; `status` tells the shapes apart.",
    "oneOf": [
        {
            "type": "object",
            "description": "The flag was right and the challenge is solved now.",
            "properties": {
                "status": {"type": "string", "const": "correct", "description": "Outcome."},
                "correct": {"type": "boolean", "const": true, "description": "The flag was right."},
                "points": {
                    "type": "integer",
                    "description": "Points the team earned, first-blood bonus included."
                },
                "value": {
                    "type": "integer",
                    "description": "The challenge value after this solve (dynamic scoring)."
                },
                "first_blood": {"type": "boolean", "description": "The first counted solve."},
                "blood_rank": {
                    "type": ["integer", "null"],
                    "description": "Solve order (1 = first blood); null for hidden or banned teams."
                },
                "solve_count": {
                    "type": "integer", "description": "Counted solves of the challenge now."
                }
            },
            "required": [
                "status", "correct", "points", "value", "first_blood", "blood_rank", "solve_count"
            ],
            "additionalProperties": false
        },
        {
            "type": "object",
            "description": "One of several required flags was right (flag_logic all).",
            "properties": {
                "status": {"type": "string", "const": "partial", "description": "Outcome."},
                "correct": {"type": "boolean", "const": true, "description": "The flag was right."},
                "flags_found": {"type": "integer", "description": "Flags the team has found."},
                "flags_total": {"type": "integer", "description": "Flags the challenge requires."}
            },
            "required": ["status", "correct", "flags_found", "flags_total"],
            "additionalProperties": false
        },
        {
            "type": "object",
            "description": "The flag was wrong.",
            "properties": {
                "status": {"type": "string", "const": "incorrect", "description": "Outcome."},
                "correct": {"type": "boolean", "const": false, "description": "Not right."},
                "attempts_left": {
                    "type": ["integer", "null"],
                    "description": "Wrong attempts left in the current limit; null when unlimited."
                }
            },
            "required": ["status", "correct", "attempts_left"],
            "additionalProperties": false
        },
        {
            "type": "object",
            "description": "The flag is another team''s (reported to the organisers).",
            "properties": {
                "status": {"type": "string", "const": "shared_flag", "description": "Outcome."},
                "correct": {"type": "boolean", "const": false, "description": "Not right."},
                "code": {
                    "type": "string", "const": "ctf_flag_shared",
                    "description": "The code clients show."
                },
                "attempts_left": {
                    "type": ["integer", "null"],
                    "description": "Wrong attempts left in the current limit; null when unlimited."
                }
            },
            "required": ["status", "correct", "code", "attempts_left"],
            "additionalProperties": false
        },
        {
            "type": "object",
            "description": "The team had already solved it; nothing was scored.",
            "properties": {
                "status": {"type": "string", "const": "already_solved", "description": "Outcome."},
                "correct": {
                    "type": "boolean",
                    "description": "Whether this flag was right (false when not evaluated)."
                },
                "already_solved": {
                    "type": "boolean", "const": true, "description": "Already solved."
                }
            },
            "required": ["status", "correct", "already_solved"],
            "additionalProperties": false
        }
    ]
}'::jsonb);

select ops.declare_result_shape('api.ctf_unlock_hint', '{
    "type": "object",
    "description": "The hint, unlocked for the team (charged once, free after the event).",
    "properties": {
        "hint_id": {"type": "string", "description": "Hint.", "format": "uuid"},
        "cost": {"type": "integer", "description": "Points it costs the team."},
        "newly_unlocked": {
            "type": "boolean", "description": "False when the team had already unlocked it."
        },
        "content": {"type": ["string", "null"], "description": "The hint text."}
    },
    "required": ["hint_id", "cost", "newly_unlocked", "content"],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.ctf_list_flags', '{
    "type": "array",
    "description": "The flags of a challenge for its organisers (no secret or digest).",
    "items": {
        "type": "object",
        "description": "A flag.",
        "properties": {
            "id": {"type": "string", "description": "Flag id.", "format": "uuid"},
            "kind": {
                "type": "string", "description": "How submissions are matched.",
                "enum": ["static", "static_ci", "regex", "team"]
            },
            "label": {"type": ["string", "null"], "description": "Organisers'' label."},
            "pattern": {
                "type": ["string", "null"], "description": "The regular expression of a regex flag."
            },
            "template": {
                "type": ["string", "null"], "description": "The template of a per-team flag."
            }
        },
        "required": ["id", "kind", "label", "pattern", "template"],
        "additionalProperties": false
    }
}'::jsonb);

select ops.declare_result_shape('api.ctf_list_team_flags', '{
    "type": "array",
    "description": "The per-team flags of a challenge for one team.",
    "items": {
        "type": "object",
        "description": "A team flag.",
        "properties": {
            "flag_id": {"type": "string", "description": "Flag.", "format": "uuid"},
            "flag": {"type": "string", "description": "The flag text this team must submit."}
        },
        "required": ["flag_id", "flag"],
        "additionalProperties": false
    }
}'::jsonb);

select ops.declare_result_shape('api.ctf_get_team_page', '{
    "type": "object",
    "description": "A team: standing, members, solves, awards (others: as of the freeze).",
    "properties": {
        "team": {
            "type": "object",
            "description": "The team.",
            "properties": {
                "id": {"type": "string", "description": "Team id.", "format": "uuid"},
                "event_id": {"type": "string", "description": "Event.", "format": "uuid"},
                "name": {"type": "string", "description": "Team name."},
                "captain_id": {
                    "type": ["string", "null"], "description": "Captain; null once erased.",
                    "format": "uuid"
                },
                "bracket_id": {
                    "type": ["string", "null"], "description": "Bracket; null for none.",
                    "format": "uuid"
                },
                "solo": {
                    "type": "boolean", "description": "A one-person team of an individual event."
                },
                "banned": {"type": "boolean", "description": "Banned by the organisers."},
                "hidden": {"type": "boolean", "description": "Hidden from the scoreboard."},
                "created_at": {"type": "string", "description": "Created.", "format": "date-time"}
            },
            "required": [
                "id", "event_id", "name", "captain_id", "bracket_id", "solo", "banned", "hidden",
                "created_at"
            ],
            "additionalProperties": false
        },
        "score": {
            "type": ["integer", "null"],
            "description": "Score; null before the team has a standing."
        },
        "solve_count": {"type": ["integer", "null"], "description": "Solves counted."},
        "last_score_at": {
            "type": ["string", "null"], "description": "When it last scored.", "format": "date-time"
        },
        "position": {
            "type": ["integer", "null"],
            "description": "Rank; null when unranked or before it scored."
        },
        "members": {
            "type": "array",
            "description": "Members, by join time.",
            "items": {
                "type": "object",
                "description": "A member.",
                "properties": {
                    "user_id": {"type": "string", "description": "User.", "format": "uuid"},
                    "username": {
                        "type": ["string", "null"],
                        "description": "User name; null when the caller may not see it."
                    }
                },
                "required": ["user_id", "username"],
                "additionalProperties": false
            }
        },
        "solves": {
            "type": "array",
            "description": "Solves, oldest first.",
            "items": {
                "type": "object",
                "description": "A solve.",
                "properties": {
                    "challenge_id": {
                        "type": "string", "description": "Challenge.", "format": "uuid"
                    },
                    "title": {"type": "string", "description": "Challenge title."},
                    "category": {"type": "string", "description": "Challenge category."},
                    "points": {"type": "integer", "description": "Points it earned now."},
                    "blood_rank": {
                        "type": ["integer", "null"],
                        "description": "Solve order; null when not counted."
                    },
                    "solved_at": {
                        "type": "string", "description": "Solved.", "format": "date-time"
                    }
                },
                "required": [
                    "challenge_id", "title", "category", "points", "blood_rank", "solved_at"
                ],
                "additionalProperties": false
            }
        },
        "awards": {
            "type": "array",
            "description": "Awards and penalties (hints bought are negative), oldest first.",
            "items": {
                "type": "object",
                "description": "An award.",
                "properties": {
                    "value": {"type": "integer", "description": "Points (negative for a penalty)."},
                    "reason": {"type": "string", "description": "Why."},
                    "created_at": {"type": "string", "description": "When.", "format": "date-time"}
                },
                "required": ["value", "reason", "created_at"],
                "additionalProperties": false
            }
        }
    },
    "required": [
        "team", "score", "solve_count", "last_score_at", "position", "members", "solves", "awards"
    ],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.ctf_get_score_graph', '{
    "type": "array",
    "description": "Score over time of the top teams (as of the freeze when frozen).",
    "items": {
        "type": "object",
        "description": "A team''s series.",
        "properties": {
            "pos": {"type": "integer", "description": "Position, from 1."},
            "team_id": {"type": "string", "description": "Team.", "format": "uuid"},
            "team": {"type": "string", "description": "Team name."},
            "points": {
                "type": "array",
                "description": "Score after each solve or award, oldest first.",
                "items": {
                    "type": "object",
                    "description": "A point.",
                    "properties": {
                        "at": {"type": "string", "description": "When.", "format": "date-time"},
                        "score": {"type": "integer", "description": "Score then."}
                    },
                    "required": ["at", "score"],
                    "additionalProperties": false
                }
            }
        },
        "required": ["pos", "team_id", "team", "points"],
        "additionalProperties": false
    }
}'::jsonb);

select ops.declare_result_shape('api.ctf_get_ctftime_feed', '{
    "type": "object",
    "description": "The scoreboard in CTFtime''s JSON feed format.",
    "properties": {
        "standings": {
            "type": "array",
            "description": "Standings, best first.",
            "items": {
                "type": "object",
                "description": "A standing.",
                "properties": {
                    "pos": {"type": "integer", "description": "Position, from 1."},
                    "team": {"type": "string", "description": "Team name."},
                    "score": {"type": "integer", "description": "Score."}
                },
                "required": ["pos", "team", "score"],
                "additionalProperties": false
            }
        }
    },
    "required": ["standings"],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.ctf_get_scoreboard_document', '{
    "type": "object",
    "description": "The cached scoreboard (top 100) and its ETag for If-None-Match.",
    "properties": {
        "event_id": {"type": "string", "description": "Event.", "format": "uuid"},
        "frozen": {
            "type": "boolean",
            "description": "The frozen standings (the caller sees the board as of the freeze)."
        },
        "etag": {"type": "string", "description": "Entity tag of rows; send it in If-None-Match."},
        "rows": {
            "type": "array",
            "description": "Ranked teams, best first.",
            "items": {
                "type": "object",
                "description": "A row.",
                "properties": {
                    "pos": {"type": "integer", "description": "Position, from 1."},
                    "team_id": {"type": "string", "description": "Team.", "format": "uuid"},
                    "team_name": {"type": "string", "description": "Team name."},
                    "bracket_id": {
                        "type": ["string", "null"], "description": "Bracket; null for none.",
                        "format": "uuid"
                    },
                    "score": {"type": "integer", "description": "Score."},
                    "solve_count": {"type": "integer", "description": "Solves counted."},
                    "last_score_at": {
                        "type": "string", "description": "When the team last scored.",
                        "format": "date-time"
                    }
                },
                "required": [
                    "pos", "team_id", "team_name", "bracket_id", "score", "solve_count",
                    "last_score_at"
                ],
                "additionalProperties": false
            }
        }
    },
    "required": ["event_id", "frozen", "etag", "rows"],
    "additionalProperties": false
}'::jsonb);
