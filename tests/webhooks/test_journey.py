"""The webhook journey through the real clients: an admin registers an endpoint (supabase-py
through the gateway) → a player solves a CTF challenge and a learner completes a course
(through the API) → the worker delivers signed events to a local receiver → they verify with
the official Standard Webhooks libraries (Python, and JavaScript under Node) → an API key with
webhooks:manage replays the solve → it arrives again with the same webhook-id."""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

import httpx
import pytest
from hookkit import local_settings
from postgrest.exceptions import APIError
from standardwebhooks.webhooks import Webhook

from flagship import config, tokens
from flagship.database import connect
from flagship.testing.gateway import serve_gateway
from flagship.testing.harness import create_user, grant_roles, scalar, with_database
from flagship.testing.node import run_node
from flagship.testing.webhooks import Receiver
from supabase import ClientOptions, create_client
from sync.webhooks import WebhookQueue
from sync.worker import Worker

TOPICS = ["certificate.issued", "ctf.first_blood", "ctf.solve", "learning.course_completed"]
VERIFY_JS = config.ROOT / "tests" / "js" / "webhook_verify.mjs"


def build_scene(admin_url: str) -> dict:
    """An admin (who organises the CTF and teaches the course), a player with a team, a
    learner; a running event with one challenge, a published one-lesson course."""
    with connect(admin_url) as conn:
        admin = grant_roles(conn, create_user(conn, username="journey_admin"), "admin")
        player = create_user(conn, username="journey_player")
        learner = create_user(conn, username="journey_learner")
        event = scalar(conn, admin, "select api.ctf_create_event(%s::jsonb)",
                       (json.dumps({"slug": "hooks-ctf", "title": "Hooks CTF"}),))  # fmt: skip
        conn.execute(
            "update ctf.events set starts_at = now() - interval '1 hour',"
            " ends_at = now() + interval '1 day' where id = %s",
            (event,),
        )
        challenge = scalar(conn, admin, "select api.ctf_save_challenge(%s, %s::jsonb)", (
            event, json.dumps({"state": "visible", "title": "Warmup", "category": "misc",
                               "initial": 100, "description": "Find it"}),
        ))  # fmt: skip
        scalar(conn, admin, "select api.ctf_add_flag(%s, 'static', 'flag{hooked}')", (challenge,))
        scalar(conn, player, "select api.ctf_create_team(%s, 'Hookers')", (event,))
        course = scalar(conn, admin, "select api.learning_create_course('hooks-101', 'Hooks 101')")
        module = scalar(conn, admin, "select api.learning_create_module(%s, 'Only')",
                        (course["id"],))  # fmt: skip
        lesson = scalar(conn, admin,
                        "select api.learning_create_lesson(%s, 'Intro', 'article', %s)",
                        (module, json.dumps({"body_md": "# Intro"})))  # fmt: skip
        scalar(conn, admin, "select api.learning_publish_course(%s)", (course["id"],))
        conn.commit()
    return {"admin": admin, "player": player, "learner": learner, "challenge": challenge,
            "course": course["id"], "lesson": lesson}  # fmt: skip


def client(gw, token: str):
    opts = ClientOptions(
        schema="api",
        auto_refresh_token=False,
        persist_session=False,
        headers={"Authorization": f"Bearer {token}"},
    )
    return create_client(gw.url, gw.anon_key, options=opts)


def token(user) -> str:
    return tokens.sign(user.claims, config.Settings.from_env().jwt_secret)


def key_token(gw, owner_client, scopes: list[str]) -> str:
    key = owner_client.rpc("accounts_create_api_key", {"p_name": "hooks", "p_scopes": scopes})
    secret = key.execute().data["key"]
    answer = httpx.post(f"{gw.url}/functions/v1/api-keys/token", json={"api_key": secret})
    return answer.json()["access_token"]


def deliver_until(worker: Worker, rx: Receiver, count: int, timeout: float = 60) -> list:
    deadline = time.monotonic() + timeout
    while len(rx.received) < count and time.monotonic() < deadline:
        worker.run_once()
    return rx.wait_for(count, timeout=1)


def verify_js(secret: str, request) -> dict:
    return run_node(
        VERIFY_JS,
        env={
            "WEBHOOK_SECRET": secret,
            "WEBHOOK_BODY": request.body.decode(),
            "WEBHOOK_HEADERS": json.dumps(request.headers),
        },
        package="standardwebhooks",
    )


def test_register_solve_receive_verify_replay(fresh_db, test_server):
    app_url = with_database(fresh_db, urlsplit(fresh_db).path.lstrip("/"), test_server.app_user)
    scene = build_scene(fresh_db)
    queue = WebhookQueue(local_settings())
    with Receiver() as rx, serve_gateway(app_url) as gw, Worker(app_url, queues=[queue]) as w:
        admin = client(gw, token(scene["admin"]))
        endpoint = (
            admin.rpc(
                "events_create_endpoint",
                {"p_url": rx.url, "p_topics": TOPICS, "p_description": "partner LMS"},
            )
            .execute()
            .data
        )
        secret = endpoint["secret"]

        player = client(gw, token(scene["player"]))
        solved = (
            player.rpc(
                "ctf_submit", {"p_challenge_id": scene["challenge"], "p_flag": "flag{hooked}"}
            )
            .execute()
            .data
        )
        assert solved["correct"] is True
        learner = client(gw, token(scene["learner"]))
        learner.rpc("learning_enroll", {"p_course_id": scene["course"]}).execute()
        learner.rpc("learning_complete_lesson", {"p_lesson_id": scene["lesson"]}).execute()

        received = deliver_until(w, rx, 4)
        events = {}
        for request in received:
            event = Webhook(secret).verify(request.body, request.headers)  # the official lib
            events[event["type"]] = (event, request)
        assert sorted(events) == TOPICS
        solve, solve_request = events["ctf.solve"]
        assert solve["data"]["challenge_id"] == scene["challenge"]
        assert solve["data"]["user_id"] == scene["player"].id
        assert events["ctf.first_blood"][0]["data"]["solve_id"] == solve["data"]["solve_id"]
        completion = events["learning.course_completed"][0]["data"]
        assert (completion["user_id"], completion["course_id"]) == (
            scene["learner"].id,
            scene["course"],
        )
        certificate = events["certificate.issued"][0]["data"]
        assert certificate["user_id"] == scene["learner"].id and certificate["code"]
        assert verify_js(secret, solve_request) == {"ok": True, "event": solve}
        forged = {**solve_request.headers, "webhook-signature": "v1,Zm9yZ2Vk"}
        assert verify_js(secret, type(solve_request)(
            solve_request.path, forged, solve_request.body, solve_request.at
        ))["ok"] is False  # fmt: skip

        # An integration replays the solve with an API key holding webhooks:manage.
        integration = client(gw, key_token(gw, admin, ["webhooks:manage"]))
        queued = (
            integration.rpc(
                "events_replay_message",
                {
                    "p_endpoint_id": endpoint["id"],
                    "p_message_id": solve_request.headers["webhook-id"],
                },
            )
            .execute()
            .data
        )
        assert queued == 1
        again = deliver_until(w, rx, 5)[4]
        assert again.headers["webhook-id"] == solve_request.headers["webhook-id"]
        assert Webhook(secret).verify(again.body, again.headers) == solve
        log = integration.from_("events_delivery_attempts").select("*").execute().data
        assert len(log) == 5 and {a["outcome"] for a in log} == {"delivered"}
        assert all("secret" not in a for a in log)

        # A key without the scope, and a non-admin's key with it, are refused.
        reader = client(gw, key_token(gw, admin, ["ctf:scores:read"]))
        with pytest.raises(APIError) as refused:
            since = {"p_endpoint_id": endpoint["id"], "p_since": "2026-01-01T00:00:00Z"}
            reader.rpc("events_replay_since", since).execute()
        assert refused.value.hint == "scope_missing"
        with pytest.raises(APIError) as refused:
            reader.from_("events_endpoints").select("id").execute()
        assert refused.value.hint == "scope_missing"
        player_key = client(gw, key_token(gw, player, ["webhooks:manage"]))
        with pytest.raises(APIError) as refused:
            player_key.rpc("events_create_endpoint", {"p_url": rx.url}).execute()
        assert refused.value.hint == "forbidden"
