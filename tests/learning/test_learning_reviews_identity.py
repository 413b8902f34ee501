"""Findings on trust signals: the course team cannot review its own course, and a
certificate names its holder by username beside the display name they chose."""

from __future__ import annotations

from learning_helpers import correct_answers

from flagship.testing.harness import api_error, as_user, rpc


def test_course_team_cannot_review_their_own_course(db, scene):
    rpc(db, scene.teacher, "learning_enroll", p_course_id=scene.course_id)  # team may enroll
    with as_user(db, scene.teacher), api_error(db, "learning_review_own_course", "PT403"):
        db.execute(
            "select api.learning_review_course(%s, 5, 'best course ever')", (scene.course_id,)
        )
    reviews = db.execute(
        "select count(*) as n from learning.reviews where course_id = %s", (scene.course_id,)
    ).fetchone()
    assert reviews["n"] == 0


def test_teaching_assistant_cannot_review_either(db, scene):
    rpc(
        db,
        scene.teacher,
        "learning_set_course_team",
        p_course_id=scene.course_id,
        p_user_id=scene.learner.id,
        p_role="ta",
    )
    with as_user(db, scene.learner), api_error(db, "learning_review_own_course", "PT403"):
        db.execute("select api.learning_review_course(%s, 5, 'great')", (scene.course_id,))


def test_learners_still_review(db, scene):
    review = rpc(
        db, scene.learner, "learning_review_course", p_course_id=scene.course_id, p_rating=4
    )
    assert review["rating"] == 4


def test_own_course_refusal_is_catalogued_as_403(db):
    row = db.execute(
        "select sqlstate, http_status from ops.error_codes where code = %s",
        ("learning_review_own_course",),
    ).fetchone()
    assert (row["sqlstate"], row["http_status"]) == ("PT403", 403)


def complete_course(db, scene):
    for key in ("intro", "headers", "lab"):
        rpc(db, scene.learner, "learning_complete_lesson", p_lesson_id=scene.lessons[key])
    attempt = rpc(db, scene.learner, "learning_start_attempt", p_quiz_id=scene.quiz_id)
    rpc(
        db,
        scene.learner,
        "learning_submit_attempt",
        p_attempt_id=attempt["id"],
        p_answers=correct_answers(db, attempt),
    )
    return db.execute(
        "select code from learning.certificates where user_id = %s", (scene.learner.id,)
    ).fetchone()["code"]


def test_certificate_shows_the_username_beside_the_display_name(db, scene):
    code = complete_course(db, scene)
    verified = rpc(db, "anon", "learning_verify_certificate", p_code=code)
    assert verified["holder_name"] == "Lea Learner"
    assert verified["holder_username"] == "learner_one"
    with as_user(db, scene.learner):
        mine = db.execute(
            "select holder_name, holder_username from api.learning_my_certificates"
        ).fetchone()
    assert (mine["holder_name"], mine["holder_username"]) == ("Lea Learner", "learner_one")
    event = db.execute(
        "select payload from ops.outbox where topic = 'certificate.issued'"
        " and payload ->> 'code' = %s",
        (code,),
    ).fetchone()
    assert event["payload"]["holder_username"] == "learner_one"


def test_erased_holder_loses_the_username_on_the_certificate(db, scene):
    code = complete_course(db, scene)
    db.execute("select private.erase_learning(%s)", (scene.learner.id,))
    verified = rpc(db, "anon", "learning_verify_certificate", p_code=code)
    assert verified["holder_name"] is None and verified["holder_username"] is None
