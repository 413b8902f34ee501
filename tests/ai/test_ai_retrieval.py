"""Retrieval runs as the caller: a chunk is found only where its source is readable.

Content each caller may not read is planted (course not enrolled, pro content without the
plan, a draft, a challenge before its release, a staff-only forum) and must never come back
from api.ai_search, whatever the query.
"""

from __future__ import annotations

import psycopg
import pytest
from aikit import FLAGS, MARKERS, drain_index_jobs, has_pgvector, provider

from flagship.testing.harness import api_error, one_row, query, rpc

ROLES = ["anon", "stranger", "learner", "pro_user", "player", "moderator", "teacher", "admin"]
# Who may read each marked source (the sources' own rules, written out for this scene).
READERS = {
    "open_body": {"learner", "teacher", "admin"},
    "open_preview": set(ROLES),
    "pro_body": {"pro_user", "teacher", "admin"},
    "draft_body": {"teacher", "admin"},
    "released": {"player", "organiser", "admin"},
    "future": {"organiser", "admin"},
    "public_post": set(ROLES),
    "staff_post": {"moderator", "admin"},
    "doc": set(ROLES),
}


def found(db, who, q: str, embedding=None, limit: int = 50) -> list[dict]:
    return query(
        db,
        who,
        "select * from api.ai_search(%s, %s::real[], null, null, %s)",
        (q, embedding, limit),
    )


def markers_in(rows) -> set[str]:
    text = " ".join(r["title"] + " " + r["content"] for r in rows)
    return {key for key, marker in MARKERS.items() if marker in text}


@pytest.mark.parametrize("role", ROLES)
def test_full_text_search_returns_only_what_the_caller_may_read(db, scene, role):
    who = scene.get(role)
    every_marker = " ".join(MARKERS.values())
    seen = markers_in(found(db, who, every_marker))
    assert seen == {k for k, readers in READERS.items() if role in readers}


@pytest.mark.parametrize("role", ROLES)
def test_vector_search_returns_only_what_the_caller_may_read(db, scene, role):
    who = scene.get(role)
    [vector] = provider().embed(["how does a stack canary detect a buffer overflow"])
    rows = found(db, who, "", embedding=vector)
    if not has_pgvector(db):
        # a Postgres without pgvector: retrieval is full text only, an embedding adds nothing
        assert all(r["vector_rank"] is None for r in rows)
        return
    assert rows and all(r["vector_rank"] is not None for r in rows)
    assert markers_in(rows) <= {k for k, readers in READERS.items() if role in readers}


def test_hybrid_fuses_both_ranks(db, scene):
    [vector] = provider().embed(["stack canary buffer overflow"])
    rows = found(db, scene.admin, "canary", embedding=vector, limit=5)
    if not has_pgvector(db):
        assert rows and all(r["fts_rank"] and r["vector_rank"] is None for r in rows)
        return
    assert any(r["fts_rank"] and r["vector_rank"] for r in rows)
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)


def test_reading_the_chunks_table_directly_follows_the_same_rule(db, scene):
    for role in ROLES:
        rows = query(db, scene.get(role), "select title, content from ai.chunks")
        seen = markers_in(rows)
        assert seen == {k for k, readers in READERS.items() if role in readers}, role


def test_release_enrollment_plan_and_moderation_changes_apply_at_once(db, scene):
    s = scene
    assert "future" not in markers_in(found(db, s.player, MARKERS["future"]))
    db.execute(
        "update ctf.challenges set release_at = now() - interval '1 minute' where id = %s",
        (s.ids["future"],),
    )
    assert "future" in markers_in(found(db, s.player, MARKERS["future"]))
    assert "open_body" not in markers_in(found(db, s.stranger, MARKERS["open_body"]))
    rpc(db, s.stranger, "learning_enroll", p_course_id=s.ids["open"])
    assert "open_body" in markers_in(found(db, s.stranger, MARKERS["open_body"]))
    # Hidden by a moderator: gone for everyone but its author and staff, before re-indexing.
    db.execute(
        "update community.threads set hidden_at = now() where id = %s",
        (s.ids["public_post_thread"],),
    )
    assert "public_post" not in markers_in(found(db, s.stranger, MARKERS["public_post"]))
    drain_index_jobs(db)
    assert (
        one_row(
            db,
            "service_role",
            "select count(*) as n from ai.chunks where "
            "source_kind = 'forum_post' and source_id = %s",
            (s.ids["public_post"],),
        )["n"]
        == 0
    )


def test_lesson_rule_agrees_with_learning_get_lesson(db, scene):
    """The chunks policy's lesson rule is api.learning_get_lesson's, for every role, lesson
    and course state (a lock included)."""
    s = scene
    lessons = ["open_body", "open_preview", "pro_body", "draft_body"]
    db.execute("update learning.courses set sequential = true where id = %s", (s.ids["open"],))
    for status in ("published", "archived", "draft"):
        db.execute(
            "update learning.courses set status = %s where id in (%s, %s)",
            (status, s.ids["open"], s.ids["pro"]),
        )
        for role in ROLES:
            for key in lessons:
                db.execute("savepoint probe")
                try:
                    rpc(db, s.get(role), "learning_get_lesson", p_lesson_id=s.ids[key])
                    expected = True
                except psycopg.Error:
                    expected = False
                db.execute("rollback to savepoint probe")
                got = one_row(
                    db, s.get(role), "select private.ai_lesson_readable(%s) as ok", (s.ids[key],)
                )["ok"]
                assert got == expected, (status, role, key)


def test_secrets_are_never_indexed(db, scene):
    s = scene
    # Hints, write-ups and answer keys exist next to the indexed content...
    hint = one_row(
        db,
        s.organiser,
        "select api.ctf_add_hint(%s, 'hintmarker inside') as id",
        (s.ids["released"],),
    )
    assert hint["id"]
    db.execute(
        "insert into ctf.challenge_writeups (challenge_id, event_id, content)"
        " values (%s, %s, 'writeupmarker solution')",
        (s.ids["released"], s.ids["event"]),
    )
    db.execute(
        "update ctf.challenge_contents set connection_info = 'nc connmarker 1337'"
        " where challenge_id = %s",
        (s.ids["released"],),
    )
    drain_index_jobs(db)
    rows = query(db, "service_role", "select title, content from ai.chunks")
    text = " ".join(r["title"] + " " + r["content"] for r in rows)
    for secret in (*FLAGS.values(), "s3cret", "hintmarker", "writeupmarker", "connmarker"):
        assert secret not in text
    assert MARKERS["released"] in text  # the public description is there


def test_answer_keys_are_never_indexed(db, scene):
    s = scene
    quiz_lesson = rpc(
        db,
        s.teacher,
        "learning_create_lesson",
        p_module_id=one_row(
            db,
            "service_role",
            "select module_id from learning.lessons where id = %s",
            (s.ids["open_body"],),
        )["module_id"],
        p_title="Quiz",
        p_kind="quiz",
    )
    quiz = one_row(
        db,
        "service_role",
        "select id from learning.quizzes where lesson_id = %s",
        (str(quiz_lesson),),
    )["id"]
    rpc(
        db,
        s.teacher,
        "learning_save_question",
        p_quiz_id=str(quiz),
        p_question={
            "kind": "short_text",
            "prompt": "Name the guard value?",
            "accepted_answers": ["keymarkeranswer"],
            "explanation": "explmarker reasons",
        },
    )
    drain_index_jobs(db)
    rows = query(db, "service_role", "select content from ai.chunks")
    text = " ".join(r["content"] for r in rows)
    assert "keymarkeranswer" not in text and "explmarker" not in text


def test_deleting_a_source_removes_its_chunks(db, scene):
    s = scene
    db.execute("delete from learning.lessons where id = %s", (s.ids["open_body"],))
    drain_index_jobs(db)
    n = one_row(
        db,
        "service_role",
        "select count(*) as n from ai.chunks where source_id = %s",
        (s.ids["open_body"],),
    )["n"]
    assert n == 0


def test_search_validates_its_arguments(db, scene):
    with api_error(db, "invalid_argument", "22023"):
        found(db, scene.learner, "x", limit=500)
    with api_error(db, "text_too_long", "22023"):
        found(db, scene.learner, "x" * 2001)
    with api_error(db, "invalid_argument", "22023"):
        found(db, scene.learner, "", embedding=[0.1, 0.2])
