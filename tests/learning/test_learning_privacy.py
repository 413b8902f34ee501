"""Learning data in the account export and in account deletion; content storage."""

from __future__ import annotations

from learning_helpers import correct_answers, rpc


def finish_course(db, s):
    for key in ("intro", "headers", "lab"):
        rpc(db, s.learner, "learning_complete_lesson", p_lesson_id=s.lessons[key])
    a = rpc(db, s.learner, "learning_start_attempt", p_quiz_id=s.quiz_id)
    rpc(
        db,
        s.learner,
        "learning_submit_attempt",
        p_attempt_id=a["id"],
        p_answers=correct_answers(db, a),
    )
    rpc(
        db, s.learner, "learning_review_course", p_course_id=s.course_id, p_rating=5, p_body="great"
    )


def test_export_includes_learning_without_keys(db, scene):
    finish_course(db, scene)
    export = rpc(db, scene.learner, "accounts_export_my_data")
    learning = export["learning"]
    assert len(learning["enrollments"]) == 1 and len(learning["certificates"]) == 1
    assert len(learning["quiz_attempts"]) == 1 and learning["reviews"][0]["body"] == "great"
    assert "correct_option_ids" not in str(export)


def test_deletion_erases_and_anonymises(db, scene):
    finish_course(db, scene)
    code = db.execute(
        "select code from learning.certificates where user_id = %s", (scene.learner.id,)
    ).fetchone()["code"]
    rpc(db, scene.learner, "accounts_delete_my_account", p_confirm="learner_one")
    left = db.execute(
        "select (select count(*) from learning.enrollments) as e,"
        " (select count(*) from learning.attempts) as a,"
        " (select count(*) from learning.lesson_progress) as p,"
        " (select count(*) from learning.reviews where user_id is null) as anon_reviews,"
        " (select enrollment_count from learning.courses where id = %s) as n",
        (scene.course_id,),
    ).fetchone()
    assert left == {"e": 0, "a": 0, "p": 0, "anon_reviews": 1, "n": 0}
    verified = rpc(db, "anon", "learning_verify_certificate", p_code=code)
    assert verified["status"] == "revoked" and verified["holder_name"] is None


def test_outline_hides_bodies_unless_enrolled(db, scene):
    anon = rpc(db, "anon", "learning_get_course_outline", p_slug="web-security-101")
    lessons = {x["title"]: x for m in anon["modules"] for x in m["lessons"]}
    assert lessons["Intro"]["body_md"] == "# Welcome (preview)"
    assert "body_md" not in lessons["Headers"]
    assert "SECRET-BODY" not in str(
        rpc(db, scene.stranger, "learning_get_course_outline", p_course_id=scene.course_id)
    )
    enrolled = rpc(db, scene.learner, "learning_get_course_outline", p_course_id=scene.course_id)
    lessons = {x["title"]: x for m in enrolled["modules"] for x in m["lessons"]}
    assert lessons["Headers"]["body_md"] == "SECRET-BODY headers"
    assert lessons["Headers"]["attachments"] == [f"{scene.course_id}/headers/slides.pdf"]
    assert rpc(db, "anon", "learning_get_lesson", p_lesson_id=scene.lessons["intro"])["is_preview"]
