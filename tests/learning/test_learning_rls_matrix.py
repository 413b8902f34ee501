"""RLS matrix for every learning object: each role × each object × select/insert/update/
delete/execute.

Roles: anon, stranger (signed in, not enrolled), learner (enrolled; has completed the course,
an attempt, a certificate, a review), teacher (owner of the course), other (instructor of
another course), admin, service_role.

Outcomes: "yes" (rows visible / changed / call worked), "no" (allowed to ask, nothing
visible or changed), "deny" (42501 without an API code: no privilege or a policy
violation), or the API error code raised.
"""

from __future__ import annotations

import pytest
from learning_helpers import correct_answers, make_scene, rpc

from flagship.database import connect
from flagship.testing.harness import matrix_outcome

ROLES = ["anon", "stranger", "learner", "teacher", "other", "admin", "service_role"]


def row(*values):
    return dict(zip(ROLES, values, strict=True))


ALL = row(*["yes"] * 7)
NONE_BUT_SERVICE = row(*["deny"] * 6, "yes")
ALL_DENY = row(*["deny"] * 7)
CATALOG = ALL
LEARNER_DATA = row("deny", "no", "yes", "yes", "no", "yes", "yes")
STAFF_ONLY = row("deny", "no", "no", "yes", "no", "yes", "yes")
MINE = row("deny", "no", "yes", "no", "no", "no", "no")
STAFF_VIEW = row("deny", "no", "no", "yes", "no", "yes", "yes")

COURSE = "course_id = %(course)s"
LEARNER = "user_id = %(learner)s"
SELECT = {
    "learning.courses": ("id = %(course)s", CATALOG),
    "learning.courses (draft)": (
        "id = %(draft)s",
        row("no", "no", "no", "yes", "no", "yes", "yes"),
    ),
    "learning.course_team": (COURSE, CATALOG),
    "learning.modules": (COURSE, CATALOG),
    "learning.lessons": (COURSE, CATALOG),
    "learning.course_prerequisites": (COURSE, CATALOG),
    "learning.module_prerequisites": ("module_id = %(module2)s", CATALOG),
    "learning.quizzes": (COURSE, CATALOG),
    "learning.reviews": (COURSE, CATALOG),
    "learning.lesson_contents": ("lesson_id = %(lesson)s", NONE_BUT_SERVICE),
    "learning.question_keys": ("true", ALL_DENY),
    "learning.questions": (COURSE, STAFF_ONLY),
    "learning.question_options": ("true", STAFF_ONLY),
    "learning.attempt_answers": ("true", STAFF_ONLY),
    "learning.enrollments": (LEARNER, LEARNER_DATA),
    "learning.lesson_progress": (LEARNER, LEARNER_DATA),
    "learning.attempts": (LEARNER, LEARNER_DATA),
    "learning.quiz_results": (LEARNER, LEARNER_DATA),
    "learning.accommodations": (LEARNER, LEARNER_DATA),
    "learning.certificates": (LEARNER, LEARNER_DATA),
    "learning.certificate_events": ("certificate_id = %(cert)s", LEARNER_DATA),
    "api.learning_courses": ("id = %(course)s", CATALOG),
    "api.learning_course_modules": (COURSE, CATALOG),
    "api.learning_course_lessons": (COURSE, CATALOG),
    "api.learning_course_team": (COURSE, CATALOG),
    "api.learning_course_prerequisites": (COURSE, CATALOG),
    "api.learning_quizzes": (COURSE, CATALOG),
    "api.learning_course_reviews": (COURSE, CATALOG),
    "api.learning_my_enrollments": ("true", MINE),
    "api.learning_my_lesson_progress": ("true", MINE),
    "api.learning_my_quiz_attempts": ("true", MINE),
    "api.learning_my_quiz_results": ("true", MINE),
    "api.learning_my_certificates": ("true", MINE),
    "api.learning_certificate_history": ("certificate_id = %(cert)s", LEARNER_DATA),
    "api.learning_course_accommodations": (LEARNER, LEARNER_DATA),
    "api.learning_course_roster": (COURSE, STAFF_VIEW),
    "api.learning_course_attempts": (COURSE, STAFF_VIEW),
    "api.learning_course_enrollment_stats": (COURSE, STAFF_VIEW),
    "api.learning_course_lesson_funnel": (COURSE, STAFF_VIEW),
    "api.learning_quiz_item_difficulty": (COURSE, STAFF_VIEW),
    "storage.objects (course-content)": (
        "bucket_id = 'course-content' and name = %(object)s",
        row("no", "no", "yes", "yes", "no", "yes", "yes"),
    ),
}

WRITES = {
    "learning.courses": {
        "insert": "insert into learning.courses (slug, title) values ('pwn-course', 'Pwned')",
        "update": "update learning.courses set title = 'Pwned' where id = %(course)s",
        "delete": "delete from learning.courses where id = %(course)s",
    },
    "learning.course_team": {
        "insert": "insert into learning.course_team values (%(course)s, %(learner)s, 'owner')",
        "update": "update learning.course_team set role = 'ta' where course_id = %(course)s",
        "delete": "delete from learning.course_team where course_id = %(course)s",
    },
    "learning.modules": {
        "insert": "insert into learning.modules (course_id, position, title)"
        " values (%(course)s, 99, 'x')",
        "update": "update learning.modules set title = 'x' where course_id = %(course)s",
        "delete": "delete from learning.modules where course_id = %(course)s",
    },
    "learning.lessons": {
        "update": "update learning.lessons set is_preview = true where course_id = %(course)s",
        "delete": "delete from learning.lessons where course_id = %(course)s",
    },
    "learning.lesson_contents": {
        "update": "update learning.lesson_contents set body_md = 'x' where lesson_id = %(lesson)s",
    },
    "learning.quizzes": {
        "update": "update learning.quizzes set passing_score = 0 where course_id = %(course)s",
    },
    "learning.questions": {
        "update": "update learning.questions set points = 0.01 where course_id = %(course)s",
        "delete": "delete from learning.questions where course_id = %(course)s",
    },
    "learning.question_keys": {
        "update": "update learning.question_keys set correct_bool = true",
        "delete": "delete from learning.question_keys",
    },
    "learning.enrollments": {
        "insert": "insert into learning.enrollments (user_id, course_id)"
        " values (%(stranger)s, %(course)s)",
        "update": "update learning.enrollments set progress_pct = 100 where user_id = %(learner)s",
        "delete": "delete from learning.enrollments where user_id = %(learner)s",
    },
    "learning.lesson_progress": {
        "update": "update learning.lesson_progress set completed_at = now()"
        " where user_id = %(learner)s",
        "delete": "delete from learning.lesson_progress where user_id = %(learner)s",
    },
    "learning.attempts": {
        "update": "update learning.attempts set score = 100 where user_id = %(learner)s",
        "delete": "delete from learning.attempts where user_id = %(learner)s",
    },
    "learning.attempt_answers": {
        "update": "update learning.attempt_answers set points_awarded = 100",
    },
    "learning.quiz_results": {
        "update": "update learning.quiz_results set passed = true where user_id = %(learner)s",
    },
    "learning.certificates": {
        "insert": "insert into learning.certificates (code, user_id, course_id, course_title)"
        " values ('FLG-000000000000000000000000', %(stranger)s, %(course)s, 'x')",
        "update": "update learning.certificates set status = 'valid' where user_id = %(learner)s",
        "delete": "delete from learning.certificates where user_id = %(learner)s",
    },
    "learning.reviews": {
        "update": "update learning.reviews set rating = 5 where course_id = %(course)s",
        "delete": "delete from learning.reviews where course_id = %(course)s",
    },
    "learning.accommodations": {
        "insert": "insert into learning.accommodations (course_id, user_id, extra_time_pct)"
        " values (%(course)s, %(stranger)s, 400)",
        "update": "update learning.accommodations set extra_time_pct = 400",
    },
    "api.learning_courses": {
        "update": "update api.learning_courses set title = 'x' where id = %(course)s",
        "delete": "delete from api.learning_courses where id = %(course)s",
    },
    "api.learning_my_lesson_progress": {
        "update": "update api.learning_my_lesson_progress set completed_at = null"
    },
    "api.learning_my_quiz_attempts": {
        "update": "update api.learning_my_quiz_attempts set score = 100"
    },
}

# Storage writes in the course's folder: owners/co-instructors and admins only.
STORAGE_WRITES = {
    "insert": (
        "insert into storage.objects (bucket_id, name, owner_id)"
        " values ('course-content', %(course)s || '/new.pdf', 'x')",
        row("deny", "deny", "deny", "yes", "deny", "yes", "yes"),
    ),
    "update": (
        "update storage.objects set metadata = '{}' where name = %(object)s",
        row("no", "no", "no", "yes", "no", "yes", "yes"),
    ),
    "delete": (
        "delete from storage.objects where name = %(object)s",
        row("no", "no", "no", "yes", "no", "yes", "yes"),
    ),
}

NA = "not_authenticated"
NE = "learning_not_enrolled"
NF = "learning_attempt_not_found"
FB = "forbidden"
# Authenticated-only RPC: service_role has no grant ("deny").
AUTHOR = row("deny", FB, FB, "yes", FB, "yes", "deny")
LEARN = row("deny", NE, "yes", NE, NE, NE, "deny")
EXECUTE = {
    "api.learning_list_courses": ("select * from api.learning_list_courses()", ALL),
    "api.learning_get_course_outline": ("select api.learning_get_course_outline(%(course)s)", ALL),
    "api.learning_get_lesson": (
        "select api.learning_get_lesson(%(lesson)s)",
        row(NA, NE, "yes", "yes", NE, "yes", "yes"),
    ),
    "api.learning_verify_certificate": ("select api.learning_verify_certificate(%(code)s)", ALL),
    "api.learning_enroll": (
        "select api.learning_enroll(%(other_course)s)",
        row("deny", "yes", "yes", "yes", "yes", "yes", "deny"),
    ),
    "api.learning_unenroll": ("select api.learning_unenroll(%(course)s)", LEARN),
    "api.learning_complete_lesson": ("select api.learning_complete_lesson(%(lesson)s)", LEARN),
    "api.learning_save_video_position": (
        "select api.learning_save_video_position(%(lesson)s, 5)",
        LEARN,
    ),
    "api.learning_start_attempt": ("select api.learning_start_attempt(%(quiz)s)", LEARN),
    "api.learning_get_attempt": (
        "select api.learning_get_attempt(%(attempt)s)",
        row("deny", NF, "yes", NF, NF, NF, "deny"),
    ),
    "api.learning_save_answers": (
        "select api.learning_save_answers(%(attempt)s, '{}')",
        row("deny", NF, "learning_attempt_closed", NF, NF, NF, "deny"),
    ),
    "api.learning_submit_attempt": (
        "select api.learning_submit_attempt(%(attempt)s, '{}')",
        row("deny", NF, "learning_attempt_closed", NF, NF, NF, "deny"),
    ),
    "api.learning_get_attempt_review": (
        "select api.learning_get_attempt_review(%(attempt)s)",
        row("deny", NF, "yes", "yes", NF, "yes", "deny"),
    ),
    "api.learning_revoke_certificate": (
        "select api.learning_revoke_certificate(%(code)s, 'matrix test')",
        row("deny", FB, FB, FB, FB, "yes", "deny"),
    ),
    "api.learning_reinstate_certificate": (
        "select api.learning_reinstate_certificate(%(code)s, 'matrix test')",
        row("deny", FB, FB, FB, FB, "learning_certificate_valid", "deny"),
    ),
    "api.learning_review_course": (
        "select api.learning_review_course(%(course)s, 5, 'ok')",
        LEARN | {"teacher": "learning_review_own_course"},
    ),
    "api.learning_delete_my_review": (
        "select api.learning_delete_my_review(%(course)s)",
        row(*(["deny"] + ["learning_review_not_found"] * 5 + ["deny"])) | {"learner": "yes"},
    ),
    "api.learning_reply_to_review": (
        "select api.learning_reply_to_review(%(review)s, 'thanks')",
        row("deny", FB, FB, "yes", FB, "yes", "deny"),
    ),
    "api.learning_create_course": (
        "select api.learning_create_course('matrix-course', 'Matrix course')",
        row("deny", FB, FB, "yes", "yes", "yes", "deny"),
    ),
    "api.learning_update_course": (
        'select api.learning_update_course(%(course)s, \'{"summary": "x"}\')',
        AUTHOR,
    ),
    "api.learning_set_course_team": (
        "select api.learning_set_course_team(%(course)s, %(stranger)s, 'ta')",
        AUTHOR,
    ),
    "api.learning_create_module": ("select api.learning_create_module(%(course)s, 'M')", AUTHOR),
    "api.learning_update_module": (
        'select api.learning_update_module(%(module2)s, \'{"title": "x"}\')',
        AUTHOR,
    ),
    "api.learning_create_lesson": (
        "select api.learning_create_lesson(%(module2)s, 'L', 'article')",
        AUTHOR,
    ),
    "api.learning_update_lesson": (
        'select api.learning_update_lesson(%(lesson)s, \'{"title": "x"}\')',
        AUTHOR,
    ),
    "api.learning_delete_lesson": (
        "select api.learning_delete_lesson(%(lesson)s)",
        row("deny", FB, FB, "conflict", FB, "conflict", "deny"),
    ),
    "api.learning_reorder_modules": (
        "select api.learning_reorder_modules(%(course)s, %(modules_reversed)s::uuid[])",
        AUTHOR,
    ),
    "api.learning_reorder_lessons": (
        "select api.learning_reorder_lessons(%(module2)s, %(module2_lessons)s::uuid[])",
        AUTHOR,
    ),
    "api.learning_set_course_prerequisites": (
        "select api.learning_set_course_prerequisites(%(course)s, '{}')",
        AUTHOR,
    ),
    "api.learning_set_module_prerequisites": (
        "select api.learning_set_module_prerequisites(%(module2)s, '{}')",
        AUTHOR,
    ),
    "api.learning_configure_quiz": (
        "select api.learning_configure_quiz(%(quiz)s, '{\"passing_score\": 60}')",
        AUTHOR,
    ),
    "api.learning_save_question": (
        "select api.learning_save_question(%(quiz)s,"
        ' \'{"kind": "true_false", "prompt": "?", "answer": true}\')',
        AUTHOR,
    ),
    "api.learning_delete_question": ("select api.learning_delete_question(%(question)s)", AUTHOR),
    "api.learning_get_quiz_for_authoring": (
        "select api.learning_get_quiz_for_authoring(%(quiz)s)",
        AUTHOR,
    ),
    "api.learning_publish_course": ("select api.learning_publish_course(%(course)s)", AUTHOR),
    "api.learning_archive_course": ("select api.learning_archive_course(%(course)s)", AUTHOR),
    "api.learning_set_accommodation": (
        "select api.learning_set_accommodation(%(course)s, %(learner)s, 25)",
        AUTHOR,
    ),
    "private.export_learning": ("select private.export_learning(%(learner)s)", ALL_DENY),
    "private.erase_learning": ("select private.erase_learning(%(learner)s)", ALL_DENY),
    "private.learning_close_all_overdue": (
        "select private.learning_close_all_overdue()",
        row(*["deny"] * 6, "yes"),
    ),
    "private.learning_grade_attempt": (
        "select private.learning_grade_attempt(%(attempt)s, '{}', 'submitted', now())",
        ALL_DENY,
    ),
    "private.learning_refresh_progress": (
        "select private.learning_refresh_progress(%(learner)s, %(course)s)",
        ALL_DENY,
    ),
}


@pytest.fixture(scope="module")
def mdb(db_url):
    """One connection for the module, in a transaction that is never committed: the world
    is built once and every cell runs in a savepoint that is rolled back."""
    conn = connect(db_url)
    try:
        yield conn
    finally:
        conn.rollback()
        conn.close()


@pytest.fixture(scope="module")
def world(mdb):
    """The scene, with the learner through the whole course and an object in the bucket."""
    db = mdb
    s = make_scene(db)
    for key in ("intro", "headers", "lab"):
        rpc(db, s.learner, "learning_complete_lesson", p_lesson_id=s.lessons[key])
    attempt = rpc(db, s.learner, "learning_start_attempt", p_quiz_id=s.quiz_id)
    rpc(
        db,
        s.learner,
        "learning_submit_attempt",
        p_attempt_id=attempt["id"],
        p_answers=correct_answers(db, attempt),
    )
    review = rpc(db, s.learner, "learning_review_course", p_course_id=s.course_id, p_rating=5)
    rpc(
        db,
        s.teacher,
        "learning_set_accommodation",
        p_course_id=s.course_id,
        p_user_id=s.learner.id,
        p_extra_time_pct=10,
    )
    rpc(
        db,
        s.teacher,
        "learning_set_module_prerequisites",
        p_module_id=s.modules[1],
        p_required=[s.modules[0]],
    )
    rpc(
        db,
        s.other_teacher,
        "learning_set_course_prerequisites",
        p_course_id=s.other_course_id,
        p_required=[],
    )
    db.execute(
        "insert into learning.course_prerequisites values (%s, %s)",
        (s.course_id, s.other_course_id),
    )
    draft = rpc(db, s.teacher, "learning_create_course", p_slug="draft-matrix", p_title="Draft")
    cert = db.execute(
        "select id, code from learning.certificates where user_id = %s", (s.learner.id,)
    ).fetchone()
    obj = f"{s.course_id}/headers/slides.pdf"
    db.execute(
        "insert into storage.objects (bucket_id, name, owner_id) values ('course-content', %s, %s)",
        (obj, s.teacher.id),
    )
    module2_lessons = [
        r["id"]
        for r in db.execute(
            "select id::text from learning.lessons where module_id = %s order by position desc",
            (s.modules[1],),
        )
    ]
    users = {
        "anon": "anon",
        "stranger": s.stranger,
        "learner": s.learner,
        "teacher": s.teacher,
        "other": s.other_teacher,
        "admin": s.admin,
        "service_role": "service_role",
    }
    params = {
        "course": s.course_id,
        "other_course": s.other_course_id,
        "draft": draft["id"],
        "learner": s.learner.id,
        "stranger": s.stranger.id,
        "lesson": s.lessons["headers"],
        "module2": s.modules[1],
        "module2_lessons": module2_lessons,
        "modules_reversed": list(reversed(s.modules)),
        "quiz": s.quiz_id,
        "question": s.questions[2],
        "attempt": attempt["id"],
        "cert": cert["id"],
        "code": cert["code"],
        "review": review["id"],
        "object": obj,
    }
    return users, params


# 42501 refusals that count as "deny" in this matrix
DENIED = frozenset({None})


def outcome(db, who, sql, params, *, count_rows=False) -> str:
    return matrix_outcome(db, who, sql, params, count_rows=count_rows, denied=DENIED)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("obj", sorted(SELECT))
def test_select(mdb, world, obj, role):
    users, params = world
    db = mdb
    where, expected = SELECT[obj]
    table = obj.split(" ")[0]
    got = outcome(
        db,
        users[role],
        f"select count(*) as n from {table} where {where}",
        params,
        count_rows=True,
    )
    assert got == expected[role]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("obj", "action"), sorted((o, a) for o, actions in WRITES.items() for a in actions)
)
def test_write(mdb, world, obj, action, role):
    users, params = world
    db = mdb
    got = outcome(db, users[role], WRITES[obj][action], params)
    if role == "service_role" and obj.startswith("learning.") and obj != "learning.question_keys":
        return  # the service role administers the tables (bypasses RLS by design)
    assert got in ("deny", "no"), f"{role} could {action} {obj}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(STORAGE_WRITES))
def test_storage_write(mdb, world, action, role):
    users, params = world
    db = mdb
    sql, expected = STORAGE_WRITES[action]
    assert outcome(db, users[role], sql, params) == expected[role]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("fn", sorted(EXECUTE))
def test_execute(mdb, world, fn, role):
    users, params = world
    db = mdb
    sql, expected = EXECUTE[fn]
    got = outcome(db, users[role], sql, params)
    assert got == expected[role]


def test_matrix_covers_every_learning_table(db):
    tables = {
        f"learning.{r['relname']}"
        for r in db.execute(
            "select relname from pg_class where relnamespace = 'learning'::regnamespace"
            " and relkind = 'r'"
        )
    }
    covered = {k.split(" ")[0] for k in SELECT}
    assert sorted(tables - covered) == []


def learning_api_objects(db) -> tuple[set[str], set[str]]:
    """Every learning view and function in api (the domain prefix names them)."""
    views = {
        f"api.{r['relname']}"
        for r in db.execute(
            "select c.relname from pg_class as c"
            " where c.relnamespace = 'api'::regnamespace and c.relkind in ('v', 'm')"
            " and c.relname like 'learning\\_%'"
        )
    }
    functions = {
        f"api.{r['proname']}"
        for r in db.execute(
            "select distinct p.proname from pg_proc as p"
            " where p.pronamespace = 'api'::regnamespace and p.proname like 'learning\\_%'"
        )
    }
    return views, functions


def test_matrix_covers_every_learning_api_view_and_function(db):
    views, functions = learning_api_objects(db)
    assert len(views) > 15 and len(functions) > 30  # the query finds the surface
    assert sorted(views - set(SELECT)) == [], "api views missing from the SELECT matrix"
    assert sorted(functions - set(EXECUTE)) == [], "api functions missing from EXECUTE"
    stale = {k for k in (set(SELECT) | set(EXECUTE)) if k.startswith("api.")}
    assert sorted(stale - views - functions) == [], "matrix rows for objects that do not exist"


def test_coverage_check_notices_a_missing_row(db, monkeypatch):
    """The coverage check fails when one view or function row is removed."""
    for matrix, name in (
        (SELECT, "api.learning_my_certificates"),
        (EXECUTE, "api.learning_enroll"),
    ):
        monkeypatch.delitem(matrix, name)
        with pytest.raises(AssertionError, match="missing"):
            test_matrix_covers_every_learning_api_view_and_function(db)
        monkeypatch.undo()
    test_matrix_covers_every_learning_api_view_and_function(db)
