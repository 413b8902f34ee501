"""Journeys through the real clients — supabase-js (Node) and supabase-py — on the gateway."""

from __future__ import annotations

import json
import time

import httpx
import jwt
import pytest

from flagship import config
from flagship.database import connect
from flagship.testing import shapes
from flagship.testing.node import run_node

from . import journeys

ROOT = config.ROOT
SCRIPT = ROOT / "tests" / "js" / "journeys.mjs"


@pytest.fixture(scope="module")
def scene(gateway, gateway_db) -> dict:
    built = journeys.build(gateway_db[0])
    settings = config.Settings.from_env()
    claims = {
        "sub": built["users"]["learner"]["id"],
        "role": "authenticated",
        "aud": "authenticated",
        "iss": settings.jwt_issuer,
        "exp": int(time.time()) - 60,
    }
    built["expired_token"] = jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
    return built


@pytest.fixture(scope="module")
def shape_of(gateway_db):
    """Validate a result the clients received over HTTP against its declared shape (what
    the generated SDK types promise them)."""
    conn = connect(gateway_db[0])
    try:
        yield lambda fn, value: shapes.check(conn, f"api.{fn}", value)
    finally:
        conn.close()


def run_js(gateway, scene, journey: str) -> dict:
    return run_node(
        SCRIPT,
        journey,
        env={
            "SUPABASE_URL": gateway.url,
            "SUPABASE_ANON_KEY": gateway.anon_key,
            "SCENE": json.dumps(scene),
        },
    )


def test_js_player_team_challenges_flags_scoreboard(gateway, scene, shape_of):
    r = run_js(gateway, scene, "player")
    shape_of("ctf_create_team", r["team"])
    shape_of("ctf_submit", r["wrong"])
    shape_of("ctf_submit", r["right"])
    assert r["signed_in"] == scene["users"]["player"]["id"]
    assert r["team_error"] is None and r["team"]["invite_code"]
    assert r["join_error"] is None and r["join"] == r["team"]["team_id"]
    assert r["list_error"] is None
    assert [c["title"] for c in r["challenges"]] == ["Warmup"]
    assert r["challenges"][0]["solved"] is False
    assert r["wrong_error"] is None and r["wrong"]["correct"] is False
    assert r["right_error"] is None and r["right"]["correct"] is True
    assert r["board_error"] is None
    mine = [row for row in r["scoreboard"] if row["team_id"] == r["team"]["team_id"]]
    assert mine and mine[0]["score"] == 100 and mine[0]["pos"] == 1
    assert r["after"] == [{"title": "Warmup", "solved": True}]


def test_js_learner_browse_enroll_complete(gateway, scene):
    r = run_js(gateway, scene, "learner")
    assert r["browse_error"] is None
    assert r["browse"] == [{"id": scene["course"], "title": scene["course_title"]}]
    assert r["count"] == 1 and r["status"] == 200
    assert r["one"] == {"id": scene["course"], "title": scene["course_title"]}
    assert r["tree_error"] is None
    modules = r["tree"]["learning_course_modules"]
    assert [m["title"] for m in modules] == ["Foundations"]
    # Two levels through views: the lessons' outline of a published course is public.
    assert modules[0]["learning_course_lessons"] == [{"title": "Intro"}, {"title": "Headers"}]
    assert r["enroll_error"] is None
    assert [lesson["error"] for lesson in r["lessons"]] == [None, None]
    assert r["anon_enroll_status"] == 401
    assert r["anon_enroll_error"]["code"] == "42501"


def test_js_member_thread_report_moderation(gateway, scene):
    r = run_js(gateway, scene, "member")
    assert r["thread_error"] is None and isinstance(r["thread"], int)
    assert r["report_error"] is None
    assert r["queue_error"] is None
    assert r["queue"]["status"] == "pending" and r["queue"]["flag_count"] == 1
    assert r["decide_error"] is None and r["decide"] == r["queue"]["version"] + 1
    assert r["after"] == {"status": "agreed"}
    assert r["reporter_queue"] == []  # not a moderator: the queue is empty for them


def test_js_error_shapes(gateway, scene):
    r = run_js(gateway, scene, "errors")
    assert r["bad"]["status"] == 401 and r["bad"]["error"]["code"] == "PGRST301"
    assert r["expired"]["status"] == 401
    assert r["expired"]["error"] == {
        "code": "PGRST303",
        "message": "JWT expired",
        "details": None,
        "hint": None,
    }
    assert r["missing_apikey"] == {
        "status": 401,
        "body": {"message": "No API key found in request"},
    }
    unknown = r["unknown"]
    assert unknown["status"] == 404 and unknown["error"]["code"] == "PGRST202"
    assert unknown["error"]["message"] == (
        "Could not find the function api.ctf_submitt(p_challenge_id, p_flag) in the schema cache"
    )
    assert unknown["error"]["hint"] == "Perhaps you meant to call the function api.ctf_submit"
    assert r["not_found"]["status"] == 404
    assert r["not_found"]["error"]["code"] == "PT404" and r["not_found"]["error"]["hint"]
    assert r["malformed"]["status"] == 400 and r["malformed"]["error"]["code"] == "22P02"


# -- supabase-py ------------------------------------------------------------------------


def py_client(gateway, token: str | None = None):
    from supabase import ClientOptions, create_client

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    options = ClientOptions(
        schema="api",
        headers=headers,
        auto_refresh_token=False,
        persist_session=False,
        postgrest_client_retry=False,
    )
    return create_client(gateway.url, gateway.anon_key, options)


def test_py_learner_browse_enroll_complete(gateway, scene, shape_of):
    learner = py_client(gateway, scene["users"]["py_learner"]["token"])
    page = (
        py_client(gateway)
        .table("learning_courses")
        .select("id,title", count="exact")
        .ilike("title", f"%{scene['tag']}%")
        .order("title")
        .range(0, 9)
        .execute()
    )
    assert page.data == [{"id": scene["course"], "title": scene["course_title"]}]
    assert page.count == 1
    enrolled = learner.rpc("learning_enroll", {"p_course_id": scene["course"]}).execute()
    shape_of("learning_enroll", enrolled.data)
    for lesson in scene["lessons"]:
        done = learner.rpc("learning_complete_lesson", {"p_lesson_id": lesson}).execute()
        shape_of("learning_complete_lesson", done.data)
    mine = (
        learner.table("learning_course_lessons")
        .select("id")
        .eq("course_id", scene["course"])
        .execute()
    )
    assert sorted(row["id"] for row in mine.data) == sorted(scene["lessons"])


def test_py_player_submits_flags(gateway, scene, shape_of):
    from postgrest.exceptions import APIError

    player = py_client(gateway, scene["users"]["py_player"]["token"])
    team = player.rpc(
        "ctf_create_team", {"p_event_id": scene["event"], "p_name": f"Py {scene['tag']}"}
    ).execute()
    assert team.data["invite_code"]
    shape_of("ctf_create_team", team.data)
    with pytest.raises(APIError) as caught:  # one team per event: a catalogued error
        player.rpc(
            "ctf_create_team", {"p_event_id": scene["event"], "p_name": f"Py2 {scene['tag']}"}
        ).execute()
    assert caught.value.code.startswith("PT") and caught.value.hint.startswith("ctf_")
    wrong = player.rpc(
        "ctf_submit", {"p_challenge_id": scene["challenge"], "p_flag": "flag{nope}"}
    ).execute()
    assert wrong.data["correct"] is False
    shape_of("ctf_submit", wrong.data)
    board = py_client(gateway).rpc("ctf_get_scoreboard", {"p_event_id": scene["event"]}).execute()
    assert all({"pos", "team_name", "score"} <= set(row) for row in board.data)


def test_py_error_shapes(gateway, scene):
    from postgrest.exceptions import APIError

    with pytest.raises(APIError) as caught:
        py_client(gateway).rpc("ctf_no_such_function", {}).execute()
    assert caught.value.code == "PGRST202"
    assert caught.value.message == (
        "Could not find the function api.ctf_no_such_function without parameters in the "
        "schema cache"
    )
    assert caught.value.details.endswith("but no matches were found in the schema cache.")
    with pytest.raises(APIError) as caught:
        py_client(gateway, "x.y.z").table("learning_courses").select("id").execute()
    assert caught.value.code == "PGRST301"
    with pytest.raises(APIError) as caught:
        py_client(gateway, scene["users"]["learner"]["token"]).table("learning_courses").update(
            {"title": "x"}
        ).execute()
    assert caught.value.code == "21000"
    assert caught.value.message == "UPDATE requires a WHERE clause"


def test_submissions_through_rest_record_the_peer_not_a_forged_address(gateway, gateway_db, scene):
    """The gateway resolves the client address (trusted proxies only, none by default) and
    hands it to SQL; a client's own X-Forwarded-For is not what gets recorded."""
    from flagship.database import connect
    from flagship.testing.harness import as_user, create_user

    with connect(gateway_db[0]) as conn:
        user = create_user(conn, username=f"ip_{scene['tag']}")
        with as_user(conn, user):
            conn.execute(
                "select api.ctf_create_team(%s, %s)", (scene["event"], f"Ip {scene['tag']}")
            )
        conn.commit()
    headers = {
        "apikey": gateway.anon_key,
        "Authorization": f"Bearer {journeys.token(user)}",
        "Content-Profile": "api",
        "X-Forwarded-For": "203.0.113.9",
    }
    answer = httpx.post(
        f"{gateway.url}/rest/v1/rpc/ctf_submit",
        json={"p_challenge_id": scene["challenge"], "p_flag": "flag{nope}"},
        headers=headers,
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    with connect(gateway_db[0]) as conn:
        row = conn.execute(
            "select host(ip) as ip from ctf.submissions where user_id = %s", (user.id,)
        ).fetchone()
    assert row["ip"] == "127.0.0.1"
