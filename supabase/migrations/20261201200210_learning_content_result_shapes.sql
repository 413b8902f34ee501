-- Learning: the declared result shapes of its api functions that return jsonb (content).
--
-- One JSON Schema (draft 2020-12) per function, registered with ops.declare_result_shape
-- (20261201200000_ops_api_result_shapes.sql). The OpenAPI document, the TypeScript types and
-- the Python SDK read them; flagship.testing.harness.rpc validates every real result against
-- them, so a change to a function's result changes its shape here in the same commit.

select ops.declare_result_shape('api.learning_get_course_outline', '{
    "type": "object",
    "description": "A course: team, prerequisites, modules, lessons, the caller''s enrollment.",
    "properties": {
        "id": {"type": "string", "description": "Course id.", "format": "uuid"},
        "slug": {"type": "string", "description": "URL slug."},
        "title": {"type": "string", "description": "Title."},
        "summary": {"type": "string", "description": "Short summary."},
        "description": {"type": "string", "description": "Description (Markdown)."},
        "level": {
            "type": "string", "description": "Level.",
            "enum": ["beginner", "intermediate", "advanced"]
        },
        "tags": {"type": "array", "description": "Tags.", "items": {"type": "string"}},
        "estimated_hours": {
            "type": ["number", "null"], "description": "Estimated hours of work; null if not given."
        },
        "language": {"type": "string", "description": "Language code."},
        "price_tier": {
            "type": "string", "description": "free, or pro (needs the pro plan).",
            "enum": ["free", "pro"]
        },
        "status": {
            "type": "string", "description": "Lifecycle status.",
            "enum": ["draft", "published", "archived"]
        },
        "cover_path": {
            "type": ["string", "null"], "description": "Storage path of the cover image."
        },
        "sequential": {"type": "boolean", "description": "Lessons unlock in order."},
        "published_at": {
            "type": ["string", "null"], "description": "First published; null while a draft.",
            "format": "date-time"
        },
        "enrollment_count": {"type": "integer", "description": "Enrollments so far."},
        "rating_count": {"type": "integer", "description": "Ratings."},
        "rating_avg": {"type": "number", "description": "Average rating (0 without ratings)."},
        "description_html": {
            "type": ["string", "null"],
            "description": "The description rendered to safe HTML; null until rendered."
        },
        "course_team": {
            "type": "array",
            "description": "The course team, by role then user name.",
            "items": {
                "type": "object",
                "description": "A team member.",
                "properties": {
                    "user_id": {"type": "string", "description": "User.", "format": "uuid"},
                    "role": {
                        "type": "string", "description": "Role on the course team.",
                        "enum": ["owner", "co_instructor", "ta"]
                    },
                    "username": {
                        "type": ["string", "null"],
                        "description": "User name; null once the account is erased."
                    },
                    "display_name": {"type": ["string", "null"], "description": "Display name."}
                },
                "required": ["user_id", "role", "username", "display_name"],
                "additionalProperties": false
            }
        },
        "prerequisites": {
            "type": "array",
            "description": "Courses to complete first, by title.",
            "items": {
                "type": "object",
                "description": "A course.",
                "properties": {
                    "id": {"type": "string", "description": "Course id.", "format": "uuid"},
                    "slug": {"type": "string", "description": "URL slug."},
                    "title": {"type": "string", "description": "Title."}
                },
                "required": ["id", "slug", "title"],
                "additionalProperties": false
            }
        },
        "viewer": {
            "type": "object",
            "description": "The caller and this course.",
            "properties": {
                "enrolled": {"type": "boolean", "description": "Enrolled (active or completed)."},
                "on_course_team": {
                    "type": "boolean",
                    "description": "On the course team, staff, or the service role."
                },
                "status": {
                    "type": ["string", "null"],
                    "description": "Enrollment status; null when never enrolled.",
                    "enum": ["active", "completed", "withdrawn", null]
                },
                "progress_pct": {
                    "type": ["number", "null"],
                    "description": "Progress in percent; null when never enrolled."
                },
                "completed_at": {
                    "type": ["string", "null"], "description": "When the course was completed.",
                    "format": "date-time"
                }
            },
            "required": ["enrolled", "on_course_team", "status", "progress_pct", "completed_at"],
            "additionalProperties": false
        },
        "modules": {
            "type": "array",
            "description": "Modules in order.",
            "items": {
                "type": "object",
                "description": "A module.",
                "properties": {
                    "id": {"type": "string", "description": "Module id.", "format": "uuid"},
                    "position": {"type": "integer", "description": "Position in the course."},
                    "title": {"type": "string", "description": "Title."},
                    "unlock_at": {
                        "type": ["string", "null"],
                        "description": "Opens at this time; null means open.", "format": "date-time"
                    },
                    "requires_modules": {
                        "type": "array",
                        "description": "Modules to complete first.",
                        "items": {"type": "string", "format": "uuid"}
                    },
                    "lessons": {
                        "type": "array",
                        "description": "Lessons in order; bodies only with access.",
                        "items": {
                            "type": "object",
                            "description": "A lesson.",
                            "properties": {
                                "id": {
                                    "type": "string", "description": "Lesson id.", "format": "uuid"
                                },
                                "position": {
                                    "type": "integer", "description": "Position in the module."
                                },
                                "title": {"type": "string", "description": "Title."},
                                "kind": {
                                    "type": "string", "description": "Lesson kind.",
                                    "enum": ["article", "video", "lab", "quiz"]
                                },
                                "is_preview": {
                                    "type": "boolean", "description": "Readable before enrolling."
                                },
                                "is_required": {
                                    "type": "boolean", "description": "Counts towards completion."
                                },
                                "duration_seconds": {
                                    "type": ["integer", "null"], "description": "Expected duration."
                                },
                                "completed_at": {
                                    "type": ["string", "null"],
                                    "description": "When the caller completed it.",
                                    "format": "date-time"
                                },
                                "position_seconds": {
                                    "type": ["integer", "null"],
                                    "description": "Where the caller stopped (video)."
                                },
                                "locked_reason": {
                                    "type": ["string", "null"],
                                    "description": "Why it is locked for the caller; null if open.",
                                    "enum": [
                                        "unlock_date", "module_prerequisites", "sequential", null
                                    ]
                                },
                                "quiz": {
                                    "type": ["object", "null"],
                                    "description": "The quiz of a quiz lesson; null for others.",
                                    "properties": {
                                        "id": {
                                            "type": "string", "description": "Quiz id.",
                                            "format": "uuid"
                                        },
                                        "passing_score": {
                                            "type": "number",
                                            "description": "Score in percent needed to pass."
                                        },
                                        "max_attempts": {
                                            "type": ["integer", "null"],
                                            "description": "Attempts allowed; null means unlimited."
                                        },
                                        "time_limit_seconds": {
                                            "type": ["integer", "null"],
                                            "description": "Time limit; null means none."
                                        },
                                        "due_at": {
                                            "type": ["string", "null"],
                                            "description": "Due date; null means none.",
                                            "format": "date-time"
                                        },
                                        "grading_method": {
                                            "type": "string",
                                            "description": "Which attempt grades the quiz.",
                                            "enum": ["highest", "last", "first", "average"]
                                        }
                                    },
                                    "required": [
                                        "id", "passing_score", "max_attempts", "time_limit_seconds",
                                        "due_at", "grading_method"
                                    ],
                                    "additionalProperties": false
                                },
                                "body_md": {
                                    "type": ["string", "null"],
                                    "description": "Body (Markdown); only with access."
                                },
                                "body_html": {
                                    "type": ["string", "null"],
                                    "description": "Body rendered to safe HTML; only with access."
                                },
                                "attachments": {
                                    "type": ["array", "null"],
                                    "description": "Attachment paths; only with access.",
                                    "items": {"type": "string"}
                                }
                            },
                            "required": [
                                "id", "position", "title", "kind", "is_preview", "is_required",
                                "duration_seconds", "completed_at", "position_seconds",
                                "locked_reason", "quiz"
                            ],
                            "additionalProperties": false
                        }
                    }
                },
                "required": ["id", "position", "title", "unlock_at", "requires_modules", "lessons"],
                "additionalProperties": false
            }
        }
    },
    "required": [
        "id", "slug", "title", "summary", "description", "level", "tags", "estimated_hours",
        "language", "price_tier", "status", "cover_path", "sequential", "published_at",
        "enrollment_count", "rating_count", "rating_avg", "description_html", "course_team",
        "prerequisites", "viewer", "modules"
    ],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.learning_get_quiz_for_authoring', '{
    "type": "object",
    "description": "A quiz for its authors: settings, questions, options, keys, problems.",
    "properties": {
        "id": {"type": "string", "description": "Quiz id.", "format": "uuid"},
        "course_id": {"type": "string", "description": "Course.", "format": "uuid"},
        "lesson_id": {"type": "string", "description": "Quiz lesson.", "format": "uuid"},
        "passing_score": {
            "type": "number", "description": "Score in percent needed to pass (0-100)."
        },
        "max_attempts": {
            "type": ["integer", "null"], "description": "Attempts allowed; null means unlimited."
        },
        "wait_seconds": {"type": "integer", "description": "Wait between attempts, in seconds."},
        "grading_method": {
            "type": "string", "description": "Which attempt grades the quiz.",
            "enum": ["highest", "last", "first", "average"]
        },
        "time_limit_seconds": {
            "type": ["integer", "null"], "description": "Time limit of an attempt; null means none."
        },
        "overdue_policy": {
            "type": "string",
            "description": "What happens to an attempt submitted after its deadline.",
            "enum": ["auto_submit", "refuse"]
        },
        "shuffle_questions": {
            "type": "boolean", "description": "Questions are shuffled per attempt."
        },
        "shuffle_options": {"type": "boolean", "description": "Options are shuffled per attempt."},
        "draw_count": {
            "type": ["integer", "null"],
            "description": "Questions drawn from the bank per attempt; null means all."
        },
        "reveal_policy": {
            "type": "string", "description": "When learners see the correct answers.",
            "enum": ["never", "after_passing", "after_last_attempt", "after_due_date"]
        },
        "due_at": {
            "type": ["string", "null"],
            "description": "No attempt starts after this; null means no due date.",
            "format": "date-time"
        },
        "created_at": {"type": "string", "description": "Created.", "format": "date-time"},
        "updated_at": {"type": "string", "description": "Last changed.", "format": "date-time"},
        "questions": {
            "type": "array",
            "description": "Questions in order.",
            "items": {
                "type": "object",
                "description": "A question.",
                "properties": {
                    "id": {"type": "string", "description": "Question id.", "format": "uuid"},
                    "kind": {
                        "type": "string",
                        "description": "Question kind.",
                        "enum": [
                            "single_choice", "multiple_choice", "true_false", "short_text",
                            "numeric", "ordering"
                        ]
                    },
                    "prompt": {"type": "string", "description": "Prompt (Markdown)."},
                    "points": {"type": "number", "description": "Points it is worth."},
                    "position": {"type": "integer", "description": "Position in the quiz."},
                    "options": {
                        "type": "array",
                        "description": "Options in authoring order.",
                        "items": {
                            "type": "object",
                            "description": "An answer option.",
                            "properties": {
                                "id": {
                                    "type": "string", "description": "Option id.", "format": "uuid"
                                },
                                "label": {"type": "string", "description": "Option text."}
                            },
                            "required": ["id", "label"],
                            "additionalProperties": false
                        }
                    },
                    "key": {
                        "type": ["object", "null"],
                        "description": "The answer key; null until set.",
                        "properties": {
                            "correct_option_ids": {
                                "type": ["array", "null"],
                                "description": "Correct options, or the order.",
                                "items": {"type": "string", "format": "uuid"}
                            },
                            "correct_bool": {
                                "type": ["boolean", "null"],
                                "description": "Answer of a true/false question."
                            },
                            "accepted_answers": {
                                "type": ["array", "null"],
                                "description": "Accepted answers of a short-text question.",
                                "items": {"type": "string"}
                            },
                            "case_sensitive": {
                                "type": "boolean",
                                "description": "Short-text answers compare case-sensitively."
                            },
                            "numeric_answer": {
                                "type": ["number", "null"],
                                "description": "Answer of a numeric question."
                            },
                            "tolerance": {
                                "type": "number",
                                "description": "Accepted distance from the numeric answer."
                            },
                            "explanation": {
                                "type": ["string", "null"],
                                "description": "Shown with the answers when they are revealed."
                            },
                            "updated_at": {
                                "type": "string", "description": "Last changed.",
                                "format": "date-time"
                            }
                        },
                        "required": [
                            "correct_option_ids", "correct_bool", "accepted_answers",
                            "case_sensitive", "numeric_answer", "tolerance", "explanation",
                            "updated_at"
                        ],
                        "additionalProperties": false
                    },
                    "problem": {
                        "type": ["string", "null"],
                        "description": "Why the question cannot be graded yet; null when it can."
                    }
                },
                "required": [
                    "id", "kind", "prompt", "points", "position", "options", "key", "problem"
                ],
                "additionalProperties": false
            }
        }
    },
    "required": [
        "id", "course_id", "lesson_id", "passing_score", "max_attempts", "wait_seconds",
        "grading_method", "time_limit_seconds", "overdue_policy", "shuffle_questions",
        "shuffle_options", "draw_count", "reveal_policy", "due_at", "created_at", "updated_at",
        "questions"
    ],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.learning_get_attempt_review', '{
    "type": "object",
    "description": "A submitted attempt and its answers; the key only when revealed.",
    "properties": {
        "attempt_id": {"type": "string", "description": "Attempt.", "format": "uuid"},
        "quiz_id": {"type": "string", "description": "Quiz.", "format": "uuid"},
        "status": {
            "type": "string", "description": "Attempt status.",
            "enum": ["submitted", "auto_submitted", "expired"]
        },
        "score": {"type": ["number", "null"], "description": "Score in percent."},
        "passed": {"type": ["boolean", "null"], "description": "Whether it passed."},
        "points": {"type": ["number", "null"], "description": "Points earned."},
        "max_points": {"type": ["number", "null"], "description": "Points possible."},
        "submitted_at": {
            "type": ["string", "null"], "description": "When it was submitted.",
            "format": "date-time"
        },
        "revealed": {"type": "boolean", "description": "Whether the key is included below."},
        "questions": {
            "type": "array",
            "description": "The questions of the attempt, in order.",
            "items": {
                "type": "object",
                "description": "A question with the answer given.",
                "properties": {
                    "id": {"type": "string", "description": "Question id.", "format": "uuid"},
                    "kind": {
                        "type": "string",
                        "description": "Question kind.",
                        "enum": [
                            "single_choice", "multiple_choice", "true_false", "short_text",
                            "numeric", "ordering"
                        ]
                    },
                    "prompt": {"type": "string", "description": "Prompt (Markdown)."},
                    "points": {"type": "number", "description": "Points it is worth."},
                    "response": {"description": "The answer given; null when unanswered."},
                    "options": {
                        "type": "array",
                        "description": "Options in this attempt''s order; empty for other kinds.",
                        "items": {
                            "type": "object",
                            "description": "An answer option.",
                            "properties": {
                                "id": {
                                    "type": "string", "description": "Option id.", "format": "uuid"
                                },
                                "label": {"type": "string", "description": "Option text."}
                            },
                            "required": ["id", "label"],
                            "additionalProperties": false
                        }
                    },
                    "points_awarded": {
                        "type": ["number", "null"], "description": "Points given (revealed only)."
                    },
                    "is_correct": {
                        "type": ["boolean", "null"],
                        "description": "Whether the answer was right (revealed only)."
                    },
                    "correct_option_ids": {
                        "type": ["array", "null"],
                        "description": "Correct options or order (revealed only).",
                        "items": {"type": "string", "format": "uuid"}
                    },
                    "correct_bool": {
                        "type": ["boolean", "null"],
                        "description": "Answer of a true/false question (revealed only)."
                    },
                    "accepted_answers": {
                        "type": ["array", "null"],
                        "description": "Accepted short-text answers (revealed only).",
                        "items": {"type": "string"}
                    },
                    "numeric_answer": {
                        "type": ["number", "null"],
                        "description": "Answer of a numeric question (revealed only)."
                    },
                    "tolerance": {
                        "type": ["number", "null"],
                        "description": "Accepted distance from the numeric answer (revealed only)."
                    },
                    "explanation": {
                        "type": ["string", "null"], "description": "Explanation (revealed only)."
                    }
                },
                "required": ["id", "kind", "prompt", "points", "response", "options"],
                "additionalProperties": false
            }
        }
    },
    "required": [
        "attempt_id", "quiz_id", "status", "score", "passed", "points", "max_points",
        "submitted_at", "revealed", "questions"
    ],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.learning_update_course', '{
    "type": "object",
    "description": "The course after the change.",
    "properties": {
        "id": {"type": "string", "description": "Course id.", "format": "uuid"},
        "slug": {"type": "string", "description": "URL slug."},
        "title": {"type": "string", "description": "Title."},
        "summary": {"type": "string", "description": "Short summary."},
        "description": {"type": "string", "description": "Description (Markdown)."},
        "level": {
            "type": "string", "description": "Level.",
            "enum": ["beginner", "intermediate", "advanced"]
        },
        "tags": {"type": "array", "description": "Tags.", "items": {"type": "string"}},
        "estimated_hours": {
            "type": ["number", "null"], "description": "Estimated hours of work; null if not given."
        },
        "language": {"type": "string", "description": "Language code."},
        "price_tier": {
            "type": "string", "description": "free, or pro (needs the pro plan).",
            "enum": ["free", "pro"]
        },
        "status": {
            "type": "string", "description": "Lifecycle status.",
            "enum": ["draft", "published", "archived"]
        },
        "cover_path": {
            "type": ["string", "null"], "description": "Storage path of the cover image."
        },
        "sequential": {"type": "boolean", "description": "Lessons unlock in order."},
        "created_by": {
            "type": ["string", "null"], "description": "Author; null once erased.", "format": "uuid"
        },
        "published_at": {
            "type": ["string", "null"], "description": "First published; null while a draft.",
            "format": "date-time"
        },
        "enrollment_count": {"type": "integer", "description": "Enrollments so far."},
        "rating_count": {"type": "integer", "description": "Ratings."},
        "rating_sum": {"type": "integer", "description": "Sum of the ratings."},
        "rating_avg": {"type": "number", "description": "Average rating (0 without ratings)."},
        "created_at": {"type": "string", "description": "Created.", "format": "date-time"},
        "updated_at": {"type": "string", "description": "Last changed.", "format": "date-time"},
        "description_html": {
            "type": ["string", "null"],
            "description": "The description rendered to safe HTML; null until rendered."
        }
    },
    "required": [
        "id", "slug", "title", "summary", "description", "level", "tags", "estimated_hours",
        "language", "price_tier", "status", "cover_path", "sequential", "created_by",
        "published_at", "enrollment_count", "rating_count", "rating_sum", "rating_avg",
        "created_at", "updated_at", "description_html"
    ],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.learning_configure_quiz', '{
    "type": "object",
    "description": "The quiz settings after the change.",
    "properties": {
        "id": {"type": "string", "description": "Quiz id.", "format": "uuid"},
        "course_id": {"type": "string", "description": "Course.", "format": "uuid"},
        "lesson_id": {"type": "string", "description": "Quiz lesson.", "format": "uuid"},
        "passing_score": {
            "type": "number", "description": "Score in percent needed to pass (0-100)."
        },
        "max_attempts": {
            "type": ["integer", "null"], "description": "Attempts allowed; null means unlimited."
        },
        "wait_seconds": {"type": "integer", "description": "Wait between attempts, in seconds."},
        "grading_method": {
            "type": "string", "description": "Which attempt grades the quiz.",
            "enum": ["highest", "last", "first", "average"]
        },
        "time_limit_seconds": {
            "type": ["integer", "null"], "description": "Time limit of an attempt; null means none."
        },
        "overdue_policy": {
            "type": "string",
            "description": "What happens to an attempt submitted after its deadline.",
            "enum": ["auto_submit", "refuse"]
        },
        "shuffle_questions": {
            "type": "boolean", "description": "Questions are shuffled per attempt."
        },
        "shuffle_options": {"type": "boolean", "description": "Options are shuffled per attempt."},
        "draw_count": {
            "type": ["integer", "null"],
            "description": "Questions drawn from the bank per attempt; null means all."
        },
        "reveal_policy": {
            "type": "string", "description": "When learners see the correct answers.",
            "enum": ["never", "after_passing", "after_last_attempt", "after_due_date"]
        },
        "due_at": {
            "type": ["string", "null"],
            "description": "No attempt starts after this; null means no due date.",
            "format": "date-time"
        },
        "created_at": {"type": "string", "description": "Created.", "format": "date-time"},
        "updated_at": {"type": "string", "description": "Last changed.", "format": "date-time"}
    },
    "required": [
        "id", "course_id", "lesson_id", "passing_score", "max_attempts", "wait_seconds",
        "grading_method", "time_limit_seconds", "overdue_policy", "shuffle_questions",
        "shuffle_options", "draw_count", "reveal_policy", "due_at", "created_at", "updated_at"
    ],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.learning_get_lesson', '{
    "type": "object",
    "description": "A lesson the caller may read, with its body and the progress of the caller.",
    "properties": {
        "id": {"type": "string", "description": "Lesson id.", "format": "uuid"},
        "course_id": {"type": "string", "description": "Course.", "format": "uuid"},
        "module_id": {"type": "string", "description": "Module.", "format": "uuid"},
        "title": {"type": "string", "description": "Title."},
        "kind": {
            "type": "string", "description": "Lesson kind.",
            "enum": ["article", "video", "lab", "quiz"]
        },
        "is_preview": {"type": "boolean", "description": "Readable before enrolling."},
        "is_required": {"type": "boolean", "description": "Counts towards completion."},
        "duration_seconds": {"type": ["integer", "null"], "description": "Expected duration."},
        "body_md": {"type": "string", "description": "Body (Markdown); empty when none."},
        "body_html": {
            "type": ["string", "null"],
            "description": "Body rendered to safe HTML; null until rendered."
        },
        "attachments": {
            "type": "array",
            "description": "Storage paths of attachments.",
            "items": {"type": "string"}
        },
        "completed_at": {
            "type": ["string", "null"], "description": "When the caller completed it.",
            "format": "date-time"
        },
        "position_seconds": {
            "type": ["integer", "null"], "description": "Where the caller stopped (video)."
        },
        "quiz_id": {
            "type": ["string", "null"], "description": "Quiz of a quiz lesson; null for others.",
            "format": "uuid"
        }
    },
    "required": [
        "id", "course_id", "module_id", "title", "kind", "is_preview", "is_required",
        "duration_seconds", "body_md", "body_html", "attachments", "completed_at",
        "position_seconds", "quiz_id"
    ],
    "additionalProperties": false
}'::jsonb);
