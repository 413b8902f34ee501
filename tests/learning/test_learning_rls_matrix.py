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
from learning_helpers import correct_answers, make_scene

from flagship.testing.harness import rpc
from flagship.testing.matrix import REFUSED, Matrix

ROLES = ["anon", "stranger", "learner", "teacher", "other", "admin", "service_role"]
# 42501 refusals without an API code count as "deny" in this matrix
M = Matrix(["learning"], ROLES)
# Writes are refused for every client; the service role administers the tables (it
# bypasses RLS by design), so its cells say what it really gets.
SERVICE_ADMINISTERS = M.same(REFUSED) | {"service_role": "yes"}
ALL = M.same("yes")
NONE_BUT_SERVICE = M.cells(
    anon="deny",
    stranger="deny",
    learner="deny",
    teacher="deny",
    other="deny",
    admin="deny",
    service_role="yes",
)
ALL_DENY = M.same("deny")
CATALOG = M.same("yes")
LEARNER_DATA = M.cells(
    anon="deny",
    stranger="no",
    learner="yes",
    teacher="yes",
    other="no",
    admin="yes",
    service_role="yes",
)
STAFF_ONLY = M.cells(
    anon="deny",
    stranger="no",
    learner="no",
    teacher="yes",
    other="no",
    admin="yes",
    service_role="yes",
)
MINE = M.cells(
    anon="deny",
    stranger="no",
    learner="yes",
    teacher="no",
    other="no",
    admin="no",
    service_role="no",
)
STAFF_VIEW = M.cells(
    anon="deny",
    stranger="no",
    learner="no",
    teacher="yes",
    other="no",
    admin="yes",
    service_role="yes",
)

COURSE = "course_id = %(course)s"
LEARNER = "user_id = %(learner)s"
M.select("learning.courses", "id = %(course)s", CATALOG)
M.select(
    "learning.courses",
    "id = %(draft)s",
    M.cells(
        anon="no",
        stranger="no",
        learner="no",
        teacher="yes",
        other="no",
        admin="yes",
        service_role="yes",
    ),
    label="draft",
)
M.select("learning.course_team", COURSE, CATALOG)
M.select("learning.modules", COURSE, CATALOG)
M.select("learning.lessons", COURSE, CATALOG)
M.select("learning.course_prerequisites", COURSE, CATALOG)
M.select("learning.module_prerequisites", "module_id = %(module2)s", CATALOG)
M.select("learning.quizzes", COURSE, CATALOG)
M.select("learning.reviews", COURSE, CATALOG)
M.select("learning.lesson_contents", "lesson_id = %(lesson)s", NONE_BUT_SERVICE)
M.select("learning.question_keys", "true", ALL_DENY)
M.select("learning.questions", COURSE, STAFF_ONLY)
M.select("learning.question_options", "true", STAFF_ONLY)
M.select("learning.attempt_answers", "true", STAFF_ONLY)
M.select("learning.enrollments", LEARNER, LEARNER_DATA)
M.select("learning.lesson_progress", LEARNER, LEARNER_DATA)
M.select("learning.attempts", LEARNER, LEARNER_DATA)
M.select("learning.quiz_results", LEARNER, LEARNER_DATA)
M.select("learning.accommodations", LEARNER, LEARNER_DATA)
M.select("learning.certificates", LEARNER, LEARNER_DATA)
M.select("learning.certificate_events", "certificate_id = %(cert)s", LEARNER_DATA)
M.select("api.learning_courses", "id = %(course)s", CATALOG)
M.select("api.learning_course_modules", COURSE, CATALOG)
M.select("api.learning_course_lessons", COURSE, CATALOG)
M.select("api.learning_course_team", COURSE, CATALOG)
M.select("api.learning_course_prerequisites", COURSE, CATALOG)
M.select("api.learning_quizzes", COURSE, CATALOG)
M.select("api.learning_course_reviews", COURSE, CATALOG)
M.select("api.learning_my_enrollments", "true", MINE)
M.select("api.learning_my_lesson_progress", "true", MINE)
M.select("api.learning_my_quiz_attempts", "true", MINE)
M.select("api.learning_my_quiz_results", "true", MINE)
M.select("api.learning_my_certificates", "true", MINE)
M.select("api.learning_certificate_history", "certificate_id = %(cert)s", LEARNER_DATA)
M.select("api.learning_course_accommodations", LEARNER, LEARNER_DATA)
M.select("api.learning_course_roster", COURSE, STAFF_VIEW)
M.select("api.learning_course_attempts", COURSE, STAFF_VIEW)
M.select("api.learning_course_enrollment_stats", COURSE, STAFF_VIEW)
M.select("api.learning_course_lesson_funnel", COURSE, STAFF_VIEW)
M.select("api.learning_quiz_item_difficulty", COURSE, STAFF_VIEW)
M.select(
    "storage.objects",
    "bucket_id = 'course-content' and name = %(object)s",
    M.cells(
        anon="no",
        stranger="no",
        learner="yes",
        teacher="yes",
        other="no",
        admin="yes",
        service_role="yes",
    ),
    label="course-content",
)

M.write(
    "learning.courses",
    "insert",
    "insert into learning.courses (slug, title) values ('pwn-course', 'Pwned')",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.courses",
    "update",
    "update learning.courses set title = 'Pwned' where id = %(course)s",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.courses",
    "delete",
    "delete from learning.courses where id = %(course)s",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.course_team",
    "insert",
    "insert into learning.course_team values (%(course)s, %(learner)s, 'owner')",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.course_team",
    "update",
    "update learning.course_team set role = 'ta' where course_id = %(course)s",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.course_team",
    "delete",
    "delete from learning.course_team where course_id = %(course)s",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.modules",
    "insert",
    "insert into learning.modules (course_id, position, title) values (%(course)s, 99, 'x')",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.modules",
    "update",
    "update learning.modules set title = 'x' where course_id = %(course)s",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.modules",
    "delete",
    "delete from learning.modules where course_id = %(course)s",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.lessons",
    "update",
    "update learning.lessons set is_preview = true where course_id = %(course)s",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.lessons",
    "delete",
    "delete from learning.lessons where course_id = %(course)s",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.lesson_contents",
    "update",
    "update learning.lesson_contents set body_md = 'x' where lesson_id = %(lesson)s",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.quizzes",
    "update",
    "update learning.quizzes set passing_score = 0 where course_id = %(course)s",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.questions",
    "update",
    "update learning.questions set points = 0.01 where course_id = %(course)s",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.questions",
    "delete",
    "delete from learning.questions where course_id = %(course)s",
    SERVICE_ADMINISTERS,
)
M.write("learning.question_keys", "update", "update learning.question_keys set correct_bool = true")
M.write("learning.question_keys", "delete", "delete from learning.question_keys")
M.write(
    "learning.enrollments",
    "insert",
    "insert into learning.enrollments (user_id, course_id) values (%(stranger)s, %(course)s)",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.enrollments",
    "update",
    "update learning.enrollments set progress_pct = 100 where user_id = %(learner)s",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.enrollments",
    "delete",
    "delete from learning.enrollments where user_id = %(learner)s",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.lesson_progress",
    "update",
    "update learning.lesson_progress set completed_at = now() where user_id = %(learner)s",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.lesson_progress",
    "delete",
    "delete from learning.lesson_progress where user_id = %(learner)s",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.attempts",
    "update",
    "update learning.attempts set score = 100 where user_id = %(learner)s",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.attempts",
    "delete",
    "delete from learning.attempts where user_id = %(learner)s",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.attempt_answers",
    "update",
    "update learning.attempt_answers set points_awarded = 100",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.quiz_results",
    "update",
    "update learning.quiz_results set passed = true where user_id = %(learner)s",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.certificates",
    "insert",
    "insert into learning.certificates (code, user_id, course_id, course_title)"
    " values ('FLG-000000000000000000000000', %(stranger)s, %(course)s, 'x')",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.certificates",
    "update",
    "update learning.certificates set status = 'valid' where user_id = %(learner)s",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.certificates",
    "delete",
    "delete from learning.certificates where user_id = %(learner)s",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.reviews",
    "update",
    "update learning.reviews set rating = 5 where course_id = %(course)s",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.reviews",
    "delete",
    "delete from learning.reviews where course_id = %(course)s",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.accommodations",
    "insert",
    "insert into learning.accommodations (course_id, user_id, extra_time_pct)"
    " values (%(course)s, %(stranger)s, 400)",
    SERVICE_ADMINISTERS,
)
M.write(
    "learning.accommodations",
    "update",
    "update learning.accommodations set extra_time_pct = 400",
    SERVICE_ADMINISTERS,
)
M.write(
    "api.learning_courses",
    "update",
    "update api.learning_courses set title = 'x' where id = %(course)s",
)
M.write("api.learning_courses", "delete", "delete from api.learning_courses where id = %(course)s")
M.write(
    "api.learning_my_lesson_progress",
    "update",
    "update api.learning_my_lesson_progress set completed_at = null",
)
M.write(
    "api.learning_my_quiz_attempts",
    "update",
    "update api.learning_my_quiz_attempts set score = 100",
)

# Storage writes in the course's folder: owners/co-instructors and admins only.
M.write(
    "storage.objects",
    "insert",
    "insert into storage.objects (bucket_id, name, owner_id)"
    " values ('course-content', %(course)s || '/new.pdf', 'x')",
    M.cells(
        anon="deny",
        stranger="deny",
        learner="deny",
        teacher="yes",
        other="deny",
        admin="yes",
        service_role="yes",
    ),
)
M.write(
    "storage.objects",
    "update",
    "update storage.objects set metadata = '{}' where name = %(object)s",
    M.cells(
        anon="no",
        stranger="no",
        learner="no",
        teacher="yes",
        other="no",
        admin="yes",
        service_role="yes",
    ),
)
M.write(
    "storage.objects",
    "delete",
    "delete from storage.objects where name = %(object)s",
    M.cells(
        anon="no",
        stranger="no",
        learner="no",
        teacher="yes",
        other="no",
        admin="yes",
        service_role="yes",
    ),
)

NA = "not_authenticated"
NE = "learning_not_enrolled"
NF = "learning_attempt_not_found"
FB = "forbidden"
# Authenticated-only RPC: service_role has no grant ("deny").
AUTHOR = M.cells(
    anon="deny",
    stranger="forbidden",
    learner="forbidden",
    teacher="yes",
    other="forbidden",
    admin="yes",
    service_role="deny",
)
LEARN = M.cells(
    anon="deny",
    stranger="learning_not_enrolled",
    learner="yes",
    teacher="learning_not_enrolled",
    other="learning_not_enrolled",
    admin="learning_not_enrolled",
    service_role="deny",
)
M.execute("api.learning_list_courses", "select * from api.learning_list_courses()", ALL)
M.execute(
    "api.learning_get_course_outline", "select api.learning_get_course_outline(%(course)s)", ALL
)
M.execute(
    "api.learning_get_lesson",
    "select api.learning_get_lesson(%(lesson)s)",
    M.cells(
        anon="not_authenticated",
        stranger="learning_not_enrolled",
        learner="yes",
        teacher="yes",
        other="learning_not_enrolled",
        admin="yes",
        service_role="yes",
    ),
)
M.execute(
    "api.learning_verify_certificate", "select api.learning_verify_certificate(%(code)s)", ALL
)
M.execute(
    "api.learning_enroll",
    "select api.learning_enroll(%(other_course)s)",
    M.cells(
        anon="deny",
        stranger="yes",
        learner="yes",
        teacher="yes",
        other="yes",
        admin="yes",
        service_role="deny",
    ),
)
M.execute("api.learning_unenroll", "select api.learning_unenroll(%(course)s)", LEARN)
M.execute("api.learning_complete_lesson", "select api.learning_complete_lesson(%(lesson)s)", LEARN)
M.execute(
    "api.learning_save_video_position",
    "select api.learning_save_video_position(%(lesson)s, 5)",
    LEARN,
)
M.execute("api.learning_start_attempt", "select api.learning_start_attempt(%(quiz)s)", LEARN)
M.execute(
    "api.learning_get_attempt",
    "select api.learning_get_attempt(%(attempt)s)",
    M.cells(
        anon="deny",
        stranger="learning_attempt_not_found",
        learner="yes",
        teacher="learning_attempt_not_found",
        other="learning_attempt_not_found",
        admin="learning_attempt_not_found",
        service_role="deny",
    ),
)
M.execute(
    "api.learning_save_answers",
    "select api.learning_save_answers(%(attempt)s, '{}')",
    M.cells(
        anon="deny",
        stranger="learning_attempt_not_found",
        learner="learning_attempt_closed",
        teacher="learning_attempt_not_found",
        other="learning_attempt_not_found",
        admin="learning_attempt_not_found",
        service_role="deny",
    ),
)
M.execute(
    "api.learning_submit_attempt",
    "select api.learning_submit_attempt(%(attempt)s, '{}')",
    M.cells(
        anon="deny",
        stranger="learning_attempt_not_found",
        learner="learning_attempt_closed",
        teacher="learning_attempt_not_found",
        other="learning_attempt_not_found",
        admin="learning_attempt_not_found",
        service_role="deny",
    ),
)
M.execute(
    "api.learning_get_attempt_review",
    "select api.learning_get_attempt_review(%(attempt)s)",
    M.cells(
        anon="deny",
        stranger="learning_attempt_not_found",
        learner="yes",
        teacher="yes",
        other="learning_attempt_not_found",
        admin="yes",
        service_role="deny",
    ),
)
M.execute(
    "api.learning_revoke_certificate",
    "select api.learning_revoke_certificate(%(code)s, 'matrix test')",
    M.cells(
        anon="deny",
        stranger="forbidden",
        learner="forbidden",
        teacher="forbidden",
        other="forbidden",
        admin="yes",
        service_role="deny",
    ),
)
M.execute(
    "api.learning_reinstate_certificate",
    "select api.learning_reinstate_certificate(%(code)s, 'matrix test')",
    M.cells(
        anon="deny",
        stranger="forbidden",
        learner="forbidden",
        teacher="forbidden",
        other="forbidden",
        admin="learning_certificate_valid",
        service_role="deny",
    ),
)
M.execute(
    "api.learning_review_course",
    "select api.learning_review_course(%(course)s, 5, 'ok')",
    LEARN | {"teacher": "learning_review_own_course"},
)
M.execute(
    "api.learning_delete_my_review",
    "select api.learning_delete_my_review(%(course)s)",
    M.cells(
        anon="deny",
        stranger="learning_review_not_found",
        learner="yes",
        teacher="learning_review_not_found",
        other="learning_review_not_found",
        admin="learning_review_not_found",
        service_role="deny",
    ),
)
M.execute(
    "api.learning_reply_to_review",
    "select api.learning_reply_to_review(%(review)s, 'thanks')",
    M.cells(
        anon="deny",
        stranger="forbidden",
        learner="forbidden",
        teacher="yes",
        other="forbidden",
        admin="yes",
        service_role="deny",
    ),
)
M.execute(
    "api.learning_create_course",
    "select api.learning_create_course('matrix-course', 'Matrix course')",
    M.cells(
        anon="deny",
        stranger="forbidden",
        learner="forbidden",
        teacher="yes",
        other="yes",
        admin="yes",
        service_role="deny",
    ),
)
M.execute(
    "api.learning_update_course",
    'select api.learning_update_course(%(course)s, \'{"summary": "x"}\')',
    AUTHOR,
)
M.execute(
    "api.learning_set_course_team",
    "select api.learning_set_course_team(%(course)s, %(stranger)s, 'ta')",
    AUTHOR,
)
M.execute(
    "api.learning_create_module", "select api.learning_create_module(%(course)s, 'M')", AUTHOR
)
M.execute(
    "api.learning_update_module",
    'select api.learning_update_module(%(module2)s, \'{"title": "x"}\')',
    AUTHOR,
)
M.execute(
    "api.learning_create_lesson",
    "select api.learning_create_lesson(%(module2)s, 'L', 'article')",
    AUTHOR,
)
M.execute(
    "api.learning_update_lesson",
    'select api.learning_update_lesson(%(lesson)s, \'{"title": "x"}\')',
    AUTHOR,
)
M.execute(
    "api.learning_delete_lesson",
    "select api.learning_delete_lesson(%(lesson)s)",
    M.cells(
        anon="deny",
        stranger="forbidden",
        learner="forbidden",
        teacher="conflict",
        other="forbidden",
        admin="conflict",
        service_role="deny",
    ),
)
M.execute(
    "api.learning_reorder_modules",
    "select api.learning_reorder_modules(%(course)s, %(modules_reversed)s::uuid[])",
    AUTHOR,
)
M.execute(
    "api.learning_reorder_lessons",
    "select api.learning_reorder_lessons(%(module2)s, %(module2_lessons)s::uuid[])",
    AUTHOR,
)
M.execute(
    "api.learning_set_course_prerequisites",
    "select api.learning_set_course_prerequisites(%(course)s, '{}')",
    AUTHOR,
)
M.execute(
    "api.learning_set_module_prerequisites",
    "select api.learning_set_module_prerequisites(%(module2)s, '{}')",
    AUTHOR,
)
M.execute(
    "api.learning_configure_quiz",
    "select api.learning_configure_quiz(%(quiz)s, '{\"passing_score\": 60}')",
    AUTHOR,
)
M.execute(
    "api.learning_save_question",
    "select api.learning_save_question(%(quiz)s,"
    ' \'{"kind": "true_false", "prompt": "?", "answer": true}\')',
    AUTHOR,
)
M.execute(
    "api.learning_delete_question", "select api.learning_delete_question(%(question)s)", AUTHOR
)
M.execute(
    "api.learning_get_quiz_for_authoring",
    "select api.learning_get_quiz_for_authoring(%(quiz)s)",
    AUTHOR,
)
M.execute("api.learning_publish_course", "select api.learning_publish_course(%(course)s)", AUTHOR)
M.execute("api.learning_archive_course", "select api.learning_archive_course(%(course)s)", AUTHOR)
M.execute(
    "api.learning_set_accommodation",
    "select api.learning_set_accommodation(%(course)s, %(learner)s, 25)",
    AUTHOR,
)
M.execute("private.export_learning", "select private.export_learning(%(learner)s)", ALL_DENY)
M.execute("private.erase_learning", "select private.erase_learning(%(learner)s)", ALL_DENY)
M.execute(
    "private.learning_close_all_overdue",
    "select private.learning_close_all_overdue()",
    M.cells(
        anon="deny",
        stranger="deny",
        learner="deny",
        teacher="deny",
        other="deny",
        admin="deny",
        service_role="yes",
    ),
)
M.execute(
    "private.learning_grade_attempt",
    "select private.learning_grade_attempt(%(attempt)s, '{}', 'submitted', now())",
    ALL_DENY,
)
M.execute(
    "private.learning_refresh_progress",
    "select private.learning_refresh_progress(%(learner)s, %(course)s)",
    ALL_DENY,
)


@pytest.fixture(scope="module")
def world(module_db):
    """The scene, with the learner through the whole course and an object in the bucket.
    Built once for the module; every cell runs in a savepoint that is rolled back."""
    db = module_db
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


@M.parametrize("select")
def test_select(module_db, world, cell):
    users, params = world
    cell.check(module_db, users[cell.role], params)


@M.parametrize("write")
def test_write(module_db, world, cell):
    users, params = world
    cell.check(module_db, users[cell.role], params)


@M.parametrize("execute")
def test_execute(module_db, world, cell):
    users, params = world
    cell.check(module_db, users[cell.role], params)


def test_matrix_covers_every_learning_object(db):
    assert M.uncovered(db) == []
