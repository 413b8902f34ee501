"""Scoreboard, ties, brackets, freeze, graph, CTFtime feed, and incremental == recompute."""

from __future__ import annotations

import json
import random

import pytest
from ctfkit import create_user, make_challenge, make_team, q, set_event, submit, val


def board(db, who, event, bracket=None):
    return [
        (b["team_name"], b["score"])
        for b in q(db, who, "select * from api.ctf_get_scoreboard(%s, %s)", (event, bracket))
    ]


def backdate(db, team, minutes):
    db.execute(
        "update ctf.solves set solved_at = now() - %s * interval '1 minute' where team_id = %s",
        (minutes, team),
    )


def test_ties_broken_by_time_and_brackets(db, ctf):
    submit(db, ctf.other_player, ctf.challenge, "flag{one}")
    submit(db, ctf.player, ctf.challenge, "flag{one}")
    backdate(db, ctf.team_a, 10)
    backdate(db, ctf.team_b, 5)
    # moving rows by hand is exactly what the recompute is for
    assert val(db, ctf.organiser, "select api.ctf_recompute_standings(%s)", (ctf.event,)) == 2
    assert board(db, "anon", ctf.event) == [("Alpha", 100), ("Bravo", 100)]
    student = db.execute(
        "select id::text as id from ctf.brackets where name = 'student'"
    ).fetchone()["id"]
    db.execute("update ctf.teams set bracket_id = %s where id = %s", (student, ctf.team_b))
    val(db, ctf.organiser, "select api.ctf_recompute_standings(%s)", (ctf.event,))
    assert board(db, "anon", ctf.event, student) == [("Bravo", 100)]
    page = val(db, "anon", "select api.ctf_get_team_page(%s)", (ctf.team_b,))
    assert page["position"] == 2 and page["score"] == 100 and len(page["solves"]) == 1
    assert [m["username"] for m in page["members"]] == [None]  # members-only profile
    page = val(db, ctf.player, "select api.ctf_get_team_page(%s)", (ctf.team_b,))
    assert [m["username"] for m in page["members"]] == ["player_b"]
    feed = val(db, "anon", "select api.ctf_get_ctftime_feed(%s)", (ctf.event,))
    assert feed == {
        "standings": [
            {"pos": 1, "team": "Alpha", "score": 100},
            {"pos": 2, "team": "Bravo", "score": 100},
        ]
    }
    stats = q(
        db,
        "anon",
        "select * from api.ctf_challenge_stats where challenge_id = %s",
        (ctf.challenge,),
    )[0]
    assert stats["solve_count"] == 2 and str(stats["first_blood_team_id"]) == ctf.team_b


def test_freeze(db, ctf):
    second = make_challenge(
        db, ctf.organiser, ctf.event, {"title": "two", "initial": 200}, [("static", "flag{two}")]
    )
    submit(db, ctf.player, ctf.challenge, "flag{one}")
    backdate(db, ctf.team_a, 30)
    val(db, ctf.organiser, "select api.ctf_recompute_standings(%s)", (ctf.event,))
    set_event(db, ctf.event, freeze_at="now() - interval '1 minute'")
    # frozen, but nothing changed yet: everyone sees the same standings
    assert board(db, "anon", ctf.event) == [("Alpha", 100)]
    submit(db, ctf.other_player, second, "flag{two}")
    assert db.execute(
        "select frozen_snapshot_at is not null as f from ctf.events where id = %s", (ctf.event,)
    ).fetchone()["f"]
    assert board(db, "anon", ctf.event) == [("Alpha", 100)]
    assert board(db, ctf.player, ctf.event) == [("Alpha", 100)]
    assert board(db, ctf.other_organiser, ctf.event) == [("Alpha", 100)]
    assert board(db, ctf.organiser, ctf.event) == [("Bravo", 200), ("Alpha", 100)]
    assert board(db, ctf.admin, ctf.event) == [("Bravo", 200), ("Alpha", 100)]
    # the post-freeze solve is hidden from other teams, shown to its own team
    sql = "select count(*) as n from api.ctf_solves where event_id = %s"
    assert q(db, "anon", sql, (ctf.event,))[0]["n"] == 1
    assert q(db, ctf.other_player, sql, (ctf.event,))[0]["n"] == 2
    assert q(db, "anon", "select count(*) as n from ctf.standings")[0]["n"] == 0
    graph = val(db, "anon", "select api.ctf_get_score_graph(%s)", (ctf.event,))
    assert [g["team"] for g in graph] == ["Alpha"] and graph[0]["points"][-1]["score"] == 100
    # moving the freeze discards the snapshot
    val(db, ctf.organiser, "select api.ctf_update_event(%s, '{\"freeze_at\": null}')", (ctf.event,))
    assert board(db, "anon", ctf.event) == [("Bravo", 200), ("Alpha", 100)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_equals_recompute(db, ctf, seed):
    """Random solves, wrong flags, awards, hint unlocks, team changes, bans, edits and deleted
    solves: after every step the kept standings equal a from-scratch computation."""
    rng = random.Random(seed)
    set_event(db, ctf.event, wrong_per_minute="1000", team_size_limit="null")
    players = [ctf.player, ctf.teammate, ctf.other_player]
    for i in range(5):
        user = create_user(db, username=f"prop_{seed}_{i}")
        make_team(db, user, ctf.event, f"Team {seed}-{i}")
        players.append(user)
    challenges = [ctf.challenge]
    for i, (scoring, bonus) in enumerate(
        [("linear", []), ("logarithmic", [1.05, 1.03, 1.01]), ("rctf", [1.1]), ("static", [])]
    ):
        challenges.append(
            make_challenge(
                db,
                ctf.organiser,
                ctf.event,
                {
                    "title": f"p{i}",
                    "scoring": scoring,
                    "initial": 500,
                    "minimum": 50,
                    "decay": 4,
                    "first_blood_bonus": bonus,
                },
                [("static", f"flag{{p{i}}}")],
            )
        )
    flags = {
        c: ("flag{one}" if c == ctf.challenge else f"flag{{p{i - 1}}}")
        for i, c in enumerate(challenges)
    }
    hints = [
        val(db, ctf.organiser, "select api.ctf_add_hint(%s, 'h', %s)", (c, rng.choice([0, 10])))
        for c in challenges
    ]
    awards: list[int] = []

    def team_of(user):
        r = db.execute(
            "select team_id::text as t from ctf.participants where user_id = %s and event_id = %s",
            (user.id, ctf.event),
        ).fetchone()
        return r and r["t"]

    def attempt(fn, *args):
        db.execute("savepoint step")
        try:
            fn(*args)
        except Exception as exc:  # refusals (banned, no team, insufficient points) are fine
            if getattr(getattr(exc, "diag", None), "message_hint", None) is None:
                raise
            db.execute("rollback to savepoint step")
        else:
            db.execute("release savepoint step")

    for step in range(60):
        op = rng.choice(
            [
                "solve",
                "solve",
                "solve",
                "wrong",
                "award",
                "unaward",
                "hint",
                "leave",
                "join",
                "ban",
                "hide",
                "edit",
                "delete",
            ]
        )
        who = rng.choice(players)
        c = rng.choice(challenges)
        if op == "solve":
            attempt(submit, db, who, c, flags[c])
        elif op == "wrong":
            attempt(submit, db, who, c, "nope")
        elif op == "award" and team_of(who):
            awards.append(
                val(
                    db,
                    ctf.organiser,
                    "select api.ctf_grant_award(%s, %s, %s, 'r')",
                    (ctf.event, team_of(who), rng.choice([-20, 15, 40])),
                )
            )
        elif op == "unaward" and awards:
            val(
                db,
                ctf.organiser,
                "select api.ctf_remove_award(%s, 'r')",
                (awards.pop(rng.randrange(len(awards))),),
            )
        elif op == "hint":
            attempt(val, db, who, "select api.ctf_unlock_hint(%s)", (rng.choice(hints),))
        elif op == "leave":
            attempt(val, db, who, "select api.ctf_leave_team(%s)", (ctf.event,))
        elif op == "join" and not team_of(who):
            code = db.execute(
                "select invite_code from ctf.teams where event_id = %s order by random() limit 1",
                (ctf.event,),
            ).fetchone()["invite_code"]
            attempt(val, db, who, "select api.ctf_join_team(%s)", (code,))
        elif op in ("ban", "hide") and team_of(who):
            flag = rng.random() < 0.6
            args = (team_of(who), flag, None) if op == "ban" else (team_of(who), None, flag)
            val(db, ctf.organiser, "select api.ctf_moderate_team(%s, %s, %s, 'r')", args)
        elif op == "edit":
            val(
                db,
                ctf.organiser,
                "select api.ctf_save_challenge(%s, %s::jsonb, %s)",
                (
                    ctf.event,
                    json.dumps({"decay": rng.randint(1, 6), "initial": rng.choice([300, 500])}),
                    c,
                ),
            )
        elif op == "delete":
            solve = db.execute(
                "select id from ctf.solves where event_id = %s order by random() limit 1",
                (ctf.event,),
            ).fetchone()
            if solve:
                val(db, ctf.organiser, "select api.ctf_delete_solve(%s, 'r')", (solve["id"],))
        mismatches = db.execute(
            "select private.ctf_standings_mismatches(%s) as m", (ctf.event,)
        ).fetchone()["m"]
        assert mismatches == [], f"step {step} ({op}): {mismatches}"
    assert db.execute("select count(*) as n from ctf.solves").fetchone()["n"] > 0
    assert val(db, ctf.organiser, "select api.ctf_recompute_standings(%s)", (ctf.event,)) == 0
