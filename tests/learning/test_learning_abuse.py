"""Bad input and abuse: each fails with its documented code and SQLSTATE, and writes
nothing."""

from __future__ import annotations

import json
import uuid

from learning_helpers import correct_answers, rpc

from flagship.testing.harness import api_error, as_user, denied


def counts(db, user_id):
    """Everything a learner's calls may write, to check that refusals write nothing."""
    return db.execute(
        """
        select
          (select count(*) from learning.enrollments where user_id = %(u)s) as enrollments,
          (select count(*) from learning.lesson_progress where user_id = %(u)s) as progress,
          (select count(*) from learning.attempts where user_id = %(u)s) as attempts,
          (select count(*) from learning.attempt_answers aa join learning.attempts a
             on a.id = aa.attempt_id where a.user_id = %(u)s) as answers,
          (select count(*) from accounts.activity where actor_id = %(u)s) as activity,
          (select coalesce(sum(attempts_used), 0) from learning.quiz_results
             where user_id = %(u)s) as used,
          (select string_agg(saved_answers::text, ',') from learning.attempts
             where user_id = %(u)s) as saved
        """,
        {"u": user_id},
    ).fetchone()


def test_enrolling_twice(db, scene):
    before = counts(db, scene.learner.id)
    with api_error(db, "learning_already_enrolled", "PT409"):
        rpc(db, scene.learner, "learning_enroll", p_course_id=scene.course_id)
    assert counts(db, scene.learner.id) == before
    n = db.execute(
        "select enrollment_count from learning.courses where id = %s", (scene.course_id,)
    ).fetchone()
    assert n["enrollment_count"] == 1


def test_completing_a_lesson_without_enrollment(db, scene):
    before = counts(db, scene.stranger.id)
    with api_error(db, "learning_not_enrolled", "42501"):
        rpc(db, scene.stranger, "learning_complete_lesson", p_lesson_id=scene.lessons["intro"])
    assert counts(db, scene.stranger.id) == before
    with api_error(db, "learning_lesson_not_found", "PT404"):
        rpc(db, scene.learner, "learning_complete_lesson", p_lesson_id=str(uuid.uuid4()))
    with denied(db):  # anon has no execute grant (HTTP 401)
        rpc(db, "anon", "learning_complete_lesson", p_lesson_id=scene.lessons["intro"])


def test_quiz_lesson_completes_only_by_passing(db, scene):
    with api_error(db, "learning_quiz_not_passed", "PT409"):
        rpc(db, scene.learner, "learning_complete_lesson", p_lesson_id=scene.lessons["quiz"])


def test_submitting_after_the_time_limit_refuse_policy(db, scene):
    rpc(
        db,
        scene.teacher,
        "learning_configure_quiz",
        p_quiz_id=scene.quiz_id,
        p_settings={"time_limit_seconds": 60, "overdue_policy": "refuse"},
    )
    attempt = rpc(db, scene.learner, "learning_start_attempt", p_quiz_id=scene.quiz_id)
    db.execute(
        "update learning.attempts set started_at = now() - interval '2 minutes',"
        " deadline_at = now() - interval '1 minute' where id = %s",
        (attempt["id"],),
    )
    before = counts(db, scene.learner.id)
    with api_error(db, "learning_attempt_expired", "PT409"):
        rpc(
            db,
            scene.learner,
            "learning_submit_attempt",
            p_attempt_id=attempt["id"],
            p_answers=correct_answers(db, attempt),
        )
    with api_error(db, "learning_attempt_expired", "PT409"):
        rpc(db, scene.learner, "learning_save_answers", p_attempt_id=attempt["id"], p_answers={})
    assert counts(db, scene.learner.id) == before
    # The next start closes it as expired with 0 and it counts as an attempt.
    nxt = rpc(db, scene.learner, "learning_start_attempt", p_quiz_id=scene.quiz_id)
    assert nxt["attempt_no"] == 2
    old = db.execute(
        "select status::text, score from learning.attempts where id = %s", (attempt["id"],)
    ).fetchone()
    assert old["status"] == "expired" and old["score"] == 0


def test_submitting_after_the_time_limit_auto_submit_policy(db, scene):
    rpc(
        db,
        scene.teacher,
        "learning_configure_quiz",
        p_quiz_id=scene.quiz_id,
        p_settings={"time_limit_seconds": 60, "overdue_policy": "auto_submit"},
    )
    attempt = rpc(db, scene.learner, "learning_start_attempt", p_quiz_id=scene.quiz_id)
    right = correct_answers(db, attempt)
    first = attempt["questions"][0]["id"]
    rpc(
        db,
        scene.learner,
        "learning_save_answers",
        p_attempt_id=attempt["id"],
        p_answers={first: right[first]},
    )
    db.execute(
        "update learning.attempts set deadline_at = now() - interval '1 second' where id = %s",
        (attempt["id"],),
    )
    # Late answers are ignored: only what was saved in time is graded.
    out = rpc(
        db, scene.learner, "learning_submit_attempt", p_attempt_id=attempt["id"], p_answers=right
    )
    assert out["status"] == "auto_submitted" and out["late"] is True
    assert 0 < out["score"] < 100


def test_extra_time_accommodation_extends_the_deadline(db, scene):
    rpc(
        db,
        scene.teacher,
        "learning_configure_quiz",
        p_quiz_id=scene.quiz_id,
        p_settings={"time_limit_seconds": 600},
    )
    rpc(
        db,
        scene.teacher,
        "learning_set_accommodation",
        p_course_id=scene.course_id,
        p_user_id=scene.learner.id,
        p_extra_time_pct=50,
    )
    attempt = rpc(db, scene.learner, "learning_start_attempt", p_quiz_id=scene.quiz_id)
    row = db.execute(
        "select extract(epoch from deadline_at - started_at) as s from learning.attempts"
        " where id = %s",
        (attempt["id"],),
    ).fetchone()
    assert float(row["s"]) == 900


def test_beyond_the_attempt_limit_and_waits(db, scene):
    rpc(
        db,
        scene.teacher,
        "learning_configure_quiz",
        p_quiz_id=scene.quiz_id,
        p_settings={"max_attempts": 2, "wait_seconds": 3600},
    )
    a1 = rpc(db, scene.learner, "learning_start_attempt", p_quiz_id=scene.quiz_id)
    rpc(db, scene.learner, "learning_submit_attempt", p_attempt_id=a1["id"], p_answers={})
    with api_error(db, "learning_attempt_wait", "PT429"):
        rpc(db, scene.learner, "learning_start_attempt", p_quiz_id=scene.quiz_id)
    db.execute(
        "update learning.quiz_results set last_submitted_at = now() - interval '2 hours'"
        " where user_id = %s",
        (scene.learner.id,),
    )
    a2 = rpc(db, scene.learner, "learning_start_attempt", p_quiz_id=scene.quiz_id)
    rpc(db, scene.learner, "learning_submit_attempt", p_attempt_id=a2["id"], p_answers={})
    db.execute(
        "update learning.quiz_results set last_submitted_at = now() - interval '2 hours'"
        " where user_id = %s",
        (scene.learner.id,),
    )
    before = counts(db, scene.learner.id)
    with api_error(db, "learning_attempt_limit_reached", "PT409"):
        rpc(db, scene.learner, "learning_start_attempt", p_quiz_id=scene.quiz_id)
    assert counts(db, scene.learner.id) == before
    # Resubmitting a closed attempt is refused too.
    with api_error(db, "learning_attempt_closed", "PT409"):
        rpc(db, scene.learner, "learning_submit_attempt", p_attempt_id=a2["id"], p_answers={})


def test_option_ids_from_another_question(db, scene):
    attempt = rpc(db, scene.learner, "learning_start_attempt", p_quiz_id=scene.quiz_id)
    by_kind = {q["kind"]: q for q in attempt["questions"]}
    single, multi = by_kind["single_choice"], by_kind["multiple_choice"]
    foreign = multi["options"][0]["id"]
    before = counts(db, scene.learner.id)
    with api_error(db, "learning_option_mismatch", "22023"):
        rpc(
            db,
            scene.learner,
            "learning_submit_attempt",
            p_attempt_id=attempt["id"],
            p_answers={single["id"]: foreign},
        )
    with api_error(db, "learning_option_mismatch", "22023"):
        rpc(
            db,
            scene.learner,
            "learning_save_answers",
            p_attempt_id=attempt["id"],
            p_answers={multi["id"]: [single["options"][0]["id"]]},
        )
    assert counts(db, scene.learner.id) == before


def test_malformed_answers(db, scene):
    attempt = rpc(db, scene.learner, "learning_start_attempt", p_quiz_id=scene.quiz_id)
    by_kind = {q["kind"]: q for q in attempt["questions"]}
    cases = [
        {str(uuid.uuid4()): "x"},  # a question that is not part of the attempt
        {"not-a-uuid": 1},
        {by_kind["true_false"]["id"]: "yes"},
        {by_kind["numeric"]["id"]: "443"},
        {by_kind["ordering"]["id"]: [by_kind["ordering"]["options"][0]["id"]]},
        {by_kind["multiple_choice"]["id"]: [by_kind["multiple_choice"]["options"][0]["id"]] * 2},
        {by_kind["short_text"]["id"]: "x" * 1001},
    ]
    before = counts(db, scene.learner.id)
    for answers in cases:
        with api_error(db, "learning_answer_invalid", "22023"):
            rpc(
                db,
                scene.learner,
                "learning_submit_attempt",
                p_attempt_id=attempt["id"],
                p_answers=answers,
            )
    with api_error(db, "learning_answer_invalid", "22023"):
        rpc(
            db,
            scene.learner,
            "learning_submit_attempt",
            p_attempt_id=attempt["id"],
            p_answers=[1, 2],
        )
    huge = {by_kind["short_text"]["id"]: "x" * 70000}
    with api_error(db, "learning_payload_too_large", "PT413"):
        rpc(db, scene.learner, "learning_save_answers", p_attempt_id=attempt["id"], p_answers=huge)
    assert counts(db, scene.learner.id) == before


def test_reading_and_tampering_with_another_learners_attempt(db, scene):
    attempt = rpc(db, scene.learner, "learning_start_attempt", p_quiz_id=scene.quiz_id)
    rpc(db, scene.stranger, "learning_enroll", p_course_id=scene.course_id)
    for fn, extra in [
        ("learning_get_attempt", {}),
        ("learning_save_answers", {"p_answers": {}}),
        ("learning_submit_attempt", {"p_answers": {}}),
    ]:
        with api_error(db, "learning_attempt_not_found", "PT404"):
            rpc(db, scene.stranger, fn, p_attempt_id=attempt["id"], **extra)
    rpc(db, scene.learner, "learning_submit_attempt", p_attempt_id=attempt["id"], p_answers={})
    with api_error(db, "learning_attempt_not_found", "PT404"):
        rpc(db, scene.stranger, "learning_get_attempt_review", p_attempt_id=attempt["id"])
    with as_user(db, scene.stranger):
        for view in (
            "learning.attempts",
            "api.learning_my_quiz_attempts",
            "api.learning_course_attempts",
        ):
            n = db.execute(
                f"select count(*) as n from {view} where id = %s", (attempt["id"],)
            ).fetchone()
            assert n["n"] == 0, view
        n = db.execute("select count(*) as n from learning.quiz_results").fetchone()
        assert n["n"] == 0
        with denied(db):
            db.execute("update learning.attempts set score = 100")
    # The course's teacher sees it; the other course's teacher does not.
    with as_user(db, scene.teacher):
        assert (
            db.execute("select count(*) as n from api.learning_course_attempts").fetchone()["n"]
            == 1
        )
    with as_user(db, scene.other_teacher):
        assert (
            db.execute("select count(*) as n from api.learning_course_attempts").fetchone()["n"]
            == 0
        )
    with api_error(db, "learning_attempt_not_found", "PT404"):
        rpc(db, scene.other_teacher, "learning_get_attempt_review", p_attempt_id=attempt["id"])


def test_publishing_an_empty_or_incomplete_course(db, scene):
    empty = rpc(db, scene.teacher, "learning_create_course", p_slug="empty-course", p_title="Empty")
    with api_error(db, "learning_course_empty", "PT409"):
        rpc(db, scene.teacher, "learning_publish_course", p_course_id=empty["id"])
    m = rpc(db, scene.teacher, "learning_create_module", p_course_id=empty["id"], p_title="M")
    rpc(db, scene.teacher, "learning_create_lesson", p_module_id=m, p_title="Quiz", p_kind="quiz")
    with api_error(db, "learning_quiz_incomplete", "PT409"):
        rpc(db, scene.teacher, "learning_publish_course", p_course_id=empty["id"])
    status = db.execute(
        "select status::text from learning.courses where id = %s", (empty["id"],)
    ).fetchone()
    assert status["status"] == "draft"


def test_question_keys_are_validated(db, scene):
    bad = [
        (
            {"kind": "single_choice", "prompt": "?", "options": [{"label": "a"}, {"label": "b"}]},
            "learning_quiz_incomplete",
        ),
        (
            {
                "kind": "single_choice",
                "prompt": "?",
                "options": [{"label": "a", "correct": True}, {"label": "b", "correct": True}],
            },
            "learning_quiz_incomplete",
        ),
        ({"kind": "true_false", "prompt": "?"}, "invalid_argument"),
        ({"kind": "numeric", "prompt": "?", "answer": "1"}, "invalid_argument"),
        ({"kind": "short_text", "prompt": "?", "accepted_answers": []}, "invalid_argument"),
        ({"kind": "essay", "prompt": "?"}, "invalid_argument"),
        (
            {"kind": "ordering", "prompt": "?", "options": [{"label": "only one"}]},
            "invalid_argument",
        ),
    ]
    n = db.execute("select count(*) as n from learning.questions").fetchone()["n"]
    for question, code in bad:
        with api_error(db, code):
            rpc(
                db,
                scene.teacher,
                "learning_save_question",
                p_quiz_id=scene.quiz_id,
                p_question=question,
            )
    assert db.execute("select count(*) as n from learning.questions").fetchone()["n"] == n


def test_authoring_needs_the_right_role(db, scene):
    with api_error(db, "forbidden", "42501"):
        rpc(db, scene.learner, "learning_create_course", p_slug="nope", p_title="Nope")
    with api_error(db, "forbidden", "42501"):
        rpc(
            db,
            scene.other_teacher,
            "learning_update_course",
            p_course_id=scene.course_id,
            p_changes={"title": "Hijacked"},
        )
    with api_error(db, "forbidden", "42501"):
        rpc(db, scene.learner, "learning_publish_course", p_course_id=scene.course_id)
    with api_error(db, "learning_slug_taken", "PT409"):
        rpc(
            db,
            scene.other_teacher,
            "learning_create_course",
            p_slug="web-security-101",
            p_title="Dup",
        )
    with api_error(db, "invalid_argument", "22023"):
        rpc(
            db,
            scene.teacher,
            "learning_update_course",
            p_course_id=scene.course_id,
            p_changes={"status": "published"},
        )
    with api_error(db, "invalid_argument", "22023"):
        rpc(
            db,
            scene.teacher,
            "learning_reorder_modules",
            p_course_id=scene.course_id,
            p_module_ids=[scene.modules[0]],
        )
    with api_error(db, "invalid_argument", "22023"):
        rpc(
            db,
            scene.teacher,
            "learning_update_lesson",
            p_lesson_id=scene.lessons["intro"],
            p_changes={"attachments": [f"{scene.other_course_id}/x.pdf"]},
        )
    with api_error(db, "invalid_argument", "22023"):
        rpc(
            db,
            scene.teacher,
            "learning_update_lesson",
            p_lesson_id=scene.lessons["intro"],
            p_changes={"duration_seconds": -5},
        )
    with api_error(db, "invalid_argument", "22023"):
        rpc(
            db,
            scene.teacher,
            "learning_configure_quiz",
            p_quiz_id=scene.quiz_id,
            p_settings={"max_attempts": -1},
        )
    with api_error(db, "invalid_argument", "22023"):
        rpc(
            db,
            scene.teacher,
            "learning_set_course_prerequisites",
            p_course_id=scene.course_id,
            p_required=[scene.course_id],
        )
    title = db.execute(
        "select title from learning.courses where id = %s", (scene.course_id,)
    ).fetchone()["title"]
    assert title == "Web Security 101"


def test_reorder_and_prerequisite_cycles(db, scene):
    rpc(
        db,
        scene.teacher,
        "learning_reorder_modules",
        p_course_id=scene.course_id,
        p_module_ids=list(reversed(scene.modules)),
    )
    rows = db.execute(
        "select id::text from learning.modules where course_id = %s order by position",
        (scene.course_id,),
    ).fetchall()
    assert [r["id"] for r in rows] == list(reversed(scene.modules))
    rpc(
        db,
        scene.other_teacher,
        "learning_set_course_prerequisites",
        p_course_id=scene.other_course_id,
        p_required=[scene.course_id],
    )
    with api_error(db, "forbidden"):
        rpc(
            db,
            scene.teacher,
            "learning_set_course_prerequisites",
            p_course_id=scene.other_course_id,
            p_required=[],
        )
    with api_error(db, "invalid_argument"):
        rpc(
            db,
            scene.teacher,
            "learning_set_course_prerequisites",
            p_course_id=scene.course_id,
            p_required=[scene.other_course_id],
        )


def test_pro_courses_need_the_entitlement(db, scene):
    rpc(
        db,
        scene.other_teacher,
        "learning_update_course",
        p_course_id=scene.other_course_id,
        p_changes={"price_tier": "pro"},
    )
    with api_error(db, "learning_entitlement_required", "PT402"):
        rpc(db, scene.learner, "learning_enroll", p_course_id=scene.other_course_id)
    assert (
        db.execute(
            "select count(*) as n from learning.enrollments where course_id = %s",
            (scene.other_course_id,),
        ).fetchone()["n"]
        == 0
    )


def test_prerequisites_are_enforced(db, scene):
    rpc(
        db,
        scene.other_teacher,
        "learning_set_course_prerequisites",
        p_course_id=scene.other_course_id,
        p_required=[scene.course_id],
    )
    with api_error(db, "learning_prerequisites_unmet", "PT409"):
        rpc(db, scene.learner, "learning_enroll", p_course_id=scene.other_course_id)
    # Complete the first course, then enrolling works.
    for key in ("intro", "headers"):
        rpc(db, scene.learner, "learning_complete_lesson", p_lesson_id=scene.lessons[key])
    attempt = rpc(db, scene.learner, "learning_start_attempt", p_quiz_id=scene.quiz_id)
    rpc(
        db,
        scene.learner,
        "learning_submit_attempt",
        p_attempt_id=attempt["id"],
        p_answers=correct_answers(db, attempt),
    )
    out = rpc(db, scene.learner, "learning_enroll", p_course_id=scene.other_course_id)
    assert out["status"] == "active"


def test_drafts_and_archived_courses(db, scene):
    draft = rpc(db, scene.teacher, "learning_create_course", p_slug="draft-course", p_title="Draft")
    with api_error(db, "learning_course_not_found", "PT404"):
        rpc(db, scene.learner, "learning_enroll", p_course_id=draft["id"])
    with api_error(db, "learning_course_not_found", "PT404"):
        rpc(db, "anon", "learning_get_course_outline", p_course_id=draft["id"])
    rpc(db, scene.teacher, "learning_archive_course", p_course_id=scene.course_id)
    with api_error(db, "learning_course_closed", "PT409"):
        rpc(db, scene.stranger, "learning_enroll", p_course_id=scene.course_id)
    # Enrolled learners keep access to an archived course.
    outline = rpc(db, scene.learner, "learning_get_course_outline", p_course_id=scene.course_id)
    assert outline["status"] == "archived"


def test_locks_sequential_and_unlock_dates(db, scene):
    rpc(
        db,
        scene.teacher,
        "learning_update_course",
        p_course_id=scene.course_id,
        p_changes={"sequential": True},
    )
    with api_error(db, "learning_lesson_locked", "PT423"):
        rpc(db, scene.learner, "learning_complete_lesson", p_lesson_id=scene.lessons["headers"])
    rpc(db, scene.learner, "learning_complete_lesson", p_lesson_id=scene.lessons["intro"])
    rpc(db, scene.learner, "learning_complete_lesson", p_lesson_id=scene.lessons["headers"])
    rpc(
        db,
        scene.teacher,
        "learning_update_course",
        p_course_id=scene.course_id,
        p_changes={"sequential": False},
    )
    rpc(
        db,
        scene.teacher,
        "learning_update_module",
        p_module_id=scene.modules[1],
        p_changes={"unlock_at": "2999-01-01T00:00:00Z"},
    )
    with api_error(db, "learning_lesson_locked", "PT423"):
        rpc(db, scene.learner, "learning_complete_lesson", p_lesson_id=scene.lessons["lab"])
    with api_error(db, "learning_lesson_locked", "PT423"):
        rpc(db, scene.learner, "learning_start_attempt", p_quiz_id=scene.quiz_id)
    with api_error(db, "learning_lesson_locked", "PT423"):
        rpc(db, scene.learner, "learning_get_lesson", p_lesson_id=scene.lessons["lab"])
    rpc(
        db,
        scene.teacher,
        "learning_update_module",
        p_module_id=scene.modules[1],
        p_changes={"unlock_at": None},
    )
    # Module prerequisites: module 2 needs module 1 done (it is).
    rpc(
        db,
        scene.teacher,
        "learning_set_module_prerequisites",
        p_module_id=scene.modules[1],
        p_required=[scene.modules[0]],
    )
    rpc(db, scene.learner, "learning_complete_lesson", p_lesson_id=scene.lessons["lab"])
    rpc(db, scene.stranger, "learning_enroll", p_course_id=scene.course_id)
    with api_error(db, "learning_lesson_locked", "PT423"):
        rpc(db, scene.stranger, "learning_complete_lesson", p_lesson_id=scene.lessons["lab"])


def test_video_positions_and_bad_values(db, scene):
    rpc(
        db,
        scene.learner,
        "learning_save_video_position",
        p_lesson_id=scene.lessons["headers"],
        p_position_seconds=120,
    )
    with api_error(db, "invalid_argument", "22023"):
        rpc(
            db,
            scene.learner,
            "learning_save_video_position",
            p_lesson_id=scene.lessons["headers"],
            p_position_seconds=-1,
        )
    with api_error(db, "invalid_argument", "22023"):
        rpc(
            db,
            scene.learner,
            "learning_save_video_position",
            p_lesson_id=scene.lessons["headers"],
            p_position_seconds=601,
        )
    lesson = rpc(db, scene.learner, "learning_get_lesson", p_lesson_id=scene.lessons["headers"])
    assert lesson["position_seconds"] == 120 and lesson["completed_at"] is None


def test_catalog_arguments(db, scene):
    with as_user(db, "anon"):
        for args in (
            "p_limit => 0",
            "p_sort => 'cheapest'",
            "p_level => 'guru'",
            "p_tier => 'gold'",
            "p_cursor => 'garbage'",
            f"p_query => '{'x' * 300}'",
        ):
            with api_error(db, None, "22023"):
                db.execute(f"select * from api.learning_list_courses({args})")


def test_reviews(db, scene):
    with api_error(db, "learning_not_enrolled", "42501"):
        rpc(db, scene.stranger, "learning_review_course", p_course_id=scene.course_id, p_rating=1)
    with api_error(db, "invalid_argument", "22023"):
        rpc(db, scene.learner, "learning_review_course", p_course_id=scene.course_id, p_rating=6)
    r = rpc(
        db,
        scene.learner,
        "learning_review_course",
        p_course_id=scene.course_id,
        p_rating=4,
        p_body="Good",
    )
    rpc(
        db,
        scene.learner,
        "learning_review_course",
        p_course_id=scene.course_id,
        p_rating=2,
        p_body="Edited",
    )
    course = db.execute(
        "select rating_count, rating_avg from learning.courses where id = %s", (scene.course_id,)
    ).fetchone()
    assert course["rating_count"] == 1 and course["rating_avg"] == 2
    with api_error(db, "forbidden", "42501"):
        rpc(db, scene.other_teacher, "learning_reply_to_review", p_review_id=r["id"], p_body="hi")
    rpc(db, scene.teacher, "learning_reply_to_review", p_review_id=r["id"], p_body="Thanks")
    with as_user(db, "anon"):
        row = db.execute("select * from api.learning_course_reviews").fetchone()
    assert row["reply_body"] == "Thanks" and row["body"] == "Edited"
    rows = json.loads(json.dumps([1]))
    assert rows == [1]
