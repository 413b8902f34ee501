"""RLS matrix for every ai object: each role × object × select / write / execute.

Roles: anon; learner (enrolled in the open course, reviewed it, has a conversation and
usage); stranger (signed in, nothing else); teacher (owns the open course); organiser (of
the CTF event); moderator (staff); admin; service_role. The scene is aikit's, plus a
scored review and feedback, a moderation score, drafts for the course and the event, and
refreshed recommendation tables.

Outcomes: "yes" / "no" (rows seen or not), "deny" (42501 without an API code: no
privilege), or the API error code raised.
"""

from __future__ import annotations

import pytest
from aikit import build_scene

from flagship.testing.harness import scalar
from flagship.testing.matrix import REFUSED, Matrix
from sync.ai_features import local_moderator, record_moderation, record_sentiment

ROLES = [
    "anon",
    "learner",
    "stranger",
    "teacher",
    "organiser",
    "moderator",
    "admin",
    "service_role",
]
M = Matrix(["ai"], ROLES)
ALL = M.same("yes")
SIGNED_IN = ALL | {"anon": "deny"}
NOBODY = M.same("deny")
NONE_BUT_SERVICE = M.same("no") | {"anon": "deny", "service_role": "yes"}
TEAM = NONE_BUT_SERVICE | {"teacher": "yes", "admin": "yes"}
ORGANISERS = NONE_BUT_SERVICE | {"organiser": "yes", "admin": "yes"}
STAFF = NONE_BUT_SERVICE | {"moderator": "yes", "admin": "yes"}
LEARNER_OWN = NONE_BUT_SERVICE | {"learner": "yes"}
LEARNER_OR_ADMIN = LEARNER_OWN | {"admin": "yes"}
ADMIN_ONLY = NONE_BUT_SERVICE | {"admin": "yes"}
ENROLLED_CONTENT = NONE_BUT_SERVICE | {"learner": "yes", "teacher": "yes", "admin": "yes"}

# -- ai-core: index, docs, quotas, prices, usage, conversations ------------------------------
M.select("ai.chunks", "source_id = %(open_body)s", ENROLLED_CONTENT | {"anon": "no"})
M.select("ai.docs", "true", ALL)
M.select("ai.quotas", "true", ALL)
M.select("ai.prices", "true", ALL)
M.select("ai.usage", "user_id = %(learner)s", LEARNER_OR_ADMIN)
M.select("ai.conversations", "user_id = %(learner)s", LEARNER_OWN)
M.select("ai.messages", "user_id = %(learner)s", LEARNER_OWN)
M.select("api.ai_my_usage", "true", LEARNER_OWN | {"service_role": "no"})
M.select("api.ai_usage_daily", "true", ADMIN_ONLY | {"service_role": "no"})
M.select("api.ai_my_conversations", "true", LEARNER_OWN | {"service_role": "no"})
M.select("api.ai_my_messages", "true", LEARNER_OWN | {"service_role": "no"})
M.execute(
    "api.ai_get_my_quota",
    "select api.ai_get_my_quota()",
    SIGNED_IN | {"service_role": "deny"},
)
M.execute(
    "api.ai_search",
    "select * from api.ai_search('stack canary', null, null, null, 8)",
    ALL,
)
M.execute(
    "api.ai_delete_conversation",
    "select api.ai_delete_conversation(%(conversation)s)",
    M.same("ai_conversation_not_found")
    | {"anon": "deny", "learner": "yes", "service_role": "deny"},
)
M.write("ai.chunks", "delete", "delete from ai.chunks", M.same(REFUSED))
# The postings of the any-word arm: read only by the definer retrieval functions.
M.select("ai.chunk_terms", "true", NOBODY | {"service_role": "yes"})
M.write(
    "ai.chunk_terms",
    "insert",
    "insert into ai.chunk_terms (term, impact, chunk_id) values ('planted', 1, 1)",
    M.same(REFUSED),
)
M.write("ai.chunk_terms", "delete", "delete from ai.chunk_terms", M.same(REFUSED))
M.write(
    "ai.usage",
    "insert",
    "insert into ai.usage (operation, provider, model) values ('x', 'local', 'm')",
)

# -- ai-features: sentiment, moderation assist, recommendations, drafts ----------------------
M.select("ai.sentiment_scores", "source = 'course_review'", TEAM, label="review")
M.select("ai.sentiment_scores", "source = 'ctf_feedback'", ORGANISERS, label="feedback")
M.select("api.ai_course_sentiment", "true", TEAM)
M.select("api.ai_challenge_sentiment", "true", ORGANISERS)
M.select("ai.moderation_scores", "true", STAFF)
M.select("api.ai_moderation_scores", "true", STAFF)
M.select("ai.item_neighbours", "true", NOBODY)
M.select("ai.item_popularity", "true", NOBODY)
M.select("ai.generated_drafts", "kind = 'quiz_questions'", TEAM, label="course")
M.select("ai.generated_drafts", "kind = 'challenge_writeup'", ORGANISERS, label="event")
M.select("api.ai_drafts", "true", TEAM | {"organiser": "yes"})
M.write(
    "ai.sentiment_scores",
    "delete",
    "delete from ai.sentiment_scores",
    M.same(REFUSED),
)
M.write(
    "ai.moderation_scores",
    "update",
    "update ai.moderation_scores set score = 0",
    M.same(REFUSED),
)
M.write(
    "ai.generated_drafts",
    "update",
    "update ai.generated_drafts set status = 'applied'",
    M.same(REFUSED),
)
M.write("ai.item_popularity", "delete", "delete from ai.item_popularity")
M.execute(
    "api.ai_recommend",
    "select * from api.ai_recommend('course', 5)",
    # the learner took, and the teacher teaches, every course popular at their level
    SIGNED_IN | {"learner": "no", "teacher": "no", "service_role": "deny"},
)
M.execute(
    "api.ai_generation_context",
    "select api.ai_generation_context('quiz_questions', %(open_body)s)",
    M.same("forbidden")
    | {"anon": "deny", "teacher": "yes", "admin": "yes", "service_role": "deny"},
)
M.execute(
    "api.ai_apply_draft",
    "select api.ai_apply_draft(%(draft)s, gen_random_uuid())",
    M.same("forbidden")
    | {
        "anon": "deny",
        "teacher": "learning_quiz_not_found",
        "admin": "learning_quiz_not_found",
        "service_role": "deny",
    },
)


@pytest.fixture(scope="module")
def matrix_world(module_db):
    db = module_db
    s = build_scene(db)
    ids = dict(s.ids)
    ids.update(learner=s.learner.id)
    review = scalar(
        db, s.learner, "select api.learning_review_course(%s, 5, 'Great labs!')", (ids["open"],)
    )
    record_sentiment(db, {"source": "course_review", "review_id": str(review["id"])})
    db.execute(
        "insert into ctf.feedback (challenge_id, user_id, event_id, rating, comment)"
        " values (%s, %s, %s, 2, 'Too guessy.')",
        (ids["released"], s.player.id, ids["event"]),
    )
    record_sentiment(
        db, {"source": "ctf_feedback", "challenge_id": ids["released"], "user_id": s.player.id}
    )
    record_moderation(db, {"target_type": "post", "target_id": ids["public_post"]}, local_moderator)
    ids["conversation"] = str(
        scalar(db, s.learner, "select private.ai_open_conversation(null, 'assistant', null)")
    )
    scalar(
        db,
        s.learner,
        "select private.ai_add_message(%s, 'user', 'hi', '[]', false, null)",
        (ids["conversation"],),
    )
    db.execute(
        "select private.ai_record_usage(%s, 'chat', 'local', 'm', 1, 1, false, 1)", (s.learner.id,)
    )
    ids["draft"] = str(
        db.execute(
            "insert into ai.generated_drafts (kind, course_id, lesson_id, content, model,"
            " provenance) values ('quiz_questions', %s, %s, '{\"questions\": []}', 'test', '{}')"
            " returning id",
            (ids["open"], ids["open_body"]),
        ).fetchone()["id"]
    )
    db.execute(
        "insert into ai.generated_drafts (kind, challenge_id, event_id, content, model,"
        " provenance) values ('challenge_writeup', %s, %s, '{\"body_md\": \"x\"}', 'test', '{}')",
        (ids["released"], ids["event"]),
    )
    db.execute("select private.ai_refresh_recommendations()")
    return s, ids


@M.parametrize("select")
def test_select(module_db, matrix_world, cell):
    s, ids = matrix_world
    cell.check(module_db, s.get(cell.role), ids)


@M.parametrize("write")
def test_write(module_db, matrix_world, cell):
    s, ids = matrix_world
    cell.check(module_db, s.get(cell.role), ids)


@M.parametrize("execute")
def test_execute(module_db, matrix_world, cell):
    s, ids = matrix_world
    cell.check(module_db, s.get(cell.role), ids)


def test_matrix_covers_every_ai_object(db):
    assert M.uncovered(db) == []
