-- Learning: the declared result shapes of its api functions that return jsonb.
--
-- One JSON Schema (draft 2020-12) per function, registered with ops.declare_result_shape
-- (20261201200000_ops_api_result_shapes.sql). The OpenAPI document, the TypeScript types and
-- the Python SDK read them; flagship.testing.harness.rpc validates every real result against
-- them, so a change to a function's result changes its shape here in the same commit.

select ops.declare_result_shape('api.learning_archive_course', '{
    "type": "object",
    "description": "The course, now archived.",
    "properties": {
        "id": {"type": "string", "description": "Course id.", "format": "uuid"},
        "status": {"type": "string", "const": "archived", "description": "New status."}
    },
    "required": ["id", "status"],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.learning_complete_lesson', '{
    "type": "object",
    "description": "The lesson completion and the course progress after it.",
    "properties": {
        "lesson_id": {"type": "string", "description": "Lesson.", "format": "uuid"},
        "completed_at": {
            "type": "string", "description": "When the lesson was (first) completed.",
            "format": "date-time"
        },
        "newly_completed": {
            "type": "boolean",
            "description": "False when it was already complete (the call is idempotent)."
        },
        "course_id": {"type": "string", "description": "Course.", "format": "uuid"},
        "progress_pct": {"type": "number", "description": "Course progress in percent."},
        "lessons_completed": {"type": "integer", "description": "Required lessons completed."},
        "course_completed": {"type": "boolean", "description": "The whole course is complete."}
    },
    "required": [
        "lesson_id", "completed_at", "newly_completed", "course_id", "progress_pct",
        "lessons_completed", "course_completed"
    ],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.learning_create_course', '{
    "type": "object",
    "description": "The new draft course; the caller owns it.",
    "properties": {
        "id": {"type": "string", "description": "Course id.", "format": "uuid"},
        "slug": {"type": "string", "description": "URL slug."},
        "status": {"type": "string", "const": "draft", "description": "Status."}
    },
    "required": ["id", "slug", "status"],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.learning_enroll', '{
    "type": "object",
    "description": "The enrollment of the caller.",
    "properties": {
        "course_id": {"type": "string", "description": "Course.", "format": "uuid"},
        "status": {
            "type": "string",
            "description": "Enrollment status (completed when re-enrolling in a finished course).",
            "enum": ["active", "completed"]
        },
        "enrolled_at": {
            "type": "string", "description": "When the caller enrolled.", "format": "date-time"
        },
        "progress_pct": {"type": "number", "description": "Progress in percent."}
    },
    "required": ["course_id", "status", "enrolled_at", "progress_pct"],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.learning_get_attempt', '{
    "type": "object",
    "description": "The attempt as its learner sees it while taking the quiz (no answer key).",
    "properties": {
        "id": {"type": "string", "description": "Attempt id.", "format": "uuid"},
        "quiz_id": {"type": "string", "description": "Quiz.", "format": "uuid"},
        "course_id": {"type": "string", "description": "Course.", "format": "uuid"},
        "attempt_no": {"type": "integer", "description": "Attempt number for this quiz, from 1."},
        "status": {
            "type": "string", "description": "Attempt status.",
            "enum": ["in_progress", "submitted", "auto_submitted", "expired"]
        },
        "started_at": {"type": "string", "description": "When it started.", "format": "date-time"},
        "deadline_at": {
            "type": ["string", "null"],
            "description": "Answers after this are refused or ignored; null means no limit.",
            "format": "date-time"
        },
        "submitted_at": {
            "type": ["string", "null"], "description": "When it was submitted.",
            "format": "date-time"
        },
        "server_time": {
            "type": "string", "description": "The server clock, to show the time left.",
            "format": "date-time"
        },
        "score": {
            "type": ["number", "null"], "description": "Score in percent; null until graded."
        },
        "passed": {
            "type": ["boolean", "null"], "description": "Whether it passed; null until graded."
        },
        "saved_answers": {
            "type": "object",
            "description": "Saved answers by question id; the value depends on the question kind."
        },
        "questions": {
            "type": "array",
            "description": "The questions drawn for this attempt, in order.",
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
                    }
                },
                "required": ["id", "kind", "prompt", "points", "options"],
                "additionalProperties": false
            }
        }
    },
    "required": [
        "id", "quiz_id", "course_id", "attempt_no", "status", "started_at", "deadline_at",
        "submitted_at", "server_time", "score", "passed", "saved_answers", "questions"
    ],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.learning_publish_course', '{
    "type": "object",
    "description": "The course, now published.",
    "properties": {
        "id": {"type": "string", "description": "Course id.", "format": "uuid"},
        "status": {"type": "string", "const": "published", "description": "New status."}
    },
    "required": ["id", "status"],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.learning_reinstate_certificate', '{
    "type": "object",
    "description": "The certificate, valid again.",
    "properties": {
        "code": {
            "type": "string", "description": "Certificate code (FLG-...).",
            "pattern": "^FLG-[0-9A-F]{24}$"
        },
        "status": {"type": "string", "const": "valid", "description": "New status."}
    },
    "required": ["code", "status"],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.learning_reply_to_review', '{
    "type": "object",
    "description": "The review and its reply (nulls when the reply was removed).",
    "properties": {
        "id": {"type": "string", "description": "Review id.", "format": "uuid"},
        "reply_body": {"type": ["string", "null"], "description": "Reply."},
        "reply_by": {"type": ["string", "null"], "description": "Who replied.", "format": "uuid"},
        "replied_at": {"type": ["string", "null"], "description": "When.", "format": "date-time"}
    },
    "required": ["id", "reply_body", "reply_by", "replied_at"],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.learning_review_course', '{
    "type": "object",
    "description": "The review by the caller of the course (one per learner).",
    "properties": {
        "id": {"type": "string", "description": "Review id.", "format": "uuid"},
        "course_id": {"type": "string", "description": "Course.", "format": "uuid"},
        "rating": {"type": "integer", "description": "Rating, 1 to 5.", "minimum": 1, "maximum": 5},
        "body": {"type": "string", "description": "Review text; may be empty."},
        "updated_at": {"type": "string", "description": "Last changed.", "format": "date-time"}
    },
    "required": ["id", "course_id", "rating", "body", "updated_at"],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.learning_revoke_certificate', '{
    "type": "object",
    "description": "The certificate, now revoked.",
    "properties": {
        "code": {
            "type": "string", "description": "Certificate code (FLG-...).",
            "pattern": "^FLG-[0-9A-F]{24}$"
        },
        "status": {"type": "string", "const": "revoked", "description": "New status."}
    },
    "required": ["code", "status"],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.learning_save_answers', '{
    "type": "object",
    "description": "The answers saved so far in an open attempt.",
    "properties": {
        "attempt_id": {"type": "string", "description": "Attempt.", "format": "uuid"},
        "saved_answers": {
            "type": "object",
            "description": "Saved answers by question id; the value depends on the question kind."
        },
        "deadline_at": {
            "type": ["string", "null"], "description": "Deadline; null means no limit.",
            "format": "date-time"
        },
        "server_time": {
            "type": "string", "description": "The server clock, to show the time left.",
            "format": "date-time"
        }
    },
    "required": ["attempt_id", "saved_answers", "deadline_at", "server_time"],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.learning_start_attempt', '{
    "type": "object",
    "description": "The new attempt, or the open attempt of the caller on the quiz (resumed).",
    "properties": {
        "id": {"type": "string", "description": "Attempt id.", "format": "uuid"},
        "quiz_id": {"type": "string", "description": "Quiz.", "format": "uuid"},
        "course_id": {"type": "string", "description": "Course.", "format": "uuid"},
        "attempt_no": {"type": "integer", "description": "Attempt number for this quiz, from 1."},
        "status": {
            "type": "string", "description": "Attempt status.",
            "enum": ["in_progress", "submitted", "auto_submitted", "expired"]
        },
        "started_at": {"type": "string", "description": "When it started.", "format": "date-time"},
        "deadline_at": {
            "type": ["string", "null"],
            "description": "Answers after this are refused or ignored; null means no limit.",
            "format": "date-time"
        },
        "submitted_at": {
            "type": ["string", "null"], "description": "When it was submitted.",
            "format": "date-time"
        },
        "server_time": {
            "type": "string", "description": "The server clock, to show the time left.",
            "format": "date-time"
        },
        "score": {
            "type": ["number", "null"], "description": "Score in percent; null until graded."
        },
        "passed": {
            "type": ["boolean", "null"], "description": "Whether it passed; null until graded."
        },
        "saved_answers": {
            "type": "object",
            "description": "Saved answers by question id; the value depends on the question kind."
        },
        "questions": {
            "type": "array",
            "description": "The questions drawn for this attempt, in order.",
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
                    }
                },
                "required": ["id", "kind", "prompt", "points", "options"],
                "additionalProperties": false
            }
        }
    },
    "required": [
        "id", "quiz_id", "course_id", "attempt_no", "status", "started_at", "deadline_at",
        "submitted_at", "server_time", "score", "passed", "saved_answers", "questions"
    ],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.learning_submit_attempt', '{
    "type": "object",
    "description": "The graded attempt and the quiz result after it.",
    "properties": {
        "attempt_id": {"type": "string", "description": "Attempt.", "format": "uuid"},
        "status": {
            "type": "string",
            "description": "submitted, or auto_submitted when the deadline had passed.",
            "enum": ["submitted", "auto_submitted"]
        },
        "late": {
            "type": "boolean",
            "description": "Submitted after the deadline (only answers saved before it count)."
        },
        "points": {"type": "number", "description": "Points earned."},
        "max_points": {"type": "number", "description": "Points possible."},
        "score": {"type": "number", "description": "Score in percent."},
        "passed": {"type": "boolean", "description": "This attempt passed."},
        "quiz_grade": {
            "type": ["number", "null"], "description": "The quiz grade by its grading method."
        },
        "quiz_passed": {"type": "boolean", "description": "The quiz is passed."},
        "attempts_used": {"type": "integer", "description": "Attempts used."},
        "attempts_left": {
            "type": ["integer", "null"], "description": "Attempts left; null means unlimited."
        }
    },
    "required": [
        "attempt_id", "status", "late", "points", "max_points", "score", "passed", "quiz_grade",
        "quiz_passed", "attempts_used", "attempts_left"
    ],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.learning_verify_certificate', '{
    "type": "object",
    "description": "A certificate as anyone may verify it.",
    "properties": {
        "code": {
            "type": "string", "description": "Certificate code.", "pattern": "^FLG-[0-9A-F]{24}$"
        },
        "holder_name": {
            "type": ["string", "null"], "description": "Name on the certificate; null once erased."
        },
        "holder_username": {
            "type": ["string", "null"], "description": "User name of the holder; null once erased."
        },
        "course_title": {"type": "string", "description": "Course title at issue."},
        "course_slug": {"type": "string", "description": "Course slug."},
        "issued_at": {"type": "string", "description": "Issued.", "format": "date-time"},
        "status": {
            "type": "string", "description": "valid or revoked.", "enum": ["valid", "revoked"]
        },
        "status_changed_at": {
            "type": ["string", "null"], "description": "Last revoked or reinstated.",
            "format": "date-time"
        }
    },
    "required": [
        "code", "holder_name", "holder_username", "course_title", "course_slug", "issued_at",
        "status", "status_changed_at"
    ],
    "additionalProperties": false
}'::jsonb);
