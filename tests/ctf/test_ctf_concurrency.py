"""Real parallel connections: a team solves once; concurrent dynamic solves never deadlock and
leave standings equal to a from-scratch recompute."""

from __future__ import annotations

import random
import threading

import psycopg
from ctfkit import build_scene, create_user, make_challenge, make_team, set_event

from flagship.database import connect
from flagship.testing.harness import as_user


def run_parallel(url, jobs):
    """Run each job(conn) in its own thread and connection, released together by a barrier."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)
    errors: list = []

    def worker(i, job):
        try:
            with connect(url) as conn:
                barrier.wait(timeout=30)
                results[i] = job(conn)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i, j)) for i, j in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    return results


def submit_as(user, challenge, flag):
    def job(conn):
        with conn.transaction(), as_user(conn, user):
            return conn.execute("select api.ctf_submit(%s, %s) as r", (challenge, flag)).fetchone()[
                "r"
            ]

    return job


def test_two_teammates_same_instant_one_solve(fresh_db):
    with connect(fresh_db) as db:
        scene = build_scene(db)
        challenges = [
            make_challenge(
                db,
                scene.organiser,
                scene.event,
                {
                    "title": f"race {i}",
                    "scoring": "linear",
                    "initial": 300,
                    "minimum": 100,
                    "decay": 10,
                },
                [("static", f"race{{{i}}}")],
            )
            for i in range(12)
        ]
        db.commit()
    for i, challenge in enumerate(challenges):
        results = run_parallel(
            fresh_db,
            [
                submit_as(scene.player, challenge, f"race{{{i}}}"),
                submit_as(scene.teammate, challenge, f"race{{{i}}}"),
            ],
        )
        assert sorted(r["status"] for r in results) == ["already_solved", "correct"]
    with connect(fresh_db) as db:
        rows = db.execute(
            "select challenge_id, count(*) as n from ctf.solves group by challenge_id"
        ).fetchall()
        assert len(rows) == 12 and all(r["n"] == 1 for r in rows)
        assert (
            db.execute(
                "select score from ctf.standings where team_id = %s", (scene.team_a,)
            ).fetchone()["score"]
            == 12 * 300
        )
        assert (
            db.execute("select count(*) as n from ops.outbox where topic = 'ctf.solve'").fetchone()[
                "n"
            ]
            == 12
        )
        assert (
            db.execute(
                "select private.ctf_standings_mismatches(%s) as m", (scene.event,)
            ).fetchone()["m"]
            == []
        )


def test_concurrent_dynamic_solves_do_not_deadlock(fresh_db):
    rng = random.Random(7)
    with connect(fresh_db) as db:
        scene = build_scene(db)
        set_event(db, scene.event, team_size_limit="null")
        players = [scene.player, scene.other_player]
        for i in range(6):
            user = create_user(db, username=f"racer_{i}")
            make_team(db, user, scene.event, f"Racers {i}")
            players.append(user)
        challenges = [
            make_challenge(
                db,
                scene.organiser,
                scene.event,
                {
                    "title": f"dyn {i}",
                    "scoring": kind,
                    "initial": 500,
                    "minimum": 50,
                    "decay": 5,
                    "first_blood_bonus": [1.05, 1.03, 1.01],
                },
                [("static", f"dyn{{{i}}}")],
            )
            for i, kind in enumerate(["linear", "logarithmic", "rctf", "linear", "logarithmic"])
        ]
        db.commit()

    def player_job(user):
        order = challenges[:]
        rng.shuffle(order)

        def job(conn):
            out = []
            for c in order:
                with conn.transaction(), as_user(conn, user):
                    i = challenges.index(c)
                    out.append(
                        conn.execute(
                            "select api.ctf_submit(%s, %s) as r", (c, f"dyn{{{i}}}")
                        ).fetchone()["r"]["status"]
                    )
            return out

        return job

    results = run_parallel(fresh_db, [player_job(u) for u in players])
    assert all(status == "correct" for r in results for status in r)
    with connect(fresh_db) as db:
        assert (
            db.execute(
                "select private.ctf_standings_mismatches(%s) as m", (scene.event,)
            ).fetchone()["m"]
            == []
        )
        ranks = db.execute(
            "select challenge_id, array_agg(blood_rank order by blood_rank) as r"
            " from ctf.solves group by challenge_id"
        ).fetchall()
        assert all(r["r"] == list(range(1, 9)) for r in ranks)


def guess_as(user, challenge, flag):
    """A submit job that reports refusals (the API error code) instead of raising them."""

    def job(conn):
        try:
            with conn.transaction(), as_user(conn, user):
                return conn.execute(
                    "select api.ctf_submit(%s, %s) as r", (challenge, flag)
                ).fetchone()["r"]["status"]
        except psycopg.Error as exc:
            return exc.diag.message_hint

    return job


def test_parallel_guesses_never_exceed_max_attempts(fresh_db):
    """9 parallel guesses (8 wrong, 1 right) on a max_attempts = 2 challenge: at most 2 wrong
    flags are evaluated, and the right one only wins while attempts are left."""
    with connect(fresh_db) as db:
        scene = build_scene(db)
        set_event(db, scene.event, team_size_limit="null", wrong_per_minute="1000")
        mates = [scene.player, scene.teammate]
        for i in range(7):
            user = create_user(db, username=f"guesser_{i}")
            db.execute(
                "insert into ctf.participants (event_id, user_id, team_id) values (%s, %s, %s)",
                (scene.event, user.id, scene.team_a),
            )
            mates.append(user)
        lock = make_challenge(
            db,
            scene.organiser,
            scene.event,
            {"title": "lock", "max_attempts": 2},
            [("static", "l{right}")],
        )
        db.commit()
    for round_ in range(3):
        flags = [f"wrong{round_}-{i}" for i in range(8)] + ["l{right}"]
        results = run_parallel(
            fresh_db, [guess_as(u, lock, f) for u, f in zip(mates, flags, strict=True)]
        )
        assert results.count("incorrect") <= 2, results
        allowed = {"incorrect", "correct", "already_solved", "ctf_attempts_exhausted"}
        assert set(results) <= allowed, results
        with connect(fresh_db) as db:
            wrong = db.execute(
                "select count(*) as n from ctf.submissions where challenge_id = %s"
                " and result = 'incorrect'",
                (lock,),
            ).fetchone()["n"]
            assert wrong <= 2
            # next round: a fresh counter
            db.execute("delete from ctf.team_attempts where challenge_id = %s", (lock,))
            db.execute("delete from ctf.submissions where challenge_id = %s", (lock,))
            db.execute("delete from ctf.solves where challenge_id = %s", (lock,))
            db.execute("select private.ctf_recompute_event(%s)", (scene.event,))
            db.commit()


def test_parallel_wrong_flags_never_exceed_the_per_minute_limit(fresh_db):
    with connect(fresh_db) as db:
        scene = build_scene(db)
        set_event(db, scene.event, wrong_per_minute="3")
        db.commit()
    results = run_parallel(
        fresh_db, [guess_as(scene.player, scene.challenge, f"no{i}") for i in range(9)]
    )
    assert results.count("incorrect") == 3, results
    assert results.count("rate_limited") == 6, results
