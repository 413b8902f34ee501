"""Learning test helpers: RPC calls as a user, and a published course built through the
authoring RPCs.

The course ("Web Security 101", owned by `teacher`) has two modules:
  module 1: intro (article, preview), headers (video, 600 s)
  module 2: lab (lab, optional), final quiz (quiz lesson) with one question of each type.
`other_teacher` owns another course; `learner` is enrolled in the first; `stranger` is not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from flagship.testing.harness import User, as_user, create_user, refresh


def grant_roles(db, user: User, *roles: str) -> User:
    for role in roles:
        db.execute(
            "insert into accounts.user_roles (user_id, role) values (%s, %s)"
            " on conflict do nothing",
            (user.id, role),
        )
    return refresh(db, user)


def call(db, who, sql: str, params: Any = None):
    """Run one statement as `who` and return the first row (or None)."""
    with as_user(db, who):
        cur = db.execute(sql, params)
        return cur.fetchone() if cur.description else None


def rpc(db, who, fn: str, **kwargs):
    """Call api.<fn>(name => value, ...) as `who`; jsonb arguments given as dicts/lists."""
    ids = {k for k, v in kwargs.items() if k.endswith("_ids") or k == "p_required"}
    args = ", ".join(f"{k} => %({k})s" + ("::uuid[]" if k in ids else "") for k in kwargs)
    params = {
        k: json.dumps(v) if isinstance(v, (dict, list)) and k not in ids else v
        for k, v in kwargs.items()
    }
    with as_user(db, who):
        row = db.execute(f"select api.{fn}({args}) as r", params).fetchone()
    return row["r"]


QUESTIONS = [
    {
        "kind": "single_choice",
        "prompt": "Which header stops clickjacking?",
        "points": 2,
        "options": [
            {"label": "X-Frame-Options", "correct": True},
            {"label": "X-Powered-By"},
            {"label": "Server"},
        ],
        "explanation": "X-Frame-Options (or CSP frame-ancestors).",
    },
    {
        "kind": "multiple_choice",
        "prompt": "Which are injection flaws?",
        "points": 2,
        "options": [
            {"label": "SQL injection", "correct": True},
            {"label": "XSS", "correct": True},
            {"label": "CSRF"},
        ],
    },
    {"kind": "true_false", "prompt": "HTTPS hides the domain name.", "answer": False},
    {
        "kind": "short_text",
        "prompt": "What does CSP stand for?",
        "accepted_answers": ["Content Security Policy"],
    },
    {"kind": "numeric", "prompt": "Default HTTPS port?", "answer": 443, "tolerance": 0},
    {
        "kind": "ordering",
        "prompt": "Order the TLS handshake messages.",
        "options": [{"label": "ClientHello"}, {"label": "ServerHello"}, {"label": "Finished"}],
    },
]


@dataclass
class CourseScene:
    teacher: User
    other_teacher: User
    learner: User
    stranger: User
    admin: User
    course_id: str
    other_course_id: str
    modules: list[str]
    lessons: dict[str, str]
    quiz_id: str
    questions: list[str] = field(default_factory=list)

    def get(self, name: str):
        if name in ("anon", "service_role"):
            return name
        return getattr(self, name)


def build_course(db, teacher: User, slug: str, title: str, with_quiz: bool = True) -> dict:
    course = rpc(
        db, teacher, "learning_create_course", p_slug=slug, p_title=title, p_summary="Basics"
    )
    cid = course["id"]
    rpc(
        db,
        teacher,
        "learning_update_course",
        p_course_id=cid,
        p_changes={"tags": ["web", "owasp"], "description": f"About {title}"},
    )
    m1 = rpc(db, teacher, "learning_create_module", p_course_id=cid, p_title="Foundations")
    m2 = rpc(db, teacher, "learning_create_module", p_course_id=cid, p_title="Practice")
    lessons = {
        "intro": rpc(
            db,
            teacher,
            "learning_create_lesson",
            p_module_id=m1,
            p_title="Intro",
            p_kind="article",
            p_changes={"body_md": "# Welcome (preview)", "is_preview": True},
        ),
        "headers": rpc(
            db,
            teacher,
            "learning_create_lesson",
            p_module_id=m1,
            p_title="Headers",
            p_kind="video",
            p_changes={
                "body_md": "SECRET-BODY headers",
                "duration_seconds": 600,
                "attachments": [f"{cid}/headers/slides.pdf"],
            },
        ),
        "lab": rpc(
            db,
            teacher,
            "learning_create_lesson",
            p_module_id=m2,
            p_title="Lab",
            p_kind="lab",
            p_changes={"body_md": "lab steps", "is_required": False},
        ),
    }
    out = {"id": cid, "modules": [m1, m2], "lessons": lessons, "quiz_id": None, "questions": []}
    if with_quiz:
        lessons["quiz"] = rpc(
            db,
            teacher,
            "learning_create_lesson",
            p_module_id=m2,
            p_title="Final quiz",
            p_kind="quiz",
        )
        quiz_id = db.execute(
            "select id from learning.quizzes where lesson_id = %s", (lessons["quiz"],)
        ).fetchone()["id"]
        out["quiz_id"] = str(quiz_id)
        rpc(
            db,
            teacher,
            "learning_configure_quiz",
            p_quiz_id=quiz_id,
            p_settings={"passing_score": 70, "max_attempts": 3, "reveal_policy": "after_passing"},
        )
        for q in QUESTIONS:
            out["questions"].append(
                str(rpc(db, teacher, "learning_save_question", p_quiz_id=quiz_id, p_question=q))
            )
    rpc(db, teacher, "learning_publish_course", p_course_id=cid)
    return out


def correct_answers(db, attempt: dict) -> dict:
    """The right answers for an attempt, read from the keys as the superuser (test only)."""
    answers = {}
    for q in attempt["questions"]:
        k = db.execute(
            "select q.kind::text as kind, k.* from learning.questions q"
            " join learning.question_keys k on k.question_id = q.id where q.id = %s",
            (q["id"],),
        ).fetchone()
        kind = k["kind"]
        if kind == "single_choice":
            answers[q["id"]] = str(k["correct_option_ids"][0])
        elif kind in ("multiple_choice", "ordering"):
            answers[q["id"]] = [str(x) for x in k["correct_option_ids"]]
        elif kind == "true_false":
            answers[q["id"]] = k["correct_bool"]
        elif kind == "short_text":
            answers[q["id"]] = "  content   SECURITY policy "
        elif kind == "numeric":
            answers[q["id"]] = float(k["numeric_answer"])
    return answers


def make_scene(db) -> CourseScene:
    teacher = grant_roles(
        db, create_user(db, username="teacher_one", display_name="Tess"), "instructor"
    )
    other = grant_roles(db, create_user(db, username="teacher_two"), "instructor")
    learner = create_user(db, username="learner_one", display_name="Lea Learner")
    stranger = create_user(db, username="stranger_one")
    admin = grant_roles(db, create_user(db, username="admin_one"), "admin")
    main = build_course(db, teacher, "web-security-101", "Web Security 101")
    second = build_course(db, other, "crypto-basics", "Crypto Basics", with_quiz=False)
    rpc(db, learner, "learning_enroll", p_course_id=main["id"])
    return CourseScene(
        teacher=teacher,
        other_teacher=other,
        learner=learner,
        stranger=stranger,
        admin=admin,
        course_id=str(main["id"]),
        other_course_id=str(second["id"]),
        modules=[str(m) for m in main["modules"]],
        lessons={k: str(v) for k, v in main["lessons"].items()},
        quiz_id=main["quiz_id"],
        questions=main["questions"],
    )
