"""The top-100 scoreboard document: what readers get equals the standings after every kind of
change (before any rebuild), the stored document equals them after the worker's rebuild, the
freeze is respected, no solve waits for the document, nothing is stale under parallel solves,
and it is served over HTTP with a strong ETag (If-None-Match -> 304)."""

from __future__ import annotations

import json

import httpx
from ctfkit import build_scene, make_challenge, make_team, set_event, submit
from test_ctf_concurrency import run_parallel, submit_as

from flagship.database import connect
from flagship.testing.harness import api_error, create_user, denied, query, scalar
from flagship.tokens import mint_for_user

COLUMNS = "pos, team_id, team_name, bracket_id, score, solve_count, last_score_at"


def computed(db, who, event: str) -> list[dict]:
    """The top 100 computed from the standings (a bracket-less page read beside the doc)."""
    rows = query(
        db,
        who,
        "select s.team_id, t.name as team_name, s.bracket_id, s.score, s.solve_count,"
        " s.last_score_at from ctf.standings as s join ctf.teams as t on t.id = s.team_id"
        " where s.event_id = %s and s.ranked and s.last_score_at is not null"
        " order by s.score desc, s.last_score_at, s.team_id limit 100",
        (event,),
    )
    return [{"pos": i + 1, **r} for i, r in enumerate(rows)]


def stored(db, event: str, frozen: bool = False) -> list[dict]:
    """The stored document after the worker's rebuild (and it is then current)."""
    db.execute("select private.ctf_refresh_boards()")
    db.commit()
    row = db.execute(
        "select rows, etag, md5(rows::text) = etag as ok, private.ctf_board_current(d) as current"
        " from ctf.scoreboards as d where event_id = %s and frozen = %s",
        (event, frozen),
    ).fetchone()
    assert row is not None and row["ok"] and row["current"]
    return row["rows"]


def served(db, event: str, frozen: bool = False) -> dict:
    """What a reader gets now: the stored document if current, else computed."""
    return db.execute(
        "select to_jsonb(private.ctf_board(%s, %s)) as d", (event, frozen)
    ).fetchone()["d"]


def is_current(db, event: str, frozen: bool = False) -> bool:
    row = db.execute(
        "select private.ctf_board_current(d) as c from ctf.scoreboards as d"
        " where event_id = %s and frozen = %s",
        (event, frozen),
    ).fetchone()
    return bool(row and row["c"])


def as_json(rows: list[dict]) -> list[dict]:
    return json.loads(json.dumps(rows, default=str))


def normalise(rows: list[dict]) -> list[tuple]:
    return [
        (r["pos"], str(r["team_id"]), r["team_name"], r["score"], r["solve_count"]) for r in rows
    ]


def test_same_transaction_reads_its_own_changes(db, ctf):
    assert submit(db, ctf.player, ctf.challenge, "flag{one}")["status"] == "correct"
    doc = scalar(db, ctf.other_player, "select api.ctf_get_scoreboard_document(%s)", (ctf.event,))
    assert [(r["team_id"], r["score"]) for r in doc["rows"]] == [(ctf.team_a, 100)]
    assert doc["frozen"] is False
    rows = query(
        db, ctf.other_player, f"select {COLUMNS} from api.ctf_get_scoreboard(%s)", (ctf.event,)
    )
    assert normalise(rows) == normalise(doc["rows"])


def test_unknown_or_invisible_event_is_not_found(db, ctf):
    with api_error(db, "ctf_event_not_found", "PT404"):
        scalar(db, "anon", "select api.ctf_get_scoreboard_document(gen_random_uuid())")
    set_event(db, ctf.event, visibility="'private'")
    with api_error(db, "ctf_event_not_found", "PT404"):
        scalar(db, ctf.outsider, "select api.ctf_get_scoreboard_document(%s)", (ctf.event,))


def test_document_follows_every_change_at_commit(fresh_db):
    """Committed solves, dynamic re-scoring, awards, renames, hides, deleted solves and the
    freeze: after each commit the stored document is out of date and readers get the rows
    computed from the standings (same etag as a rebuild would give); after the rebuild the
    stored document equals the standings and is current."""
    with connect(fresh_db) as db:
        s = build_scene(db)
        dyn = make_challenge(
            db,
            s.organiser,
            s.event,
            {"title": "dyn", "scoring": "linear", "initial": 500, "minimum": 100, "decay": 50},
            [("static", "flag{dyn}")],
        )
        db.commit()
        steps = [
            lambda: submit(db, s.player, s.challenge, "flag{one}"),
            lambda: submit(db, s.other_player, dyn, "flag{dyn}"),
            lambda: submit(db, s.player, dyn, "flag{dyn}"),  # moves dyn: B re-scored
            lambda: scalar(
                db, s.organiser, "select api.ctf_grant_award(%s, %s, 75, 'x')", (s.event, s.team_b)
            ),
            lambda: scalar(
                db, s.player, "select api.ctf_rename_team(%s, 'Renamed A')", (s.team_a,)
            ),
            lambda: scalar(
                db, s.organiser, "select api.ctf_moderate_team(%s, null, true, 'hide')", (s.team_b,)
            ),
        ]
        for step in steps:
            step()
            db.commit()
            assert not is_current(db, s.event)
            now = served(db, s.event)
            expected = normalise(computed(db, "service_role", s.event))
            assert normalise(now["rows"]) == expected
            db.commit()
            assert normalise(stored(db, s.event)) == expected
            assert served(db, s.event)["etag"] == now["etag"]
            db.commit()
        assert stored(db, s.event)[0]["team_name"] == "Renamed A"
        # the freeze: players read the frozen document, organisers the live one
        scalar(
            db, s.organiser, "select api.ctf_moderate_team(%s, null, false, 'unhide')", (s.team_b,)
        )
        set_event(db, s.event, freeze_at="now() - interval '1 minute'")
        db.commit()
        static2 = make_challenge(
            db, s.organiser, s.event, {"title": "late", "initial": 40}, [("static", "flag{late}")]
        )
        db.commit()
        submit(db, s.other_player, static2, "flag{late}")  # takes the snapshot first
        db.commit()
        frozen = stored(db, s.event, frozen=True)
        live = stored(db, s.event)
        assert frozen != live
        player_view = scalar(
            db, s.outsider, "select api.ctf_get_scoreboard_document(%s)", (s.event,)
        )
        org_view = scalar(db, s.organiser, "select api.ctf_get_scoreboard_document(%s)", (s.event,))
        db.commit()
        assert player_view["frozen"] is True and player_view["rows"] == frozen
        assert org_view["frozen"] is False and org_view["rows"] == live
        # a rename shows in the frozen document too
        scalar(db, s.other_player, "select api.ctf_rename_team(%s, 'B2')", (s.team_b,))
        db.commit()
        assert "B2" in {r["team_name"] for r in stored(db, s.event, frozen=True)}


def test_parallel_solves_leave_the_document_exact(fresh_db):
    """16 teams solve dynamic challenges at once, from 16 connections: readers get every
    solve at once, and the rebuild after them stores every solve."""
    with connect(fresh_db) as db:
        s = build_scene(db)
        challenges = [
            make_challenge(
                db,
                s.organiser,
                s.event,
                {"title": f"p{i}", "scoring": "linear", "initial": 400, "minimum": 50, "decay": 7},
                [("static", f"flag{{p{i}}}")],
            )
            for i in range(3)
        ]
        players = []
        for i in range(16):
            user = create_user(db, username=f"par_{i}")
            make_team(db, user, s.event, f"par team {i}")
            players.append(user)
        db.commit()
    for round_ in range(3):
        jobs = [
            submit_as(p, challenges[(i + round_) % 3], f"flag{{p{(i + round_) % 3}}}")
            for i, p in enumerate(players)
        ]
        results = run_parallel(fresh_db, jobs)
        assert all(r["status"] == "correct" for r in results)
        with connect(fresh_db) as db:
            expected = normalise(computed(db, "service_role", s.event))
            assert normalise(served(db, s.event)["rows"]) == expected
            db.commit()
            assert normalise(stored(db, s.event)) == expected
            # the rebuild pruned the changes its snapshot saw
            assert (
                db.execute("select count(*) as n from ctf.scoreboard_changes").fetchone()["n"] == 0
            )


def test_clients_cannot_touch_the_document_tables(db, ctf):
    for who in ("anon", ctf.player, ctf.organiser):
        for table in ("ctf.scoreboards", "ctf.scoreboard_changes"):
            with denied(db):
                query(db, who, f"select * from {table}")


def test_http_etag_and_304(served):
    """A real HTTP client through /rest/v1: the strong ETag, 304 on If-None-Match, a new tag
    after a solve (never a stale board), and the frozen board for players."""
    admin, _, gw = served
    with connect(admin) as db:
        s = build_scene(db)
        db.commit()
    _, token = mint_for_user(admin, str(s.other_player.id))
    headers = {"apikey": gw.anon_key, "Authorization": f"Bearer {token}"}
    url = f"{gw.url}/rest/v1/rpc/ctf_get_scoreboard_document"
    with httpx.Client(headers=headers, timeout=10) as http:
        first = http.get(url, params={"p_event_id": s.event})
        assert first.status_code == 200, first.text
        etag = first.headers["etag"]
        assert etag.startswith('"') and not etag.startswith("W/")
        assert first.headers["cache-control"] == "private, no-cache"
        assert first.json()["rows"] == []
        again = http.get(url, params={"p_event_id": s.event}, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag
        other = http.get(
            url, params={"p_event_id": s.event}, headers={"If-None-Match": '"something-else"'}
        )
        assert other.status_code == 200
        with connect(admin) as db:
            submit(db, s.player, s.challenge, "flag{one}")
            db.commit()
        after = http.get(url, params={"p_event_id": s.event}, headers={"If-None-Match": etag})
        assert after.status_code == 200
        assert after.headers["etag"] != etag
        assert [r["score"] for r in after.json()["rows"]] == [100]
        missing = http.get(url, params={"p_event_id": "00000000-0000-0000-0000-000000000000"})
        assert missing.status_code == 404 and missing.json()["hint"] == "ctf_event_not_found"
