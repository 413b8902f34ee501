"""Messages written for Realtime: the scoreboard after a real solve (its outbox payload, as
the worker hands it over), first blood, shared flags, personal notifications. The policies
that decide who receives them are in test_events_rls_matrix.py."""

from __future__ import annotations

import json

from jsonschema import Draft202012Validator

from flagship.json_schema import FORMATS
from flagship.testing.harness import create_user, grant_roles, scalar


def messages(db, topic: str) -> list[dict]:
    return db.execute(
        "select event, payload, private from realtime.messages where topic = %s order by id",
        (topic,),
    ).fetchall()


def outbox_payload(db, topic: str) -> dict:
    """The newest job of `topic`, checked against its catalogue schema as the worker does."""
    payload = db.execute(
        "select payload from ops.outbox where topic = %s order by id desc limit 1", (topic,)
    ).fetchone()["payload"]
    schema = db.execute(
        "select payload_schema from ops.event_types where topic = %s", (topic,)
    ).fetchone()["payload_schema"]
    assert list(Draft202012Validator(schema, format_checker=FORMATS).iter_errors(payload)) == []
    return payload


def solved_event(db):
    """An event with a team that just solved a challenge first, through the API."""
    organiser = grant_roles(db, create_user(db, username="rt_org"), "instructor")
    player = create_user(db, username="rt_player")
    mate = create_user(db, username="rt_mate")
    event = scalar(
        db,
        organiser,
        "select api.ctf_create_event(%s::jsonb)",
        (json.dumps({"slug": "rt-live", "title": "Live CTF", "mode": "teams"}),),
    )
    db.execute(
        "update ctf.events set starts_at = now() - interval '1 hour',"
        " ends_at = now() + interval '1 day' where id = %s",
        (event,),
    )
    team = scalar(db, player, "select api.ctf_create_team(%s, 'Rockets')", (event,))
    scalar(db, mate, "select api.ctf_join_team(%s)", (team["invite_code"],))
    challenge = scalar(
        db,
        organiser,
        "select api.ctf_save_challenge(%s, %s::jsonb)",
        (
            event,
            json.dumps(
                {"title": "Warmup", "state": "visible", "initial": 100, "description": "Easy"}
            ),
        ),
    )
    scalar(db, organiser, "select api.ctf_add_flag(%s, 'static', 'flag{rt}')", (challenge,))
    result = scalar(db, player, "select api.ctf_submit(%s, 'flag{rt}')", (challenge,))
    assert result["correct"] is True
    return event, team["team_id"], challenge, player, mate, organiser


def test_a_solve_publishes_the_live_top_ten_on_the_event_topic(db):
    event, team, challenge, *_ = solved_event(db)
    payload = outbox_payload(db, "ctf.solve")
    assert (
        db.execute(
            "select private.events_publish_solve(%s::jsonb) as ok", (json.dumps(payload),)
        ).fetchone()["ok"]
        is True
    )
    [message] = messages(db, f"ctf:event:{event}:scoreboard")
    assert message["event"] == "scoreboard" and message["private"] is True
    body = message["payload"]
    assert body["solve"] == {
        "team_id": team,
        "challenge_id": challenge,
        "points": 100,
        "blood_rank": 1,
    }
    assert body["top"] == [
        {"pos": 1, "team_id": team, "team_name": "Rockets", "score": 100, "solve_count": 1}
    ]


def test_a_frozen_scoreboard_publishes_nothing(db):
    event, *_ = solved_event(db)
    payload = outbox_payload(db, "ctf.solve")
    db.execute(
        "update ctf.events set freeze_at = now() - interval '1 minute' where id = %s", (event,)
    )
    assert (
        db.execute(
            "select private.events_publish_solve(%s::jsonb) as ok", (json.dumps(payload),)
        ).fetchone()["ok"]
        is False
    )
    assert messages(db, f"ctf:event:{event}:scoreboard") == []


def test_first_blood_notifies_the_team_and_is_announced(db):
    event, _, _, player, mate, _ = solved_event(db)
    payload = outbox_payload(db, "ctf.first_blood")
    for _ in range(2):  # delivered twice (at least once): one notification per member
        db.execute("select private.events_ctf_first_blood(%s::jsonb)", (json.dumps(payload),))
    rows = db.execute(
        "select user_id::text as u, data from community.notifications"
        " where kind = 'ctf.first_blood' order by user_id"
    ).fetchall()
    assert sorted(r["u"] for r in rows) == sorted([player.id, mate.id])
    assert rows[0]["data"]["title"] == "Warmup"
    announced = [
        m for m in messages(db, f"ctf:event:{event}:scoreboard") if m["event"] == "first_blood"
    ]
    assert announced[0]["payload"]["team_name"] == "Rockets"
    # ... and each member's own topic carried the notification.
    own = [
        m["event"]
        for m in messages(db, f"user:{mate.id}:notifications")
        if m["payload"]["kind"] == "ctf.first_blood"
    ]
    assert own == ["notification", "notification_updated"]  # the retry consolidated


def test_shared_flags_reach_the_organisers(db):
    event, team, challenge, _, _, organiser = solved_event(db)
    payload = {
        "event_id": event,
        "challenge_id": challenge,
        "submitter_team_id": team,
        "owner_team_id": team,
        "submission_id": 1,
    }
    assert (
        db.execute(
            "select private.events_ctf_flag_shared(%s::jsonb) as n", (json.dumps(payload),)
        ).fetchone()["n"]
        == 1
    )
    row = db.execute(
        "select data from community.notifications where user_id = %s and kind = 'ctf.flag_shared'",
        (organiser.id,),
    ).fetchone()
    assert row["data"]["title"] == "Warmup"


def test_notifications_are_broadcast_to_their_user_only(db):
    user = create_user(db, username="rt_user")
    actor = create_user(db, username="rt_actor")
    other = create_user(db, username="rt_actor2")
    for who in (actor, other):
        db.execute(
            "select private.notify(%s, 'reaction', 'post', '9', '{\"title\": \"T\"}',"
            " %s, 'reactions:9')",
            (user.id, who.id),
        )
    sent = messages(db, f"user:{user.id}:notifications")
    assert [m["event"] for m in sent] == ["notification", "notification_updated"]
    assert sent[1]["payload"]["actor_count"] == 2
    # in_app off: nothing is broadcast.
    db.execute(
        "insert into accounts.settings (user_id, prefs) values (%s, %s::jsonb)",
        (
            actor.id,
            json.dumps({"notifications": {"reactions": {"in_app": False, "email": "immediate"}}}),
        ),
    )
    db.execute("select private.notify(%s, 'reaction', 'post', '10', '{}', %s)", (actor.id, user.id))
    assert messages(db, f"user:{actor.id}:notifications") == []
