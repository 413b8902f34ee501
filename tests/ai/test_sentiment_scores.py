"""Sentiment per course review and CTF feedback: queued in the write's transaction, scored by
the worker's handler, aggregated for the course team and the organisers only."""

from __future__ import annotations

import json

import pytest
from ctfkit import build_scene as build_ctf
from ctfkit import submit
from featurekit import drain_jobs
from learning_helpers import make_scene

from flagship.testing.harness import create_user, denied, query, rpc, scalar
from sync.ai_features import record_sentiment

POSITIVE = {
    "compound": 0.9,
    "positive": 0.8,
    "negative": 0,
    "neutral": 0.2,
    "label": "positive",
    "model": "test",
}


def drain(db) -> int:
    return len(drain_jobs(db, "ai.sentiment_requested", lambda p: record_sentiment(db, p)))


@pytest.fixture
def course(db):
    return make_scene(db)


def review(db, who, course_id, rating, body):
    return rpc(
        db, who, "learning_review_course", p_course_id=course_id, p_rating=rating, p_body=body
    )


def test_a_review_is_queued_scored_and_aggregated_for_the_course_team(db, course):
    other = create_user(db, username="second_learner")
    rpc(db, other, "learning_enroll", p_course_id=course.course_id)
    review(db, course.learner, course.course_id, 5, "Excellent course, loved the labs!")
    review(db, other, course.course_id, 1, "Terrible audio and broken exercises.")
    assert drain(db) == 2
    rows = query(db, course.teacher, "select * from api.ai_course_sentiment")
    assert len(rows) == 1
    agg = rows[0]
    assert str(agg["course_id"]) == course.course_id
    assert (agg["reviews_scored"], agg["positive"], agg["negative"]) == (2, 1, 1)
    # The authors, another course's teacher and a stranger see nothing; admins see it.
    for who in (course.learner, other, course.other_teacher, course.stranger):
        assert query(db, who, "select * from api.ai_course_sentiment") == []
    assert len(query(db, course.admin, "select * from api.ai_course_sentiment")) == 1


def test_anon_cannot_read_the_aggregates(db, course):
    with denied(db):
        query(db, "anon", "select * from api.ai_course_sentiment")


def test_an_edit_is_rescored_and_a_replayed_job_scores_the_current_text(db, course):
    review(db, course.learner, course.course_id, 5, "Great course.")
    stale = db.execute(
        "select payload from ops.outbox where topic = 'ai.sentiment_requested'"
    ).fetchone()["payload"]
    review(db, course.learner, course.course_id, 2, "Changed my mind: boring and outdated.")
    assert drain(db) == 2  # both versions were queued (one dedupe key per text)
    label = scalar(db, course.teacher, "select label from ai.sentiment_scores")
    assert label == "negative"
    # Replaying the first job (at-least-once delivery) scores the current text, not the old.
    assert record_sentiment(db, stale) is True
    # A score computed for a text that changed meanwhile (wrong digest) is not kept.
    kept = db.execute(
        "select private.ai_record_sentiment(%s::jsonb, %s::jsonb, %s) as k",
        (json.dumps(stale), json.dumps(POSITIVE), "0" * 64),
    ).fetchone()["k"]
    assert kept is False
    assert scalar(db, course.teacher, "select label from ai.sentiment_scores") == "negative"


def test_the_same_text_is_queued_once(db, course):
    review(db, course.learner, course.course_id, 5, "Great course.")
    review(db, course.learner, course.course_id, 4, "Great course.")  # rating only
    assert drain(db) == 1


def test_a_deleted_review_takes_its_score_along(db, course):
    review(db, course.learner, course.course_id, 5, "Great course.")
    drain(db)
    db.execute("delete from learning.reviews")
    assert scalar(db, course.teacher, "select count(*) from ai.sentiment_scores") == 0


def test_ctf_feedback_is_scored_for_the_organisers_only(db):
    ctf = build_ctf(db)
    assert submit(db, ctf.player, ctf.challenge, "flag{one}")["correct"]
    rpc(
        db,
        ctf.player,
        "ctf_give_feedback",
        p_challenge_id=ctf.challenge,
        p_rating=1,
        p_comment="Way too guessy, no logical path to the flag.",
    )
    assert drain(db) == 1
    rows = query(db, ctf.organiser, "select * from api.ai_challenge_sentiment")
    assert [(str(r["challenge_id"]), r["negative"]) for r in rows] == [(ctf.challenge, 1)]
    for who in (ctf.player, ctf.teammate, ctf.other_organiser, ctf.outsider):
        assert query(db, who, "select * from api.ai_challenge_sentiment") == []
    # A rating without a comment queues nothing and drops the old score.
    rpc(db, ctf.player, "ctf_give_feedback", p_challenge_id=ctf.challenge, p_rating=2)
    assert drain(db) == 0
    assert query(db, ctf.organiser, "select * from api.ai_challenge_sentiment") == []
