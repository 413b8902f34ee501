"""Every declared result shape meets a real result: small scenes per domain call each api
function that returns jsonb through `harness.rpc` (which validates the result against its
JSON Schema), alternative branches included — ctf_submit's correct, partial, incorrect,
shared-flag and already-solved outcomes, each kind of AI generation context, a lesson with
and without its body. The last test asserts that these calls reached every row of
ops.api_result_shapes, so a new shape without a real result fails here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from psycopg.types.json import Jsonb

from flagship.testing import shapes
from flagship.testing.harness import create_user, grant_roles, rpc, scalar

TESTS = Path(__file__).resolve().parents[1]
for suite in ("learning", "ctf", "uploads"):
    if str(TESTS / suite) not in sys.path:
        sys.path.append(str(TESTS / suite))

from ctfkit import build_scene as build_ctf_scene  # noqa: E402
from ctfkit import make_challenge  # noqa: E402
from learning_helpers import correct_answers, make_scene  # noqa: E402
from storage_scene import put_object  # noqa: E402

COVERED: set[str] = set()
CODE = "FLG-0123456789ABCDEF01234567"


@pytest.fixture(autouse=True)
def record_shapes():
    """Collect which declared shapes this module's calls validated."""
    with shapes.recording() as found:
        yield
    COVERED.update(found)


def certificate(db, user, course: str) -> str:
    db.execute(
        "insert into learning.certificates (code, user_id, course_id, holder_name, course_title)"
        " values (%s, %s, %s, 'Lea Learner', 'Web Security 101')",
        (CODE, user.id, course),
    )
    return CODE


def test_accounts(db):
    admin = grant_roles(db, create_user(db, username="shape_admin"), "admin")
    user = create_user(db, username="shape_user", display_name="Shape")
    rpc(db, user, "accounts_get_my_settings")
    changed = rpc(db, user, "accounts_update_my_settings", p_changes={"theme": "dark"})
    assert changed["theme"] == "dark"
    account = rpc(db, user, "accounts_get_my_account")
    assert account["profile"]["username"] == "shape_user"
    assert rpc(db, admin, "accounts_get_user", p_user_id=user.id)["id"] == user.id
    key = rpc(db, user, "accounts_create_api_key", p_name="ci", p_scopes=["profile:read"])
    rotated = rpc(db, user, "accounts_rotate_api_key", p_id=key["id"], p_overlap="1 hour")
    assert rotated["rotated_from"] == key["id"]
    pending = rpc(db, user, "accounts_request_contact_email_change", p_email="New@Example.com")
    assert pending["email"] == "new@example.com"
    token = db.execute(
        "select payload -> 'data' ->> 'token' as t from ops.outbox"
        " where topic = 'email.send' and payload ->> 'to' = 'new@example.com'"
    ).fetchone()["t"]
    confirmed = rpc(db, user, "accounts_confirm_contact_email_change", p_token=token)
    assert confirmed["email"] == "new@example.com"
    export = rpc(db, user, "accounts_export_my_data")
    assert {"accounts", "learning", "ctf", "community", "billing"} <= set(export)


def test_learning_catalogue_and_attempts(db):
    s = make_scene(db)
    # The outline as a stranger (no bodies), as the learner, as the course team.
    for who in ("anon", s.stranger, s.learner, s.teacher):
        rpc(db, who, "learning_get_course_outline", p_course_id=s.course_id)
    rpc(db, s.learner, "learning_get_lesson", p_lesson_id=s.lessons["intro"])
    done = rpc(db, s.learner, "learning_complete_lesson", p_lesson_id=s.lessons["intro"])
    again = rpc(db, s.learner, "learning_complete_lesson", p_lesson_id=s.lessons["intro"])
    assert done["newly_completed"] and not again["newly_completed"]
    rpc(db, s.learner, "learning_get_lesson", p_lesson_id=s.lessons["intro"])
    attempt = rpc(db, s.learner, "learning_start_attempt", p_quiz_id=s.quiz_id)
    resumed = rpc(db, s.learner, "learning_start_attempt", p_quiz_id=s.quiz_id)
    assert resumed["id"] == attempt["id"]
    answers = correct_answers(db, attempt)
    first = next(iter(answers))
    rpc(
        db,
        s.learner,
        "learning_save_answers",
        p_attempt_id=attempt["id"],
        p_answers={first: answers[first]},
    )
    rpc(db, s.learner, "learning_get_attempt", p_attempt_id=attempt["id"])
    result = rpc(
        db, s.learner, "learning_submit_attempt", p_attempt_id=attempt["id"], p_answers=answers
    )
    assert result["passed"]
    review = rpc(db, s.learner, "learning_get_attempt_review", p_attempt_id=attempt["id"])
    assert review["revealed"]
    # A failed attempt: the key stays hidden from the learner (reveal after passing only).
    other = create_user(db, username="shape_learner")
    rpc(db, other, "learning_enroll", p_course_id=s.course_id)
    failed = rpc(db, other, "learning_start_attempt", p_quiz_id=s.quiz_id)
    rpc(db, other, "learning_submit_attempt", p_attempt_id=failed["id"], p_answers={})
    hidden = rpc(db, other, "learning_get_attempt_review", p_attempt_id=failed["id"])
    assert not hidden["revealed"]
    rpc(db, s.teacher, "learning_get_attempt_review", p_attempt_id=failed["id"])
    # The export with learning data in it (attempts, progress, enrollments, teaching).
    assert rpc(db, s.learner, "accounts_export_my_data")["learning"]["quiz_attempts"]
    assert rpc(db, s.teacher, "accounts_export_my_data")["learning"]["teaching"]


def test_learning_authoring_reviews_and_certificates(db):
    s = make_scene(db)
    course = rpc(db, s.teacher, "learning_create_course", p_slug="shape-course", p_title="Shape")
    assert course["status"] == "draft"
    rpc(
        db,
        s.teacher,
        "learning_update_course",
        p_course_id=course["id"],
        p_changes={"estimated_hours": 2},
    )
    rpc(
        db,
        s.teacher,
        "learning_configure_quiz",
        p_quiz_id=s.quiz_id,
        p_settings={"time_limit_seconds": 600, "due_at": "2099-01-01T00:00:00Z"},
    )
    authoring = rpc(db, s.teacher, "learning_get_quiz_for_authoring", p_quiz_id=s.quiz_id)
    assert authoring["questions"] and authoring["questions"][0]["key"] is not None
    module = rpc(db, s.teacher, "learning_create_module", p_course_id=course["id"], p_title="M")
    rpc(db, s.teacher, "learning_create_lesson", p_module_id=module, p_title="L", p_kind="article")
    rpc(db, s.teacher, "learning_publish_course", p_course_id=course["id"])
    rpc(db, s.teacher, "learning_archive_course", p_course_id=course["id"])
    enrolled = rpc(db, s.stranger, "learning_enroll", p_course_id=s.course_id)
    assert enrolled["status"] == "active"
    review = rpc(
        db, s.learner, "learning_review_course", p_course_id=s.course_id, p_rating=4, p_body="Good"
    )
    rpc(db, s.teacher, "learning_reply_to_review", p_review_id=review["id"], p_body="Thanks")
    removed = rpc(db, s.teacher, "learning_reply_to_review", p_review_id=review["id"], p_body=None)
    assert removed["reply_body"] is None
    code = certificate(db, s.learner, s.course_id)
    rpc(db, "anon", "learning_verify_certificate", p_code=code)
    rpc(db, s.admin, "learning_revoke_certificate", p_code=code, p_reason="copied answers")
    rpc(db, "anon", "learning_verify_certificate", p_code=code)
    rpc(db, s.admin, "learning_reinstate_certificate", p_code=code, p_reason="appeal upheld")


def test_ctf(db):
    c = build_ctf_scene(db)
    o = c.organiser
    wrong = rpc(db, c.player, "ctf_submit", p_challenge_id=c.challenge, p_flag="flag{no}")
    assert wrong["status"] == "incorrect"
    solved = rpc(db, c.player, "ctf_submit", p_challenge_id=c.challenge, p_flag="flag{one}")
    assert solved["status"] == "correct" and solved["first_blood"]
    again = rpc(db, c.teammate, "ctf_submit", p_challenge_id=c.challenge, p_flag="flag{one}")
    assert again["status"] == "already_solved"
    multi = make_challenge(
        db,
        o,
        c.event,
        {"title": "multi", "flag_logic": "all"},
        [("static", "m{1}"), ("static", "m{2}")],
    )
    partial = rpc(db, c.player, "ctf_submit", p_challenge_id=multi, p_flag="m{1}")
    assert partial["status"] == "partial"
    per_team = make_challenge(db, o, c.event, {"title": "per team"}, [("team", "t{%s}")])
    flags = rpc(db, o, "ctf_list_team_flags", p_challenge_id=per_team, p_team_id=c.team_a)
    shared = rpc(db, c.other_player, "ctf_submit", p_challenge_id=per_team, p_flag=flags[0]["flag"])
    assert shared["status"] == "shared_flag"
    rpc(db, o, "ctf_list_flags", p_challenge_id=per_team)
    hint = scalar(db, o, "select api.ctf_add_hint(%s, 'look closer', 10)", (multi,))
    unlocked = rpc(db, c.player, "ctf_unlock_hint", p_hint_id=hint)
    assert unlocked["newly_unlocked"] and unlocked["cost"] == 10
    rpc(db, c.player, "ctf_unlock_hint", p_hint_id=hint)
    rpc(db, "anon", "ctf_get_team_page", p_team_id=c.team_a)
    rpc(db, c.player, "ctf_get_team_page", p_team_id=c.team_b)
    graph = rpc(db, c.player, "ctf_get_score_graph", p_event_id=c.event)
    assert graph and graph[0]["points"]
    rpc(db, "anon", "ctf_get_ctftime_feed", p_event_id=c.event)
    board = rpc(db, c.player, "ctf_get_scoreboard_document", p_event_id=c.event)
    assert board["rows"]
    rpc(db, o, "ctf_export_event", p_event_id=c.event)
    team = rpc(db, c.outsider, "ctf_create_team", p_event_id=c.event, p_name="Charlie")
    assert team["invite_code"]
    exported = rpc(db, c.player, "accounts_export_my_data")["ctf"]
    assert exported["participations"] and exported["solves"]


def test_community(db):
    moderator = grant_roles(db, create_user(db, username="shape_mod"), "moderator")
    member = create_user(db, username="shape_member")
    assert rpc(db, member, "community_count_notifications") == {"unread": 0}
    rpc(db, member, "community_record_visit")
    rpc(db, moderator, "community_get_moderation_stats")
    # With decisions and actions in the period.
    db.execute(
        "insert into community.moderation_actions (moderator_id, action, target_type,"
        " target_id, target_user_id, reason) values (%s, 'silence', 'user', %s, %s, 'test')",
        (moderator.id, member.id, member.id),
    )
    stats = rpc(db, moderator, "community_get_moderation_stats")
    assert stats["actions_by_moderator"][0]["by_action"] == {"silence": 1}
    assert rpc(db, member, "accounts_export_my_data")["community"]["moderation_actions"]


def test_events(db):
    admin = grant_roles(db, create_user(db, username="shape_events_admin"), "admin")
    campaign = scalar(
        db,
        admin,
        "select api.events_save_newsletter('Hi', 'Body', %s)",
        (Jsonb({"kind": "everyone"}),),
    )
    preview = rpc(db, admin, "events_preview_newsletter", p_id=campaign)
    assert preview["audience"] == {"kind": "everyone"}
    rpc(db, admin, "events_schedule_newsletter", p_id=campaign, p_at=None)
    cancelled = rpc(db, admin, "events_cancel_newsletter", p_id=campaign)
    assert cancelled["status"] == "draft"
    endpoint = rpc(
        db,
        admin,
        "events_create_endpoint",
        p_url="https://hooks.example.com/in",
        p_topics=["ctf.solve"],
    )
    rpc(
        db,
        admin,
        "events_update_endpoint",
        p_endpoint_id=endpoint["id"],
        p_changes={"enabled": False},
    )
    rpc(
        db,
        admin,
        "events_update_endpoint",
        p_endpoint_id=endpoint["id"],
        p_changes={"enabled": True, "topics": None},
    )
    rpc(
        db,
        admin,
        "events_rotate_endpoint_secret",
        p_endpoint_id=endpoint["id"],
        p_overlap_seconds=60,
    )


def test_files(db):
    s = make_scene(db)
    usage = rpc(db, s.learner, "files_get_my_usage")
    assert usage["bytes"] == 0
    code = certificate(db, s.learner, s.course_id)
    put_object(db, "certificates", f"{s.learner.id}/{code}.pdf", None, "application/pdf")
    assert rpc(db, "anon", "files_get_certificate_pdf", p_code=code)["code"] == code


def test_ai(db):
    s = make_scene(db)
    quiz_context = rpc(
        db,
        s.teacher,
        "ai_generation_context",
        p_kind="quiz_questions",
        p_target=s.lessons["headers"],
    )
    rpc(db, s.teacher, "ai_generation_context", p_kind="course_outline", p_target=s.course_id)
    c = build_ctf_scene(db)
    rpc(db, c.organiser, "ai_generation_context", p_kind="challenge_writeup", p_target=c.challenge)
    rpc(db, s.learner, "ai_get_my_quota")
    question = {
        "kind": "single_choice",
        "prompt": "Which header stops clickjacking?",
        "options": [
            {"label": "X-Frame-Options", "correct": True},
            {"label": "X-Powered-By", "correct": False},
        ],
        "explanation": "It forbids framing.",
    }
    draft = db.execute(
        "select private.ai_save_draft(%s, %s, %s, 'gpt-4o-mini', '{}') as id",
        (s.teacher.id, Jsonb(quiz_context), Jsonb({"questions": [question]})),
    ).fetchone()["id"]
    applied = rpc(db, s.teacher, "ai_apply_draft", p_draft_id=draft, p_quiz_id=s.quiz_id)
    assert len(applied["question_ids"]) == 1


def test_every_declared_shape_met_a_real_result(db):
    declared = {r["object"] for r in db.execute("select object from ops.api_result_shapes")}
    assert declared - COVERED == set(), "shapes no test here validated against a real result"
    assert COVERED - declared == set()
