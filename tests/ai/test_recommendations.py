"""Recommendations: computed in SQL by the schedule's refresh, ranked as the caller, never
offering what the caller may not open; offline evaluation against a popularity baseline."""

from __future__ import annotations

import pytest
from ctfkit import build_scene as build_ctf
from ctfkit import make_challenge, submit

from flagship.bench.ai_features import evaluate_recommender, generate_recommendation_data
from flagship.testing.harness import api_error, create_user, denied, grant_roles, query


def recommend(db, who, kind="course", limit=10):
    return query(db, who, "select * from api.ai_recommend(%s, %s)", (kind, limit))


def ids(rows):
    return [str(r["item_id"]) for r in rows]


def test_the_recommender_beats_the_popularity_baseline_offline(db):
    data = generate_recommendation_data(db, seed=7, courses=48, users=240)
    report = evaluate_recommender(db, data)
    assert report.hit_rate > report.baseline_hit_rate
    assert report.coverage > report.baseline_coverage


@pytest.fixture
def catalog(db):
    teacher = grant_roles(db, create_user(db, username="rec_teacher"), "instructor")

    def course(slug, status="published", tier="free", level="beginner", tags=("web",)):
        return str(
            db.execute(
                "insert into learning.courses (slug, title, level, tags, status, price_tier,"
                " published_at, created_by) values (%s, %s, %s, %s, %s, %s, now(), %s)"
                " returning id",
                (slug, slug.title(), level, list(tags), status, tier, teacher.id),
            ).fetchone()["id"]
        )

    c = {
        "a": course("course-a"),
        "b": course("course-b"),
        "c": course("course-c", tags=("crypto",)),
        "draft": course("course-draft", status="draft"),
        "pro": course("course-pro", tier="pro"),
        "archived": course("course-archived", status="archived"),
    }
    db.execute(
        "insert into learning.course_team (course_id, user_id, role) "
        "select id, %s, 'owner' from learning.courses where created_by = %s",
        (teacher.id, teacher.id),
    )
    # Five learners took a with b, the draft, the pro and the archived course: every one of
    # them co-occurs with a more strongly than c does.
    for i in range(5):
        u = create_user(db, username=f"peer_{i}")
        for key in ("a", "b", "draft", "pro", "archived"):
            db.execute(
                "insert into learning.enrollments (user_id, course_id, status, completed_at)"
                " values (%s, %s, 'completed', now())",
                (u.id, c[key]),
            )
    u = create_user(db, username="peer_c")
    for key in ("a", "c"):
        db.execute(
            "insert into learning.enrollments (user_id, course_id) values (%s, %s)",
            (u.id, c[key]),
        )
    learner = create_user(db, username="rec_learner")
    db.execute(
        "insert into learning.enrollments (user_id, course_id) values (%s, %s)",
        (learner.id, c["a"]),
    )
    db.execute("select private.ai_refresh_recommendations()")
    return {"teacher": teacher, "learner": learner, "courses": c}


def test_similar_learners_drive_the_ranking_and_taken_courses_are_not_offered(db, catalog):
    c = catalog["courses"]
    rows = recommend(db, catalog["learner"])
    got = ids(rows)
    assert got[0] == c["b"]
    assert "similar_learners" in rows[0]["reasons"]
    assert c["c"] in got
    assert c["a"] not in got  # already taken


def test_never_a_draft_an_archived_or_a_pro_course_without_the_plan(db, catalog):
    c = catalog["courses"]
    got = ids(recommend(db, catalog["learner"]))
    for hidden in ("draft", "archived", "pro"):
        assert c[hidden] not in got, hidden
    # The course team sees its draft in the catalogue but is never recommended its courses.
    assert all(i not in ids(recommend(db, catalog["teacher"])) for i in c.values())


def test_cold_start_offers_popular_courses_at_the_beginners_level(db, catalog):
    newcomer = create_user(db, username="rec_newcomer")
    rows = recommend(db, newcomer)
    assert ids(rows)[:2] == [catalog["courses"]["a"], catalog["courses"]["b"]]
    assert all("popular_at_your_level" in r["reasons"] for r in rows)
    assert catalog["courses"]["draft"] not in ids(rows)


def test_skill_gaps_recommend_lessons_before_a_failed_quiz(db):
    from learning_helpers import make_scene

    scene = make_scene(db)
    db.execute(
        "insert into learning.quiz_results (user_id, quiz_id, course_id, attempts_used, passed)"
        " values (%s, %s, %s, 1, false)",
        (scene.learner.id, scene.quiz_id, scene.course_id),
    )
    rows = recommend(db, scene.learner, "lesson")
    assert ids(rows) == [scene.lessons["lab"]]  # the lesson before the quiz in its module
    assert rows[0]["reasons"] == ["skill_gap"]
    # Someone else's failed quiz says nothing about the stranger.
    assert recommend(db, scene.stranger, "lesson") == []


def test_challenges_never_hidden_unreleased_locked_or_already_solved_by_the_team(db):
    ctf = build_ctf(db)
    org = ctf.organiser
    open_one = make_challenge(db, org, ctf.event, {"title": "Open", "difficulty": 1})
    hidden = make_challenge(db, org, ctf.event, {"title": "Hidden", "state": "hidden"})
    later = make_challenge(db, org, ctf.event, {"title": "Later"})
    db.execute(
        "update ctf.challenges set release_at = now() + interval '1 day' where id = %s", (later,)
    )
    locked = make_challenge(db, org, ctf.event, {"title": "Locked", "state": "locked"})
    solved_by_mate = make_challenge(db, org, ctf.event, {"title": "Mate's"})
    assert submit(db, ctf.teammate, solved_by_mate, "flag{x}")["correct"]
    # Other players solved everything: each is a strong co-occurrence neighbour.
    for i in range(3):
        p = create_user(db, username=f"solver_{i}")
        team = query(db, p, "select api.ctf_create_team(%s, %s) as r", (ctf.event, f"T{i}"))
        team_id = team[0]["r"]["team_id"]
        for ch in (ctf.challenge, open_one, hidden, later, locked, solved_by_mate):
            db.execute(
                "insert into ctf.solves (event_id, challenge_id, team_id, user_id)"
                " values (%s, %s, %s, %s)",
                (ctf.event, ch, team_id, p.id),
            )
    assert submit(db, ctf.player, ctf.challenge, "flag{one}")["correct"]
    db.execute("select private.ai_refresh_recommendations()")
    got = ids(recommend(db, ctf.player, "challenge"))
    assert got == [open_one]
    # The outsider (no team) is offered the same open challenge and none of the others.
    assert set(ids(recommend(db, ctf.outsider, "challenge"))) <= {
        open_one,
        ctf.challenge,
        solved_by_mate,
    }


def test_bad_input_and_anonymous_callers(db, catalog):
    with api_error(db, "invalid_argument", "22023"):
        recommend(db, catalog["learner"], "podcast")
    with api_error(db, "invalid_argument", "22023"):
        recommend(db, catalog["learner"], "course", 0)
    with api_error(db, "invalid_argument", "22023"):
        recommend(db, catalog["learner"], "course", 51)
    with denied(db):
        recommend(db, "anon")


def test_the_refresh_is_a_schedule(db):
    row = db.execute(
        "select function_name::text as f, every from ops.schedules"
        " where name = 'ai.refresh_recommendations'"
    ).fetchone()
    assert row["f"] == "private.ai_refresh_recommendations()"


def test_the_limit_is_honoured(db, catalog):
    rows = recommend(db, catalog["learner"], "course", 1)
    assert ids(rows) == [catalog["courses"]["b"]]
