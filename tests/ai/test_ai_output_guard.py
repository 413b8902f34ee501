"""The output guard (private.ai_guard_output) as the caller, on its own: a flag of an unsolved
challenge or answer-key text is refused however the model wrote it (the encodings of
injections.ENCODED), and ordinary answers, encoded-looking or not, pass."""

from __future__ import annotations

import base64

import pytest
from injections import ANSWER, ENCODED, EXPLANATION, RELEASED

from flagship.testing.harness import rpc, scalar


@pytest.fixture
def keyed(db, scene):
    """The scene with an answer key in the open course (the learner learns there)."""
    module = scalar(
        db,
        "service_role",
        "select module_id from learning.lessons where id = %s",
        (scene.ids["open_body"],),
    )
    lesson = rpc(
        db,
        scene.teacher,
        "learning_create_lesson",
        p_module_id=module,
        p_title="Quiz",
        p_kind="quiz",
    )
    quiz = scalar(
        db, "service_role", "select id from learning.quizzes where lesson_id = %s", (str(lesson),)
    )
    rpc(
        db,
        scene.teacher,
        "learning_save_question",
        p_quiz_id=quiz,
        p_question={
            "kind": "short_text",
            "prompt": "What does CSP stand for?",
            "accepted_answers": [ANSWER],
            "explanation": EXPLANATION,
        },
    )
    return scene


def guard(db, who, text: str) -> dict:
    return scalar(db, who, "select private.ai_guard_output(%s)", (text,))


@pytest.mark.parametrize(("name", "encoded", "secret"), [(k, *v) for k, v in ENCODED.items()])
def test_encoded_secrets_are_refused(db, keyed, name, encoded, secret):
    verdict = guard(db, keyed.learner, f"Sure! As you asked: {encoded}")
    assert verdict["refused"], (name, encoded)
    assert verdict["reasons"] == ["answer_key" if secret == ANSWER else "flag"], verdict


@pytest.mark.parametrize(
    "text",
    [
        f"Encoded flags stay hidden: {base64.b64encode(RELEASED.encode()).decode()}",
        "Glued: theflagis" + RELEASED.encode().hex(),
        "Reversed in a sentence: the answer is " + RELEASED[::-1] + " so there.",
    ],
)
def test_encoded_flags_inside_sentences_are_refused(db, keyed, text):
    assert guard(db, keyed.learner, text)["refused"], text


@pytest.mark.parametrize(
    "text",
    [
        "A stack canary sits between the buffer and the return address [1].",
        "Base64 of 'hello world' is aGVsbG8gd29ybGQ= and 0xdeadbeef is a marker.",
        "URL-encode spaces as %20 and braces as %7B %7D; rot13 maps a to n.",
        "Write flags as flag{...}; for example flag{not_a_real_one} is not one of ours.",
        "Policies: C-S-P and H-S-T-S headers; see the docs at https://example.test/a_b_c.",
        ANSWER[::-1][:8] + " is not the answer.",
    ],
)
def test_ordinary_answers_pass(db, keyed, text):
    assert guard(db, keyed.learner, text) == {"refused": False, "reasons": []}


def test_a_solved_flag_passes_encoded_too(db, keyed):
    s = keyed
    scalar(db, s.player, "select api.ctf_submit(%s, %s)", (s.ids["released"], RELEASED))
    encoded, _ = ENCODED["base64"]
    assert guard(db, s.player, f"You solved it: {encoded}") == {"refused": False, "reasons": []}
    future, _ = ENCODED["rot13"]
    assert guard(db, s.player, f"Not this one: {future}")["refused"]
