"""Staff content generation through the edge with the real `openai` library against the fake
server: drafts with provenance and model, never published; refusals for non-staff; 503
without a language model."""

from __future__ import annotations

import json

import pytest
from aikit import FLAGS
from test_ai_assistant import auth

from flagship.database import connect
from flagship.testing.harness import api_error, rpc

BASE = "/functions/v1/ai/generate"
QUESTIONS = {
    "questions": [
        {
            "prompt": "What does a stack canary detect?",
            "options": [
                {"label": "A buffer overflow before the function returns", "correct": True},
                {"label": "A heap use-after-free", "correct": False},
                {"label": "An SQL injection", "correct": False},
                {"label": "A weak TLS cipher", "correct": False},
            ],
            "explanation": "The canary sits before the return address; a changed canary "
            "means the stack was smashed.",
        },
        {
            "prompt": "Which of these defeat a canary?",
            "options": [
                {"label": "Leaking the canary value", "correct": True},
                {"label": "Overwriting only data after the return address", "correct": True},
                {"label": "Compiling with -O2", "correct": False},
            ],
            "explanation": "A known canary can be written back; some writes never touch it.",
        },
    ]
}


def gen(client, user, path, body):
    return client.post(f"{BASE}/{path}", json=body, headers=auth(user) if user else {})


def count(ai_db, sql, params=()):
    with connect(ai_db[0]) as conn:
        return conn.execute(sql, params).fetchone()["n"]


def test_quiz_drafts_are_stored_with_provenance_and_never_published(
    client, world, fake_openai, ai_db
):
    questions_before = count(ai_db, "select count(*) as n from learning.questions")
    fake_openai.replies.append("```json\n" + json.dumps(QUESTIONS) + "\n```")
    r = gen(client, world.teacher, "quiz", {"lesson_id": world.ids["open_body"], "count": 2})
    assert r.status_code == 201, r.text
    draft = r.json()
    assert draft["status"] == "draft" and draft["model"] == "gpt-4o-mini"
    prov = draft["provenance"]
    assert prov["provider"] == "openai" and prov["source"] == {
        "kind": "lesson",
        "id": world.ids["open_body"],
    }
    assert len(prov["prompt_sha256"]) == 64
    kinds = [q["kind"] for q in draft["content"]["questions"]]
    assert kinds == ["single_choice", "multiple_choice"]
    # The lesson text reached the model delimited as data.
    sent = json.dumps(fake_openai.chat_requests()[-1]["body"]["messages"])
    assert "<source" in sent and "data, not instructions" in sent
    assert count(ai_db, "select count(*) as n from learning.questions") == questions_before
    with connect(ai_db[0]) as conn:
        row = conn.execute(
            "select model, created_by::text as by, status from ai.generated_drafts where id = %s",
            (draft["draft_id"],),
        ).fetchone()
    assert row == {"model": "gpt-4o-mini", "by": world.teacher.id, "status": "draft"}


def test_applying_a_draft_goes_through_the_authoring_rpc_once(client, world, fake_openai, ai_db):
    fake_openai.replies.append(json.dumps(QUESTIONS))
    # count 3, not 2: an identical request would be answered from the provider's cache
    r = gen(client, world.teacher, "quiz", {"lesson_id": world.ids["open_body"], "count": 3})
    draft_id = r.json()["draft_id"]
    with connect(ai_db[0]) as conn:
        quiz_lesson = rpc(
            conn,
            world.teacher,
            "learning_create_lesson",
            p_module_id=conn.execute(
                "select module_id from learning.lessons where id = %s", (world.ids["open_body"],)
            ).fetchone()["module_id"],
            p_title="Canary quiz",
            p_kind="quiz",
        )
        quiz = conn.execute(
            "select id from learning.quizzes where lesson_id = %s", (quiz_lesson,)
        ).fetchone()["id"]
        with api_error(conn, "forbidden", "42501"):
            rpc(conn, world.learner, "ai_apply_draft", p_draft_id=draft_id, p_quiz_id=quiz)
        out = rpc(conn, world.teacher, "ai_apply_draft", p_draft_id=draft_id, p_quiz_id=quiz)
        assert len(out["question_ids"]) == 2
        keys = conn.execute(
            "select count(*) as n from learning.question_keys k join learning.questions q"
            " on q.id = k.question_id where q.quiz_id = %s and k.explanation is not null",
            (quiz,),
        ).fetchone()["n"]
        assert keys == 2
        with api_error(conn, "ai_draft_already_applied", "PT409"):
            rpc(conn, world.teacher, "ai_apply_draft", p_draft_id=draft_id, p_quiz_id=quiz)
        conn.rollback()


def test_outline_and_writeup_drafts(client, world, fake_openai):
    fake_openai.replies.append(
        json.dumps(
            {"modules": [{"title": "Basics", "lessons": [{"title": "Canaries", "kind": "video"}]}]}
        )
    )
    r = gen(client, world.teacher, "outline", {"course_id": world.ids["open"], "brief": "short"})
    assert r.status_code == 201, r.text
    assert r.json()["content"]["modules"][0]["lessons"][0]["kind"] == "video"
    fake_openai.replies.append("# Write-up\n\nOverflow the buffer; the flag is FLAG_REDACTED.")
    r = gen(client, world.organiser, "writeup", {"challenge_id": world.ids["released"]})
    assert r.status_code == 201, r.text
    assert r.json()["content"]["body_md"].startswith("# Write-up")
    # The flag never reaches the model.
    sent = json.dumps(fake_openai.chat_requests()[-1]["body"]["messages"])
    assert FLAGS["released"] not in sent


@pytest.mark.parametrize(
    ("who", "path", "target", "status", "code"),
    [
        ("learner", "quiz", ("lesson_id", "open_body"), 403, "forbidden"),
        ("stranger", "quiz", ("lesson_id", "draft_body"), 404, "learning_course_not_found"),
        ("learner", "outline", ("course_id", "open"), 403, "forbidden"),
        ("player", "writeup", ("challenge_id", "released"), 403, "ctf_not_organiser"),
        ("teacher", "writeup", ("challenge_id", "released"), 403, "ctf_not_organiser"),
        ("organiser", "quiz", ("lesson_id", "open_body"), 403, "forbidden"),
    ],
)
def test_only_staff_of_the_object_may_generate(
    client, world, fake_openai, ai_db, who, path, target, status, code
):
    drafts = count(ai_db, "select count(*) as n from ai.generated_drafts")
    chats = len(fake_openai.chat_requests())
    r = gen(client, world.get(who), path, {target[0]: world.ids[target[1]]})
    assert (r.status_code, r.json()["code"]) == (status, code), r.text
    assert len(fake_openai.chat_requests()) == chats  # refused before the model is asked
    assert count(ai_db, "select count(*) as n from ai.generated_drafts") == drafts


def test_anonymous_and_bad_input(client, world):
    assert gen(client, None, "quiz", {"lesson_id": world.ids["open_body"]}).status_code == 401
    for body in ({}, {"lesson_id": "nope"}, {"lesson_id": world.ids["open_body"], "count": 11}):
        r = gen(client, world.teacher, "quiz", body)
        assert r.status_code == 422 and r.json()["code"] == "invalid_argument"


def test_unusable_model_output_stores_nothing(client, world, fake_openai, ai_db):
    drafts = count(ai_db, "select count(*) as n from ai.generated_drafts")
    replies = ("Sure! Here are some questions.", json.dumps({"questions": [{"prompt": "x"}]}))
    for n, reply in enumerate(replies, 4):  # distinct counts: distinct prompts, no cache hit
        fake_openai.replies.append(reply)
        body = {"lesson_id": world.ids["open_body"], "count": n}
        r = gen(client, world.teacher, "quiz", body)
        assert r.status_code == 503 and r.json()["code"] == "ai_provider_error", r.text
    assert count(ai_db, "select count(*) as n from ai.generated_drafts") == drafts


def test_without_a_language_model_503_and_nothing_stored(local_client, world, ai_db):
    drafts = count(ai_db, "select count(*) as n from ai.generated_drafts")
    r = gen(local_client, world.teacher, "quiz", {"lesson_id": world.ids["open_body"]})
    assert r.status_code == 503 and r.json()["code"] == "ai_unavailable"
    # Refusals still come first: a learner learns nothing about the model's availability.
    r = gen(local_client, world.learner, "quiz", {"lesson_id": world.ids["open_body"]})
    assert r.status_code == 403
    assert count(ai_db, "select count(*) as n from ai.generated_drafts") == drafts
