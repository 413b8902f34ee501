"""Moderation assist: new posts and messages are scored; above the threshold they enter the
review queue as one weighted system flag, never hidden or deleted by it."""

from __future__ import annotations

import pytest
from featurekit import drain_jobs

from ai import moderation
from ai.provider import make_provider
from ai.settings import AISettings
from flagship.testing.fake_openai import API_KEY, FakeOpenAI
from flagship.testing.harness import create_user, grant_roles, one_row, query, rpc, scalar
from sync.ai_features import local_moderator, provider_moderator, record_moderation

ABUSE = "You are a pathetic idiot, kill yourself"
SPAM = "cheap flags http://bit.ly/a http://bit.ly/b http://bit.ly/c"


def drain(db, moderator=local_moderator) -> list[dict]:
    return drain_jobs(db, "ai.moderation_requested", lambda p: record_moderation(db, p, moderator))


@pytest.fixture
def forum(db):
    admin = grant_roles(db, create_user(db, username="mod_admin"), "admin")
    moderator = grant_roles(db, create_user(db, username="mod_moe"), "moderator")
    author = create_user(db, username="post_author")
    partner = create_user(db, username="dm_partner")
    db.execute(
        "insert into community.members (user_id, trust_level) values (%s, 2), (%s, 2)",
        (author.id, partner.id),
    )
    category = scalar(
        db,
        admin,
        "select api.community_save_category('general', 'General', null, 'everyone', 'members')",
    )
    thread = scalar(
        db,
        author,
        "select api.community_create_thread(%s, 'Canaries', 'How do they work?')",
        (category,),
    )
    return {
        "admin": admin,
        "moderator": moderator,
        "author": author,
        "partner": partner,
        "thread": thread,
    }


def post(db, who, thread, body):
    return scalar(db, who, "select api.community_create_post(%s, %s)", (thread, body))


def queue_for(db, who, post_id):
    return query(
        db, who, "select * from api.community_review_queue where target_id = %s", (str(post_id),)
    )


def test_a_civil_post_is_scored_and_not_flagged(db, forum):
    pid = post(db, forum["author"], forum["thread"], "Thanks, the stack canary explanation helped.")
    outcomes = drain(db)
    assert [o["flagged"] for o in outcomes] == [False, False]  # thread body + this post
    row = scalar(
        db,
        forum["moderator"],
        "select score from api.ai_moderation_scores where target_id = %s",
        (pid,),
    )
    assert row < 0.6
    assert queue_for(db, forum["moderator"], pid) == []


def test_an_abusive_post_gets_one_system_flag_and_stays_visible(db, forum):
    pid = post(db, forum["author"], forum["thread"], ABUSE)
    drain(db)
    items = queue_for(db, forum["moderator"], pid)
    assert len(items) == 1
    item = items[0]
    assert item["status"] == "pending" and not item["auto_hidden"]
    assert [(f["flagger_id"], f["reason"]) for f in item["flags"]] == [(None, "abuse")]
    assert "Moderation assist (local" in item["flags"][0]["message"]
    assert float(item["total_weight"]) < 3.0  # below the auto-hide threshold
    visible = db.execute(
        "select hidden_at, deleted_at from community.posts where id = %s", (pid,)
    ).fetchone()
    assert visible == {"hidden_at": None, "deleted_at": None}
    # Everyone still reads the post; the author cannot see the flag or the score.
    reader = create_user(db, username="plain_reader")
    assert (
        len(query(db, reader, "select 1 from api.community_forum_posts where id = %s", (pid,))) == 1
    )
    assert query(db, forum["author"], "select * from api.ai_moderation_scores") == []
    assert queue_for(db, forum["author"], pid) == []


def test_an_edit_is_rescored_but_does_not_add_a_second_system_flag(db, forum):
    pid = post(db, forum["author"], forum["thread"], ABUSE)
    drain(db)
    rpc(db, forum["author"], "community_edit_post", p_post_id=pid, p_body=SPAM)
    drain(db)
    item = queue_for(db, forum["moderator"], pid)[0]
    assert item["flag_count"] == 1
    top = scalar(
        db,
        forum["moderator"],
        "select top_category from api.ai_moderation_scores where target_id = %s",
        (pid,),
    )
    assert top == "link_spam"


def test_member_flags_add_to_the_system_weight_through_the_normal_pipeline(db, forum):
    pid = post(db, forum["author"], forum["thread"], SPAM)
    drain(db)
    flagger = create_user(db, username="flagger_one")
    db.execute("insert into community.members (user_id, trust_level) values (%s, 2)", (flagger.id,))
    rpc(
        db, flagger, "community_report", p_target_type="post", p_target_id=str(pid), p_reason="spam"
    )
    item = queue_for(db, forum["moderator"], pid)[0]
    assert item["flag_count"] == 2
    assert {f["flagger_id"] for f in item["flags"]} == {None, flagger.id}


def test_a_message_is_flagged_without_its_body_reaching_the_staff(db, forum):
    mid = scalar(
        db,
        forum["author"],
        "select api.community_start_conversation(array[%s]::uuid[], %s)",
        (forum["partner"].id, ABUSE),
    )
    outcome = drain(db)[-1]  # the thread body was queued too
    assert outcome["flagged"] is True
    item = queue_for(db, forum["moderator"], mid)[0]
    assert item["target_type"] == "message"
    assert "body" not in item["snapshot"]
    assert ABUSE not in str(item)


def test_a_deleted_post_is_not_scored(db, forum):
    pid = post(db, forum["author"], forum["thread"], ABUSE)
    db.execute("update community.posts set deleted_at = now() where id = %s", (pid,))
    outcomes = drain(db)
    assert outcomes[-1] is None
    assert queue_for(db, forum["moderator"], pid) == []


def test_openai_moderation_through_the_real_client_and_the_fake_server(db, forum):
    with FakeOpenAI() as fake:
        settings = AISettings(openai_api_key=API_KEY, openai_base_url=fake.base_url)
        assert provider_moderator(settings, "postgresql://unused") is not local_moderator
        provider = make_provider(settings)
        pid = post(db, forum["author"], forum["thread"], "I hate you, idiot.")
        outcomes = drain(db, lambda text: moderation.moderate(text, provider))
        assert outcomes[-1]["flagged"] is True and outcomes[-1]["source"] == "openai"
        assert any(r["path"].endswith("/moderations") for r in fake.requests)
        row = one_row(
            db,
            forum["moderator"],
            "select * from api.ai_moderation_scores where target_id = %s",
            (pid,),
        )
        assert row["source"] == "openai" and row["top_category"] == "harassment"
        item = queue_for(db, forum["moderator"], pid)[0]
        assert item["flags"][0]["reason"] == "abuse" and not item["auto_hidden"]
        # The provider failing (after its retries) falls back to the local heuristics.
        fake.fail_next(500, 10)
        local = moderation.moderate(
            "kill yourself loser",
            make_provider(
                AISettings(openai_api_key=API_KEY, openai_base_url=fake.base_url, max_retries=0)
            ),
        )
        assert local["source"] == "local" and local["score"] >= 0.6


def test_without_a_key_the_worker_scores_locally():
    assert provider_moderator(AISettings(), "postgresql://unused") is local_moderator
