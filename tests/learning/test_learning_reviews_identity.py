"""Findings on trust signals: the course team cannot review its own course, and a
certificate names its holder by username beside the display name they chose."""

from __future__ import annotations

from learning_helpers import rpc

from flagship.testing.harness import api_error, as_user


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
