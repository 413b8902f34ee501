-- Accounts: the declared result shapes of its api functions that return jsonb (export).
--
-- One JSON Schema (draft 2020-12) per function, registered with ops.declare_result_shape
-- (20261201200000_ops_api_result_shapes.sql). The OpenAPI document, the TypeScript types and
-- the Python SDK read them; flagship.testing.harness.rpc validates every real result against
-- them, so a change to a function's result changes its shape here in the same commit.

select ops.declare_result_shape('api.accounts_export_my_data', '{
    "type": "object",
    "description": "All kept about the caller, a section per accounts.data_providers row.",
    "properties": {
        "format": {
            "type": "string", "const": "flagship-export/1", "description": "Export format version."
        },
        "generated_at": {
            "type": "string", "description": "When the export was made.", "format": "date-time"
        },
        "accounts": {
            "type": "object",
            "description": "Account data.",
            "properties": {
                "user": {
                    "type": "object",
                    "description": "The sign-in account.",
                    "properties": {
                        "id": {"type": "string", "description": "User id.", "format": "uuid"},
                        "email": {"type": ["string", "null"], "description": "Sign-in email."},
                        "created_at": {
                            "type": "string", "description": "When the account was created.",
                            "format": "date-time"
                        },
                        "last_sign_in_at": {
                            "type": ["string", "null"], "description": "Last sign-in.",
                            "format": "date-time"
                        }
                    },
                    "required": ["id", "email", "created_at", "last_sign_in_at"],
                    "additionalProperties": false
                },
                "profile": {
                    "type": ["object", "null"],
                    "description": "The accounts.profiles row.",
                    "properties": {
                        "id": {"type": "string", "description": "User id.", "format": "uuid"},
                        "username": {"type": "string", "description": "Unique user name."},
                        "display_name": {
                            "type": ["string", "null"], "description": "Display name."
                        },
                        "bio": {
                            "type": ["string", "null"], "description": "Short biography (Markdown)."
                        },
                        "avatar_path": {
                            "type": ["string", "null"], "description": "Storage path of the avatar."
                        },
                        "country": {
                            "type": ["string", "null"],
                            "description": "ISO 3166-1 alpha-2 country code."
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
                                        "in_app": {
                                            "type": "boolean", "description": "Shown in the app."
                                        },
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
                                        "in_app": {
                                            "type": "boolean", "description": "Shown in the app."
                                        },
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
                                        "in_app": {
                                            "type": "boolean", "description": "Shown in the app."
                                        },
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
                                        "in_app": {
                                            "type": "boolean", "description": "Shown in the app."
                                        },
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
                                        "in_app": {
                                            "type": "boolean", "description": "Shown in the app."
                                        },
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
                                        "in_app": {
                                            "type": "boolean", "description": "Shown in the app."
                                        },
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
                                        "in_app": {
                                            "type": "boolean", "description": "Shown in the app."
                                        },
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
                                "replies", "mentions", "messages", "reactions", "moderation",
                                "courses", "ctf"
                            ],
                            "additionalProperties": false
                        },
                        "email_categories": {
                            "type": "object",
                            "description": "Email categories the user receives.",
                            "properties": {
                                "product_updates": {
                                    "type": "boolean", "description": "Product news."
                                },
                                "newsletter": {"type": "boolean", "description": "The newsletter."},
                                "course_updates": {
                                    "type": "boolean", "description": "News of enrolled courses."
                                },
                                "ctf_events": {
                                    "type": "boolean", "description": "CTF event announcements."
                                }
                            },
                            "required": [
                                "product_updates", "newsletter", "course_updates", "ctf_events"
                            ],
                            "additionalProperties": false
                        },
                        "privacy": {
                            "type": "object",
                            "description": "What others see and may do.",
                            "properties": {
                                "show_activity": {
                                    "type": "boolean",
                                    "description": "Activity is visible to others."
                                },
                                "show_country": {
                                    "type": "boolean",
                                    "description": "Country is visible to others."
                                },
                                "allow_messages": {
                                    "type": "string",
                                    "description": "Who may start a conversation.",
                                    "enum": ["everyone", "members", "nobody"]
                                }
                            },
                            "required": ["show_activity", "show_country", "allow_messages"],
                            "additionalProperties": false
                        }
                    },
                    "required": [
                        "locale", "theme", "timezone", "notifications", "email_categories",
                        "privacy"
                    ],
                    "additionalProperties": false
                },
                "roles": {
                    "type": "array",
                    "description": "Global roles held.",
                    "items": {
                        "type": "object",
                        "description": "A role grant.",
                        "properties": {
                            "role": {"type": "string", "description": "Role name."},
                            "granted_at": {
                                "type": "string", "description": "When it was granted.",
                                "format": "date-time"
                            }
                        },
                        "required": ["role", "granted_at"],
                        "additionalProperties": false
                    }
                },
                "stats": {
                    "type": ["object", "null"],
                    "description": "Activity totals; null before the first recorded activity.",
                    "properties": {
                        "xp": {"type": "integer", "description": "Experience points."},
                        "activity_count": {
                            "type": "integer", "description": "Recorded activities."
                        },
                        "current_streak": {
                            "type": "integer", "description": "Consecutive active days up to today."
                        },
                        "longest_streak": {
                            "type": "integer", "description": "Longest run of active days."
                        },
                        "last_active_on": {
                            "type": ["string", "null"], "description": "Last active day.",
                            "format": "date"
                        },
                        "updated_at": {
                            "type": "string", "description": "When the totals last changed.",
                            "format": "date-time"
                        }
                    },
                    "required": [
                        "xp", "activity_count", "current_streak", "longest_streak",
                        "last_active_on", "updated_at"
                    ],
                    "additionalProperties": false
                },
                "activity": {
                    "type": "array",
                    "description": "Recorded activity (accounts.activity rows without actor_id).",
                    "items": {"type": "object", "description": "A stored row."}
                }
            },
            "required": ["user", "profile", "settings", "roles", "stats", "activity"],
            "additionalProperties": false
        },
        "learning": {
            "type": "object",
            "description": "Learning data.",
            "properties": {
                "enrollments": {
                    "type": "array",
                    "description": "Enrollments.",
                    "items": {"type": "object", "description": "A stored row."}
                },
                "lesson_progress": {
                    "type": "array",
                    "description": "Lesson progress.",
                    "items": {"type": "object", "description": "A stored row."}
                },
                "quiz_attempts": {
                    "type": "array",
                    "description": "Quiz attempts.",
                    "items": {
                        "type": "object",
                        "description": "A quiz attempt.",
                        "properties": {
                            "id": {
                                "type": "string", "description": "Attempt id.", "format": "uuid"
                            },
                            "quiz_id": {"type": "string", "description": "Quiz.", "format": "uuid"},
                            "attempt_no": {
                                "type": "integer",
                                "description": "Attempt number for this quiz, from 1."
                            },
                            "status": {
                                "type": "string", "description": "Attempt status.",
                                "enum": ["in_progress", "submitted", "auto_submitted", "expired"]
                            },
                            "started_at": {
                                "type": "string", "description": "When it started.",
                                "format": "date-time"
                            },
                            "submitted_at": {
                                "type": ["string", "null"], "description": "When it was submitted.",
                                "format": "date-time"
                            },
                            "score": {
                                "type": ["number", "null"], "description": "Score in percent."
                            },
                            "passed": {
                                "type": ["boolean", "null"], "description": "Whether it passed."
                            },
                            "answers": {"description": "Saved answers, by question id."}
                        },
                        "required": [
                            "id", "quiz_id", "attempt_no", "status", "started_at", "submitted_at",
                            "score", "passed", "answers"
                        ],
                        "additionalProperties": false
                    }
                },
                "quiz_results": {
                    "type": "array",
                    "description": "Best results per quiz.",
                    "items": {"type": "object", "description": "A stored row."}
                },
                "certificates": {
                    "type": "array",
                    "description": "Certificates earned.",
                    "items": {"type": "object", "description": "A stored row."}
                },
                "reviews": {
                    "type": "array",
                    "description": "Course reviews written.",
                    "items": {"type": "object", "description": "A stored row."}
                },
                "accommodations": {
                    "type": "array",
                    "description": "Accommodations granted.",
                    "items": {"type": "object", "description": "A stored row."}
                },
                "teaching": {
                    "type": "array",
                    "description": "Course teams the user is on.",
                    "items": {
                        "type": "object",
                        "description": "A course team seat.",
                        "properties": {
                            "course_id": {
                                "type": "string", "description": "Course.", "format": "uuid"
                            },
                            "role": {
                                "type": "string", "description": "Role on the course team.",
                                "enum": ["owner", "co_instructor", "ta"]
                            }
                        },
                        "required": ["course_id", "role"],
                        "additionalProperties": false
                    }
                }
            },
            "required": [
                "enrollments", "lesson_progress", "quiz_attempts", "quiz_results", "certificates",
                "reviews", "accommodations", "teaching"
            ],
            "additionalProperties": false
        },
        "ctf": {
            "type": "object",
            "description": "CTF data.",
            "properties": {
                "participations": {
                    "type": "array",
                    "description": "Event participations.",
                    "items": {
                        "type": "object",
                        "description": "A participation.",
                        "properties": {
                            "event_id": {
                                "type": "string", "description": "Event.", "format": "uuid"
                            },
                            "team_id": {"type": "string", "description": "Team.", "format": "uuid"},
                            "team": {"type": "string", "description": "Team name."},
                            "banned": {"type": "boolean", "description": "Banned from the event."},
                            "joined_at": {
                                "type": "string", "description": "When the user joined.",
                                "format": "date-time"
                            }
                        },
                        "required": ["event_id", "team_id", "team", "banned", "joined_at"],
                        "additionalProperties": false
                    }
                },
                "submissions": {
                    "type": "array",
                    "description": "Flag submissions.",
                    "items": {"type": "object", "description": "A stored row."}
                },
                "solves": {
                    "type": "array",
                    "description": "Solves.",
                    "items": {"type": "object", "description": "A stored row."}
                },
                "feedback": {
                    "type": "array",
                    "description": "Challenge feedback.",
                    "items": {"type": "object", "description": "A stored row."}
                },
                "organises": {
                    "type": "array",
                    "description": "Events the user organises.",
                    "items": {"type": "string", "format": "uuid"}
                }
            },
            "required": ["participations", "submissions", "solves", "feedback", "organises"],
            "additionalProperties": false
        },
        "community": {
            "type": "object",
            "description": "Community data.",
            "properties": {
                "member": {
                    "type": ["object", "null"],
                    "description": "The community.members row; null if never a member."
                },
                "threads": {
                    "type": "array",
                    "description": "Threads started.",
                    "items": {
                        "type": "object",
                        "description": "A thread.",
                        "properties": {
                            "id": {"type": "integer", "description": "Thread id."},
                            "title": {"type": "string", "description": "Title."},
                            "category_id": {"type": "integer", "description": "Category."},
                            "tags": {
                                "type": "array",
                                "description": "Tags.",
                                "items": {"type": "string"}
                            },
                            "created_at": {
                                "type": "string", "description": "Created.", "format": "date-time"
                            }
                        },
                        "required": ["id", "title", "category_id", "tags", "created_at"],
                        "additionalProperties": false
                    }
                },
                "posts": {
                    "type": "array",
                    "description": "Posts written.",
                    "items": {
                        "type": "object",
                        "description": "A post.",
                        "properties": {
                            "id": {"type": "integer", "description": "Post id."},
                            "thread_id": {"type": "integer", "description": "Thread."},
                            "post_number": {"type": "integer", "description": "Number in thread."},
                            "body": {"type": "string", "description": "Markdown body."},
                            "created_at": {
                                "type": "string", "description": "Created.", "format": "date-time"
                            },
                            "deleted": {
                                "type": "boolean", "description": "Deleted by its author or staff."
                            }
                        },
                        "required": [
                            "id", "thread_id", "post_number", "body", "created_at", "deleted"
                        ],
                        "additionalProperties": false
                    }
                },
                "reactions": {
                    "type": "array",
                    "description": "Reactions given.",
                    "items": {
                        "type": "object",
                        "description": "A reaction.",
                        "properties": {
                            "post_id": {"type": "integer", "description": "Post."},
                            "kind": {"type": "string", "description": "Reaction kind."},
                            "created_at": {
                                "type": "string", "description": "Created.", "format": "date-time"
                            }
                        },
                        "required": ["post_id", "kind", "created_at"],
                        "additionalProperties": false
                    }
                },
                "messages": {
                    "type": "array",
                    "description": "Messages sent.",
                    "items": {
                        "type": "object",
                        "description": "A message.",
                        "properties": {
                            "id": {"type": "integer", "description": "Message id."},
                            "conversation_id": {"type": "integer", "description": "Conversation."},
                            "body": {"type": "string", "description": "Body."},
                            "created_at": {
                                "type": "string", "description": "Sent.", "format": "date-time"
                            }
                        },
                        "required": ["id", "conversation_id", "body", "created_at"],
                        "additionalProperties": false
                    }
                },
                "blocks": {
                    "type": "array",
                    "description": "Users blocked.",
                    "items": {"type": "string", "format": "uuid"}
                },
                "flags": {
                    "type": "array",
                    "description": "Reports filed.",
                    "items": {
                        "type": "object",
                        "description": "A report.",
                        "properties": {
                            "target_type": {"type": "string", "description": "What was reported."},
                            "target_id": {"type": "string", "description": "Its id."},
                            "reason": {"type": "string", "description": "Reason."},
                            "message": {
                                "type": ["string", "null"], "description": "Reporter''s note."
                            },
                            "created_at": {
                                "type": "string", "description": "Filed.", "format": "date-time"
                            }
                        },
                        "required": ["target_type", "target_id", "reason", "message", "created_at"],
                        "additionalProperties": false
                    }
                },
                "moderation_actions": {
                    "type": "array",
                    "description": "Moderation actions taken against the user.",
                    "items": {
                        "type": "object",
                        "description": "An action.",
                        "properties": {
                            "action": {"type": "string", "description": "Action."},
                            "reason": {"type": ["string", "null"], "description": "Reason."},
                            "until": {
                                "type": ["string", "null"], "description": "Until when it lasts.",
                                "format": "date-time"
                            },
                            "created_at": {
                                "type": "string", "description": "Taken.", "format": "date-time"
                            }
                        },
                        "required": ["action", "reason", "until", "created_at"],
                        "additionalProperties": false
                    }
                },
                "contributions": {
                    "type": "array",
                    "description": "Contributions submitted.",
                    "items": {"type": "object", "description": "A stored row."}
                },
                "notifications": {
                    "type": "integer", "description": "Number of notifications kept."
                }
            },
            "required": [
                "member", "threads", "posts", "reactions", "messages", "blocks", "flags",
                "moderation_actions", "contributions", "notifications"
            ],
            "additionalProperties": false
        },
        "billing": {
            "type": "object",
            "description": "Billing data.",
            "properties": {
                "customer": {
                    "type": ["object", "null"],
                    "description": "The Stripe customer; null if none.",
                    "properties": {
                        "stripe_customer_id": {
                            "type": "string", "description": "Stripe customer id."
                        },
                        "email": {"type": ["string", "null"], "description": "Billing email."},
                        "created_at": {
                            "type": "string", "description": "Created.", "format": "date-time"
                        }
                    },
                    "required": ["stripe_customer_id", "email", "created_at"],
                    "additionalProperties": false
                },
                "subscriptions": {
                    "type": "array",
                    "description": "Subscriptions.",
                    "items": {"type": "object", "description": "A stored row."}
                },
                "seats": {
                    "type": "array",
                    "description": "Seats assigned.",
                    "items": {
                        "type": "object",
                        "description": "A seat.",
                        "properties": {
                            "subscription_id": {"type": "string", "description": "Subscription."},
                            "assigned_at": {
                                "type": "string", "description": "Assigned.", "format": "date-time"
                            }
                        },
                        "required": ["subscription_id", "assigned_at"],
                        "additionalProperties": false
                    }
                },
                "invoices": {
                    "type": "array",
                    "description": "Invoices (without lines).",
                    "items": {"type": "object", "description": "A stored row."}
                }
            },
            "required": ["customer", "subscriptions", "seats", "invoices"],
            "additionalProperties": false
        }
    },
    "required": ["format", "generated_at"],
    "additionalProperties": {
        "type": "object", "description": "A section of another data provider."
    }
}'::jsonb);
