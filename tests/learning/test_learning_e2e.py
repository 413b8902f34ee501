"""End to end: a learner enrolls, completes lessons, passes the quiz, gets a certificate,
and an anonymous visitor verifies it."""

from __future__ import annotations

from learning_helpers import call, correct_answers, rpc

from flagship.testing.harness import as_user


def test_learner_journey(db, scene):
    s = scene
    # The catalog shows the course to anyone, with a public cache header for anon.
    with as_user(db, "anon"):
        rows = db.execute(
            "select * from api.learning_list_courses(p_query => 'web security')"
        ).fetchall()
        headers = db.execute("select current_setting('response.headers', true) as h").fetchone()
    assert [str(r["id"]) for r in rows] == [s.course_id]
    assert "public, max-age=60" in headers["h"]

    # Complete the non-quiz lessons; each earns XP once.
    for key in ("intro", "headers", "lab"):
        out = rpc(db, s.learner, "learning_complete_lesson", p_lesson_id=s.lessons[key])
        assert out["newly_completed"] is True
    again = rpc(db, s.learner, "learning_complete_lesson", p_lesson_id=s.lessons["intro"])
    assert again["newly_completed"] is False
    assert again["progress_pct"] == 75  # 3 of 4 lessons
    assert again["course_completed"] is False
    xp = db.execute(
        "select coalesce(sum(xp), 0) as xp from accounts.activity"
        " where actor_id = %s and verb = 'lesson.completed'",
        (s.learner.id,),
    ).fetchone()["xp"]
    assert xp == 30

    # Take the quiz: the attempt carries no keys, grading is server-side.
    attempt = rpc(db, s.learner, "learning_start_attempt", p_quiz_id=s.quiz_id)
    assert len(attempt["questions"]) == 6
    assert "correct" not in str(attempt).lower()
    result = rpc(
        db,
        s.learner,
        "learning_submit_attempt",
        p_attempt_id=attempt["id"],
        p_answers=correct_answers(db, attempt),
    )
    assert result["score"] == 100 and result["passed"] is True
    assert result["quiz_passed"] is True

    # The course is complete and the certificate issued (once), with an outbox job.
    enr = call(
        db,
        s.learner,
        "select * from api.learning_my_enrollments where course_id = %s",
        (s.course_id,),
    )
    assert enr["status"] == "completed" and enr["progress_pct"] == 100
    cert = call(db, s.learner, "select * from api.learning_my_certificates")
    assert cert["status"] == "valid" and cert["holder_name"] == "Lea Learner"
    job = db.execute(
        "select payload from ops.outbox where topic = 'certificate.issued' and dedupe_key = %s",
        (str(cert["id"]),),
    ).fetchone()
    assert job["payload"]["code"] == cert["code"]
    assert (
        db.execute(
            "select count(*) as n from accounts.activity"
            " where actor_id = %s and verb = 'course.completed'",
            (s.learner.id,),
        ).fetchone()["n"]
        == 1
    )

    # Anyone verifies it.
    verified = rpc(db, "anon", "learning_verify_certificate", p_code=cert["code"].lower())
    assert verified["status"] == "valid"
    assert verified["holder_name"] == "Lea Learner"
    assert verified["course_title"] == "Web Security 101"

    # An admin revokes it with a reason (audited); verification shows the new status.
    rpc(
        db,
        s.admin,
        "learning_revoke_certificate",
        p_code=cert["code"],
        p_reason="academic misconduct",
    )
    assert (
        rpc(db, "anon", "learning_verify_certificate", p_code=cert["code"])["status"] == "revoked"
    )
    audit = db.execute(
        "select reason from ops.audit_log where action = 'learning.certificate_revoked'"
    ).fetchone()
    assert audit["reason"] == "academic misconduct"
    history = call(
        db,
        s.learner,
        "select array_agg(status::text order by id) as h from api.learning_certificate_history",
    )
    assert history["h"] == ["valid", "revoked"]
