-- Accounts: the declared result shapes of its api functions that return jsonb.
--
-- One JSON Schema (draft 2020-12) per function, registered with ops.declare_result_shape
-- (20261201200000_ops_api_result_shapes.sql). The OpenAPI document, the TypeScript types and
-- the Python SDK read them; flagship.testing.harness.rpc validates every real result against
-- them, so a change to a function's result changes its shape here in the same commit.

select ops.declare_result_shape('api.accounts_confirm_contact_email_change', '{
    "type": "object",
    "description": "The contact email now verified.",
    "properties": {
        "email": {
            "type": "string", "description": "The verified contact email.", "format": "email"
        },
        "verified_at": {
            "type": "string", "description": "When it was verified.", "format": "date-time"
        }
    },
    "required": ["email", "verified_at"],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.accounts_create_api_key', '{
    "type": "object",
    "description": "The new API key, its secret shown once.",
    "properties": {
        "id": {"type": "string", "description": "Key id.", "format": "uuid"},
        "key": {
            "type": "string",
            "description": "The secret key (fsk_...). Shown only in this response; store it now."
        },
        "prefix": {
            "type": "string", "description": "First 12 characters of the key, shown in listings."
        },
        "name": {"type": "string", "description": "Name given to the key."},
        "owner_id": {"type": "string", "description": "User the key acts for.", "format": "uuid"},
        "scopes": {
            "type": "array",
            "description": "Scopes granted to the key, sorted.",
            "items": {"type": "string"},
            "minItems": 1
        },
        "expires_at": {
            "type": ["string", "null"],
            "description": "When the key stops working; null means never.", "format": "date-time"
        },
        "created_at": {
            "type": "string", "description": "When the key was issued.", "format": "date-time"
        },
        "rotated_from": {
            "type": ["string", "null"],
            "description": "Key this one replaced by rotation; null for a new key.",
            "format": "uuid"
        }
    },
    "required": [
        "id", "key", "prefix", "name", "owner_id", "scopes", "expires_at", "created_at",
        "rotated_from"
    ],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.accounts_get_user', '{
    "type": "object",
    "description": "A user as staff see it (needs users.read_email).",
    "properties": {
        "id": {"type": "string", "description": "User id.", "format": "uuid"},
        "email": {"type": ["string", "null"], "description": "Sign-in email."},
        "created_at": {
            "type": "string", "description": "When the account was created.", "format": "date-time"
        },
        "last_sign_in_at": {
            "type": ["string", "null"], "description": "Last sign-in.", "format": "date-time"
        },
        "banned_until": {
            "type": ["string", "null"], "description": "Banned until then; null when not banned.",
            "format": "date-time"
        },
        "profile": {
            "type": ["object", "null"],
            "description": "The accounts.profiles row.",
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
                "username_skeleton": {
                    "type": "string", "description": "Confusable skeleton of the user name."
                },
                "display_name_skeleton": {
                    "type": ["string", "null"],
                    "description": "Confusable skeleton of the display name."
                },
                "created_at": {
                    "type": "string", "description": "When the profile was created.",
                    "format": "date-time"
                },
                "updated_at": {
                    "type": "string", "description": "When the profile last changed.",
                    "format": "date-time"
                }
            },
            "required": [
                "id", "username", "display_name", "bio", "avatar_path", "country", "skills",
                "visibility", "username_skeleton", "display_name_skeleton", "created_at",
                "updated_at"
            ],
            "additionalProperties": false
        },
        "roles": {"type": "array", "description": "Global roles.", "items": {"type": "string"}}
    },
    "required": [
        "id", "email", "created_at", "last_sign_in_at", "banned_until", "profile", "roles"
    ],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.accounts_request_contact_email_change', '{
    "type": "object",
    "description": "The pending change: a verification link was emailed to the new address.",
    "properties": {
        "email": {
            "type": "string", "description": "The address to verify (lower-cased).",
            "format": "email"
        },
        "expires_at": {
            "type": "string", "description": "When the link stops working (24 hours).",
            "format": "date-time"
        }
    },
    "required": ["email", "expires_at"],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.accounts_rotate_api_key', '{
    "type": "object",
    "description": "The replacement key (secret shown once) and when the old key stops working.",
    "properties": {
        "id": {"type": "string", "description": "Key id.", "format": "uuid"},
        "key": {
            "type": "string",
            "description": "The secret key (fsk_...). Shown only in this response; store it now."
        },
        "prefix": {
            "type": "string", "description": "First 12 characters of the key, shown in listings."
        },
        "name": {"type": "string", "description": "Name given to the key."},
        "owner_id": {"type": "string", "description": "User the key acts for.", "format": "uuid"},
        "scopes": {
            "type": "array",
            "description": "Scopes granted to the key, sorted.",
            "items": {"type": "string"},
            "minItems": 1
        },
        "expires_at": {
            "type": ["string", "null"],
            "description": "When the key stops working; null means never.", "format": "date-time"
        },
        "created_at": {
            "type": "string", "description": "When the key was issued.", "format": "date-time"
        },
        "rotated_from": {
            "type": ["string", "null"],
            "description": "Key this one replaced by rotation; null for a new key.",
            "format": "uuid"
        },
        "old_key_expires_at": {
            "type": "string", "description": "When the rotated key stops working.",
            "format": "date-time"
        }
    },
    "required": [
        "id", "key", "prefix", "name", "owner_id", "scopes", "expires_at", "created_at",
        "rotated_from", "old_key_expires_at"
    ],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.accounts_get_my_settings', '{
    "type": "object",
    "description": "Settings: the defaults merged with what the caller changed.",
    "properties": {
        "locale": {
            "type": "string", "description": "Interface language.",
            "enum": ["en", "fr", "de", "es", "it", "pt-BR", "ja", "zh-CN"]
        },
        "theme": {
            "type": "string", "description": "Colour theme.", "enum": ["system", "light", "dark"]
        },
        "timezone": {"type": "string", "description": "IANA time zone, such as Europe/Paris."},
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
                "replies", "mentions", "messages", "reactions", "moderation", "courses", "ctf"
            ],
            "additionalProperties": false
        },
        "email_categories": {
            "type": "object",
            "description": "Email categories the user receives.",
            "properties": {
                "product_updates": {"type": "boolean", "description": "Product news."},
                "newsletter": {"type": "boolean", "description": "The newsletter."},
                "course_updates": {"type": "boolean", "description": "News of enrolled courses."},
                "ctf_events": {"type": "boolean", "description": "CTF event announcements."}
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
                "show_country": {"type": "boolean", "description": "Country is visible to others."},
                "allow_messages": {
                    "type": "string", "description": "Who may start a conversation.",
                    "enum": ["everyone", "members", "nobody"]
                }
            },
            "required": ["show_activity", "show_country", "allow_messages"],
            "additionalProperties": false
        }
    },
    "required": ["locale", "theme", "timezone", "notifications", "email_categories", "privacy"],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.accounts_update_my_settings', '{
    "type": "object",
    "description": "Settings after the change (the defaults merged in).",
    "properties": {
        "locale": {
            "type": "string", "description": "Interface language.",
            "enum": ["en", "fr", "de", "es", "it", "pt-BR", "ja", "zh-CN"]
        },
        "theme": {
            "type": "string", "description": "Colour theme.", "enum": ["system", "light", "dark"]
        },
        "timezone": {"type": "string", "description": "IANA time zone, such as Europe/Paris."},
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
                "replies", "mentions", "messages", "reactions", "moderation", "courses", "ctf"
            ],
            "additionalProperties": false
        },
        "email_categories": {
            "type": "object",
            "description": "Email categories the user receives.",
            "properties": {
                "product_updates": {"type": "boolean", "description": "Product news."},
                "newsletter": {"type": "boolean", "description": "The newsletter."},
                "course_updates": {"type": "boolean", "description": "News of enrolled courses."},
                "ctf_events": {"type": "boolean", "description": "CTF event announcements."}
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
                "show_country": {"type": "boolean", "description": "Country is visible to others."},
                "allow_messages": {
                    "type": "string", "description": "Who may start a conversation.",
                    "enum": ["everyone", "members", "nobody"]
                }
            },
            "required": ["show_activity", "show_country", "allow_messages"],
            "additionalProperties": false
        }
    },
    "required": ["locale", "theme", "timezone", "notifications", "email_categories", "privacy"],
    "additionalProperties": false
}'::jsonb);
