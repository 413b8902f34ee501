"""Assessments: answer keys never reach learners; grading, partial credit, grading methods,
random draws and shuffles, reveal policies."""

from __future__ import annotations

import json

import pytest
from learning_helpers import call, correct_answers, rpc

from flagship.testing.harness import api_error, as_user, denied

KEY_MARKERS = ("correct", "accepted", "numeric_answer", "explanation", "tolerance")


def test_keys_have_no_client_grants_and_no_realtime(db):
    for role in ("anon", "authenticated", "service_role"):
        row = db.execute(
            "select has_table_privilege(%s, 'learning.question_keys', 'select') as s,"
            " has_any_column_privilege(%s, 'learning.question_keys', 'select') as c",
            (role, role),
        ).fetchone()
        assert row == {"s": False, "c": False}, role
    published = db.execute(
        "select count(*) as n from pg_publication_tables where pubname = 'supabase_realtime'"
        " and schemaname = 'learning'"
    ).fetchone()
    assert published["n"] == 0
    # No api view exposes a key column.
    cols = db.execute(
        "select table_name, column_name from information_schema.columns"
        " where table_schema = 'api'"
        " and column_name ~ '(correct|accepted|numeric_answer|answer_key|^key$)'"
        # views over learning tables (other domains' 'correct' columns are not answer keys)
        " and table_name in (select view_name from information_schema.view_table_usage"
        "                    where view_schema = 'api' and table_schema = 'learning')"
        " and column_name <> 'correct_rate'"  # staff analytics: a share, not a key
    ).fetchall()
    assert cols == []
    # No policy on realtime.messages lets clients read learning topics.
    n = db.execute(
        "select count(*) as n from pg_policies where schemaname = 'realtime'"
        " and coalesce(qual, '') ~ 'learning'"
    ).fetchone()["n"]
    assert n == 0


def test_learners_never_see_keys(db, scene):
    s = scene
    with as_user(db, s.learner):
        with denied(db):
            db.execute("select * from learning.question_keys")
        assert db.execute("select count(*) as n from learning.questions").fetchone()["n"] == 0
        assert (
            db.execute("select count(*) as n from learning.question_options").fetchone()["n"] == 0
        )
        with denied(db):
            db.execute("select * from learning.lesson_contents")
    with api_error(db, "forbidden", "42501"):
        rpc(db, s.learner, "learning_get_quiz_for_authoring", p_quiz_id=s.quiz_id)
    outline = rpc(db, s.learner, "learning_get_course_outline", p_course_id=s.course_id)
    attempt = rpc(db, s.learner, "learning_start_attempt", p_quiz_id=s.quiz_id)
    for payload in (
        outline,
        attempt,
        rpc(db, s.learner, "learning_get_attempt", p_attempt_id=attempt["id"]),
    ):
        text = json.dumps(payload).lower()
        assert not any(m in text for m in KEY_MARKERS), text[:300]
    # A submitted, failed attempt under "after_passing" reveals nothing per question.
    rpc(db, s.learner, "learning_submit_attempt", p_attempt_id=attempt["id"], p_answers={})
    review = rpc(db, s.learner, "learning_get_attempt_review", p_attempt_id=attempt["id"])
    assert review["revealed"] is False
    assert not any(m in json.dumps(review).lower() for m in KEY_MARKERS)
    # The teacher sees the keys.
    authoring = rpc(db, s.teacher, "learning_get_quiz_for_authoring", p_quiz_id=s.quiz_id)
    assert all(q["key"] is not None for q in authoring["questions"])


def test_partial_credit_and_each_question_type(db, scene):
    s = scene
    rpc(
        db,
        s.teacher,
        "learning_configure_quiz",
        p_quiz_id=s.quiz_id,
        p_settings={"max_attempts": None},
    )
    attempt = rpc(db, s.learner, "learning_start_attempt", p_quiz_id=s.quiz_id)
    right = correct_answers(db, attempt)
    by_kind = {q["kind"]: q for q in attempt["questions"]}
    multi, order = by_kind["multiple_choice"], by_kind["ordering"]
    wrong_multi = next(o["id"] for o in multi["options"] if o["id"] not in right[multi["id"]])
    answers = dict(right)
    # one right + one wrong of two right options: (1 - 1) / 2 = 0; one right only: 1/2
    answers[multi["id"]] = [right[multi["id"]][0]]
    # swap the last two of three: 1/3 in place
    o = right[order["id"]]
    answers[order["id"]] = [o[0], o[2], o[1]]
    answers[by_kind["numeric"]["id"]] = 443.4  # tolerance 0: wrong
    out = rpc(
        db, s.learner, "learning_submit_attempt", p_attempt_id=attempt["id"], p_answers=answers
    )
    # points: single 2, multi 2 * 0.5 = 1, tf 1, text 1, numeric 0, ordering 1/3 = 0.33
    assert float(out["points"]) == pytest.approx(5.33)
    assert float(out["max_points"]) == 8
    graded = {
        r["question_id"]: r
        for r in db.execute(
            "select question_id::text, points_awarded, is_correct from learning.attempt_answers"
            " where attempt_id = %s",
            (attempt["id"],),
        )
    }
    assert float(graded[multi["id"]]["points_awarded"]) == 1
    assert graded[multi["id"]]["is_correct"] is False
    assert graded[by_kind["short_text"]["id"]]["is_correct"] is True
    a2 = rpc(db, s.learner, "learning_start_attempt", p_quiz_id=s.quiz_id)
    answers = correct_answers(db, a2)
    answers[multi["id"]] = [right[multi["id"]][0], wrong_multi]
    out = rpc(db, s.learner, "learning_submit_attempt", p_attempt_id=a2["id"], p_answers=answers)
    assert float(out["points"]) == 6  # multiple choice floored at 0


@pytest.mark.parametrize(
    ("method", "expected"),
    [("highest", 100), ("last", 0), ("first", 0), ("average", 50)],
)
def test_grading_methods(db, scene, method, expected):
    s = scene
    rpc(
        db,
        s.teacher,
        "learning_configure_quiz",
        p_quiz_id=s.quiz_id,
        p_settings={"grading_method": method},
    )
    a1 = rpc(db, s.learner, "learning_start_attempt", p_quiz_id=s.quiz_id)
    rpc(db, s.learner, "learning_submit_attempt", p_attempt_id=a1["id"], p_answers={})
    a2 = rpc(db, s.learner, "learning_start_attempt", p_quiz_id=s.quiz_id)
    rpc(
        db,
        s.learner,
        "learning_submit_attempt",
        p_attempt_id=a2["id"],
        p_answers=correct_answers(db, a2),
    )
    a3 = rpc(db, s.learner, "learning_start_attempt", p_quiz_id=s.quiz_id)
    out = rpc(db, s.learner, "learning_submit_attempt", p_attempt_id=a3["id"], p_answers={})
    if method == "average":
        expected = round(100 / 3, 2)
    assert float(out["quiz_grade"]) == pytest.approx(expected)
    assert out["attempts_left"] == 0


def test_random_draw_and_shuffle(db, scene):
    s = scene
    rpc(
        db,
        s.teacher,
        "learning_configure_quiz",
        p_quiz_id=s.quiz_id,
        p_settings={"draw_count": 3, "max_attempts": None},
    )
    seen_sets, seen_orders = set(), set()
    for _ in range(8):
        a = rpc(db, s.learner, "learning_start_attempt", p_quiz_id=s.quiz_id)
        ids = [q["id"] for q in a["questions"]]
        assert len(ids) == 3 and set(ids) <= set(s.questions)
        seen_sets.add(frozenset(ids))
        for q in a["questions"]:
            if q["kind"] == "single_choice":
                seen_orders.add(tuple(o["id"] for o in q["options"]))
        rpc(db, s.learner, "learning_submit_attempt", p_attempt_id=a["id"], p_answers={})
    assert len(seen_sets) > 1  # 20 possible draws; 8 identical ones is ~1e-10
    # Resuming returns the same attempt, same order.
    a = rpc(db, s.learner, "learning_start_attempt", p_quiz_id=s.quiz_id)
    again = rpc(db, s.learner, "learning_start_attempt", p_quiz_id=s.quiz_id)
    assert a == {**again, "server_time": a["server_time"]}


def test_reveal_policies(db, scene):
    s = scene
    rpc(
        db,
        s.teacher,
        "learning_configure_quiz",
        p_quiz_id=s.quiz_id,
        p_settings={"reveal_policy": "after_last_attempt", "max_attempts": 2},
    )
    a1 = rpc(db, s.learner, "learning_start_attempt", p_quiz_id=s.quiz_id)
    rpc(db, s.learner, "learning_submit_attempt", p_attempt_id=a1["id"], p_answers={})
    assert (
        rpc(db, s.learner, "learning_get_attempt_review", p_attempt_id=a1["id"])["revealed"]
        is False
    )
    a2 = rpc(db, s.learner, "learning_start_attempt", p_quiz_id=s.quiz_id)
    rpc(db, s.learner, "learning_submit_attempt", p_attempt_id=a2["id"], p_answers={})
    review = rpc(db, s.learner, "learning_get_attempt_review", p_attempt_id=a1["id"])
    assert review["revealed"] is True
    assert any(q.get("correct_option_ids") for q in review["questions"])

    rpc(
        db,
        s.teacher,
        "learning_configure_quiz",
        p_quiz_id=s.quiz_id,
        p_settings={"reveal_policy": "never"},
    )
    assert (
        rpc(db, s.learner, "learning_get_attempt_review", p_attempt_id=a1["id"])["revealed"]
        is False
    )
    rpc(
        db,
        s.teacher,
        "learning_configure_quiz",
        p_quiz_id=s.quiz_id,
        p_settings={"reveal_policy": "after_due_date", "due_at": "2999-01-01T00:00:00Z"},
    )
    assert (
        rpc(db, s.learner, "learning_get_attempt_review", p_attempt_id=a1["id"])["revealed"]
        is False
    )
    db.execute(
        "update learning.quizzes set due_at = now() - interval '1 day' where id = %s", (s.quiz_id,)
    )
    assert (
        rpc(db, s.learner, "learning_get_attempt_review", p_attempt_id=a1["id"])["revealed"] is True
    )
    with api_error(db, "learning_quiz_closed", "PT409"):
        rpc(
            db,
            s.teacher,
            "learning_configure_quiz",
            p_quiz_id=s.quiz_id,
            p_settings={"max_attempts": 5},
        )
        rpc(db, s.learner, "learning_start_attempt", p_quiz_id=s.quiz_id)
    # Course team always see everything.
    assert (
        rpc(db, s.teacher, "learning_get_attempt_review", p_attempt_id=a1["id"])["revealed"] is True
    )


def test_after_passing_reveals_once_passed(db, scene):
    s = scene
    a = rpc(db, s.learner, "learning_start_attempt", p_quiz_id=s.quiz_id)
    rpc(
        db,
        s.learner,
        "learning_submit_attempt",
        p_attempt_id=a["id"],
        p_answers=correct_answers(db, a),
    )
    review = rpc(db, s.learner, "learning_get_attempt_review", p_attempt_id=a["id"])
    assert review["revealed"] is True
    assert all(q["is_correct"] for q in review["questions"])


def test_overdue_sweep(db, scene):
    s = scene
    rpc(
        db,
        s.teacher,
        "learning_configure_quiz",
        p_quiz_id=s.quiz_id,
        p_settings={"time_limit_seconds": 60},
    )
    a = rpc(db, s.learner, "learning_start_attempt", p_quiz_id=s.quiz_id)
    db.execute(
        "update learning.attempts set deadline_at = now() - interval '1 s' where id = %s",
        (a["id"],),
    )
    with as_user(db, "service_role"):
        n = db.execute("select private.learning_close_all_overdue() as n").fetchone()["n"]
    assert n == 1
    row = call(
        db, s.learner, "select status from api.learning_my_quiz_attempts where id = %s", (a["id"],)
    )
    assert row["status"] == "auto_submitted"


def test_staff_analytics(db, scene):
    s = scene
    rpc(db, s.learner, "learning_complete_lesson", p_lesson_id=s.lessons["intro"])
    a = rpc(db, s.learner, "learning_start_attempt", p_quiz_id=s.quiz_id)
    rpc(
        db,
        s.learner,
        "learning_submit_attempt",
        p_attempt_id=a["id"],
        p_answers=correct_answers(db, a),
    )
    with as_user(db, s.teacher):
        funnel = db.execute(
            "select title, completions, enrollments from api.learning_course_lesson_funnel"
            " order by module_position, lesson_position"
        ).fetchall()
        stats = db.execute("select * from api.learning_course_enrollment_stats").fetchall()
        items = db.execute("select * from api.learning_quiz_item_difficulty").fetchall()
        roster = db.execute("select * from api.learning_course_roster").fetchall()
    assert [(r["title"], r["completions"]) for r in funnel] == [
        ("Intro", 1),
        ("Headers", 0),
        ("Lab", 0),
        ("Final quiz", 1),
    ]
    assert stats[0]["enrollments"] == 1
    assert len(items) == 6 and all(float(i["facility"]) == 1 for i in items)
    assert roster[0]["username"] == "learner_one" and roster[0]["quizzes_passed"] == 1
    with as_user(db, s.learner):
        assert (
            db.execute("select count(*) as n from api.learning_course_roster").fetchone()["n"] == 0
        )
