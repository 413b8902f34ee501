-- Accounts: the declared result shapes of its api functions that return jsonb (account).
--
-- One JSON Schema (draft 2020-12) per function, registered with ops.declare_result_shape
-- (20261201200000_ops_api_result_shapes.sql). The OpenAPI document, the TypeScript types and
-- the Python SDK read them; flagship.testing.harness.rpc validates every real result against
-- them, so a change to a function's result changes its shape here in the same commit.

select ops.declare_result_shape('api.accounts_get_my_account', '{
    "type": "object",
    "description": "The caller: sign-in email, profile, roles, settings, activity totals.",
    "properties": {
        "id": {"type": "string", "description": "User id.", "format": "uuid"},
        "email": {"type": ["string", "null"], "description": "Sign-in email."},
        "email_confirmed_at": {
            "type": ["string", "null"], "description": "When the sign-in email was confirmed.",
            "format": "date-time"
        },
        "profile": {
            "type": ["object", "null"],
            "description": "Own profile (api.accounts_profiles); null for a key without its scope.",
            "properties": {
                "id": {"type": "string", "description": "User id.", "format": "uuid"},
                "username": {"type": "string", "description": "Unique user name."},
                "display_name": {"type": ["string", "null"], "description": "Display name."},
                "bio": {"type": ["string", "null"], "description": "Short biography (Markdown)."},
                "avatar_path": {
                    "type": ["string", "null"], "description": "Storage path of the avatar."
                },
                "country": {
                    "type": ["string", "null"], "description": "ISO 3166-1 alpha-2 country code."
                },
                "skills": {
                    "type": "array",
                    "description": "Skill tags.",
                    "items": {"type": "string"}
                },
                "visibility": {
                    "type": "string", "description": "Who may see the profile.",
                    "enum": ["public", "members", "private"]
                },
                "created_at": {
                    "type": "string", "description": "When the profile was created.",
                    "format": "date-time"
                }
            },
            "required": [
                "id", "username", "display_name", "bio", "avatar_path", "country", "skills",
                "visibility", "created_at"
            ],
            "additionalProperties": false
        },
        "roles": {
            "type": "array",
            "description": "Global roles, lowest rank first.",
            "items": {"type": "string"}
        },
        "settings": {
            "type": "object",
            "description": "Settings: the defaults merged with what the caller changed.",
            "properties": {
                "locale": {
                    "type": "string", "description": "Interface language.",
                    "enum": ["en", "fr", "de", "es", "it", "pt-BR", "ja", "zh-CN"]
                },
                "theme": {
                    "type": "string", "description": "Colour theme.",
                    "enum": ["system", "light", "dark"]
                },
                "timezone": {
                    "type": "string", "description": "IANA time zone, such as Europe/Paris."
                },
                "notifications": {
                    "type": "object",
                    "description": "Per kind of notification, in-app and email delivery.",
                    "properties": {
                        "replies": {
                            "type": "object",
                            "description": "Delivery of one kind of notification.",
                            "properties": {
                                "in_app": {"type": "boolean", "description": "Shown in the app."},
                                "email": {
                                    "type": "string", "description": "Email delivery.",
                                    "enum": ["off", "immediate", "digest", "weekly"]
                                }
                            },
                            "required": ["in_app", "email"],
                            "additionalProperties": false
                        },
                        "mentions": {
                            "type": "object",
                            "description": "Delivery of one kind of notification.",
                            "properties": {
                                "in_app": {"type": "boolean", "description": "Shown in the app."},
                                "email": {
                                    "type": "string", "description": "Email delivery.",
                                    "enum": ["off", "immediate", "digest", "weekly"]
                                }
                            },
                            "required": ["in_app", "email"],
                            "additionalProperties": false
                        },
                        "messages": {
                            "type": "object",
                            "description": "Delivery of one kind of notification.",
                            "properties": {
                                "in_app": {"type": "boolean", "description": "Shown in the app."},
                                "email": {
                                    "type": "string", "description": "Email delivery.",
                                    "enum": ["off", "immediate", "digest", "weekly"]
                                }
                            },
                            "required": ["in_app", "email"],
                            "additionalProperties": false
                        },
                        "reactions": {
                            "type": "object",
                            "description": "Delivery of one kind of notification.",
                            "properties": {
                                "in_app": {"type": "boolean", "description": "Shown in the app."},
                                "email": {
                                    "type": "string", "description": "Email delivery.",
                                    "enum": ["off", "immediate", "digest", "weekly"]
                                }
                            },
                            "required": ["in_app", "email"],
                            "additionalProperties": false
                        },
                        "moderation": {
                            "type": "object",
                            "description": "Delivery of one kind of notification.",
                            "properties": {
                                "in_app": {"type": "boolean", "description": "Shown in the app."},
                                "email": {
                                    "type": "string", "description": "Email delivery.",
                                    "enum": ["off", "immediate", "digest", "weekly"]
                                }
                            },
                            "required": ["in_app", "email"],
                            "additionalProperties": false
                        },
                        "courses": {
                            "type": "object",
                            "description": "Delivery of one kind of notification.",
                            "properties": {
                                "in_app": {"type": "boolean", "description": "Shown in the app."},
                                "email": {
                                    "type": "string", "description": "Email delivery.",
                                    "enum": ["off", "immediate", "digest", "weekly"]
                                }
                            },
                            "required": ["in_app", "email"],
                            "additionalProperties": false
                        },
                        "ctf": {
                            "type": "object",
                            "description": "Delivery of one kind of notification.",
                            "properties": {
                                "in_app": {"type": "boolean", "description": "Shown in the app."},
                                "email": {
                                    "type": "string", "description": "Email delivery.",
                                    "enum": ["off", "immediate", "digest", "weekly"]
                                }
                            },
                            "required": ["in_app", "email"],
                            "additionalProperties": false
                        }
                    },
                    "required": [
                        "replies", "mentions", "messages", "reactions", "moderation", "courses",
                        "ctf"
                    ],
                    "additionalProperties": false
                },
                "email_categories": {
                    "type": "object",
                    "description": "Email categories the user receives.",
                    "properties": {
                        "product_updates": {"type": "boolean", "description": "Product news."},
                        "newsletter": {"type": "boolean", "description": "The newsletter."},
                        "course_updates": {
                            "type": "boolean", "description": "News of enrolled courses."
                        },
                        "ctf_events": {
                            "type": "boolean", "description": "CTF event announcements."
                        }
                    },
                    "required": ["product_updates", "newsletter", "course_updates", "ctf_events"],
                    "additionalProperties": false
                },
                "privacy": {
                    "type": "object",
                    "description": "What others see and may do.",
                    "properties": {
                        "show_activity": {
                            "type": "boolean", "description": "Activity is visible to others."
                        },
                        "show_country": {
                            "type": "boolean", "description": "Country is visible to others."
                        },
                        "allow_messages": {
                            "type": "string", "description": "Who may start a conversation.",
                            "enum": ["everyone", "members", "nobody"]
                        }
                    },
                    "required": ["show_activity", "show_country", "allow_messages"],
                    "additionalProperties": false
                }
            },
            "required": [
                "locale", "theme", "timezone", "notifications", "email_categories", "privacy"
            ],
            "additionalProperties": false
        },
        "stats": {
            "type": ["object", "null"],
            "description": "Activity totals; null before the first recorded activity.",
            "properties": {
                "xp": {"type": "integer", "description": "Experience points."},
                "activity_count": {"type": "integer", "description": "Recorded activities."},
                "current_streak": {
                    "type": "integer", "description": "Consecutive active days up to today."
                },
                "longest_streak": {"type": "integer", "description": "Longest run of active days."},
                "last_active_on": {
                    "type": ["string", "null"], "description": "Last active day.", "format": "date"
                },
                "updated_at": {
                    "type": "string", "description": "When the totals last changed.",
                    "format": "date-time"
                }
            },
            "required": [
                "xp", "activity_count", "current_streak", "longest_streak", "last_active_on",
                "updated_at"
            ],
            "additionalProperties": false
        }
    },
    "required": ["id", "email", "email_confirmed_at", "profile", "roles", "settings", "stats"],
    "additionalProperties": false
}'::jsonb);
