"""NLP endpoints of the edge: summarise, keywords, language, semantic search — each reads its
source as the caller, passes the quota check, and refuses bad input with the one error
shape."""

from __future__ import annotations

import pytest
from aikit import MARKERS
from test_ai_assistant import auth

from flagship.database import connect
from flagship.testing.harness import query

BASE = "/functions/v1/ai"


def post(client, user, path, body):
    return client.post(f"{BASE}/{path}", json=body, headers=auth(user) if user else {})


def test_summarize_a_lesson_the_learner_may_read(client, world):
    r = post(client, world.learner, "summarize", {"lesson_id": world.ids["open_body"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert MARKERS["open_body"] in body["summary"] and body["method"] == "textrank"


def test_summarize_refuses_lessons_and_threads_the_caller_may_not_read(client, world):
    # A pro lesson whose plan lapsed, a draft course's lesson, a staff-only thread.
    for lesson in ("pro_body", "draft_body"):
        r = post(client, world.learner, "summarize", {"lesson_id": world.ids[lesson]})
        assert r.status_code in (402, 403, 404), r.text
        assert MARKERS[lesson] not in r.text
    r = post(client, world.learner, "summarize", {"thread_id": int(world.ids["staff_post_thread"])})
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert MARKERS["staff_post"] not in r.text
    r = post(
        client, world.moderator, "summarize", {"thread_id": int(world.ids["staff_post_thread"])}
    )
    assert r.status_code == 200 and MARKERS["staff_post"] in r.json()["summary"]


def test_keywords_of_a_text_and_of_a_post(client, world):
    text = (
        "SQL injection lets an attacker rewrite database queries. Parameterised queries "
        "stop SQL injection in web applications."
    )
    r = post(client, world.learner, "keywords", {"text": text, "top": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["language"] == "en" and 0 < len(body["keywords"]) <= 5 and body["tags"]
    r = post(client, world.learner, "keywords", {"post_id": int(world.ids["public_post"])})
    assert r.status_code == 200
    r = post(client, world.learner, "keywords", {"post_id": int(world.ids["staff_post"])})
    assert r.status_code == 404


def test_language(client, world):
    r = post(
        client,
        world.learner,
        "language",
        {"text": "Ce cours explique le fonctionnement des injections SQL."},
    )
    assert r.status_code == 200 and r.json()["language"] == "fr"
    r = post(client, world.learner, "language", {"text": "ok"})
    assert r.json()["language"] == "und"


def test_search_finds_only_what_the_caller_may_read(client, world):
    r = post(client, world.learner, "search", {"q": "stack canary buffer overflows", "limit": 20})
    assert r.status_code == 200, r.text
    text = r.text
    assert MARKERS["open_body"] in text
    for hidden in ("pro_body", "draft_body", "future", "staff_post"):
        assert MARKERS[hidden] not in text, hidden
    r = post(client, world.learner, "search", {"q": "canary", "kinds": ["forum"]})
    assert {x["kind"] for x in r.json()["results"]} <= {"forum"}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("summarize", {}),
        ("summarize", {"text": "a", "thread_id": 1}),
        ("summarize", {"text": "a b c.", "sentences": 11}),
        ("keywords", {"text": ""}),
        ("keywords", {"text": "x", "unknown": 1}),
        ("language", {"text": "x" * 50_001}),
        ("search", {"q": ""}),
        ("search", {"q": "x", "kinds": ["secrets"]}),
        ("search", {"q": "x", "limit": 0}),
    ],
)
def test_bad_input_is_refused_with_the_error_shape(client, world, path, body):
    r = post(client, world.learner, path, body)
    assert r.status_code in (400, 422), r.text
    assert r.json()["code"] in ("invalid_argument", "payload_too_large")


def test_anonymous_callers_are_refused(client):
    for path in ("summarize", "keywords", "language", "search"):
        r = post(client, None, path, {"text": "hello there", "q": "x"})
        assert r.status_code == 401 and r.json()["code"] == "not_authenticated"


def test_the_plan_size_limit_and_usage_accounting(client, world, ai_db):
    with connect(ai_db[0], autocommit=True) as admin:
        limit = admin.execute("select max_input_chars from ai.quotas where plan = 'free'")
        limit = limit.fetchone()["max_input_chars"]
        admin.execute("update ai.quotas set max_input_chars = 20 where plan = 'free'")
        try:
            r = post(client, world.stranger, "language", {"text": "x" * 40})
            assert r.status_code == 400 and r.json()["code"] == "ai_request_too_large"
        finally:
            admin.execute("update ai.quotas set max_input_chars = %s where plan = 'free'", (limit,))
    r = post(client, world.stranger, "language", {"text": "Bonjour tout le monde, ça va bien?"})
    assert r.status_code == 200
    with connect(ai_db[0]) as conn:
        rows = query(conn, world.stranger, "select operation, provider from api.ai_my_usage")
    assert {"operation": "language", "provider": "local"} in [dict(x) for x in rows]
