"""Dynamic points as a per-challenge term: a solve writes one standings row whatever the number
of earlier solvers, exact scores (ctf.standings, the document, the team page) always equal a
from-scratch recomputation, before and after the worker settles, in parallel too."""

from __future__ import annotations

import json
import random
import threading

from ctfkit import make_challenge, make_team, set_event, submit
from test_ctf_concurrency import run_parallel, submit_as

from flagship.database import connect
from flagship.testing.harness import create_user, scalar

DYNAMIC = [("linear", []), ("logarithmic", [1.05, 1.03, 1.01]), ("rctf", [1.1]), ("linear", [2])]


def settle(db, challenge) -> int:
    """What the worker runs after a solve."""
    return db.execute("select private.ctf_settle_challenge(%s) as n", (challenge,)).fetchone()["n"]


def mismatches(db, event):
    return db.execute("select private.ctf_standings_mismatches(%s) as m", (event,)).fetchone()["m"]


def exact_top(db, event):
    """The top 100 from a from-scratch computation (no stored score involved)."""
    return [
        (str(r["team_id"]), r["score"])
        for r in db.execute(
            "select team_id, score from private.ctf_standings_from_scratch(%s)"
            " where ranked and last_score_at is not null"
            " order by score desc, last_score_at, team_id limit 100",
            (event,),
        )
    ]


def document_top(db, event):
    rows = db.execute("select (private.ctf_board(%s, false)).rows as r", (event,)).fetchone()["r"]
    return [(r["team_id"], r["score"]) for r in rows]


def unsettled(db, event):
    return db.execute(
        "select count(*) as n from ctf.challenges where event_id = %s and value <> scored_value",
        (event,),
    ).fetchone()["n"]


def dynamic_event(db, ctf, teams: int, tag: str):
    set_event(db, ctf.event, wrong_per_minute="1000", team_size_limit="null")
    players = [ctf.player, ctf.other_player]
    for i in range(teams):
        user = create_user(db, username=f"dyn_{tag}_{i}")
        make_team(db, user, ctf.event, f"Dyn {tag} {i}")
        players.append(user)
    challenges = {ctf.challenge: "flag{one}"}
    for i, (scoring, bonus) in enumerate(DYNAMIC):
        cid = make_challenge(
            db,
            ctf.organiser,
            ctf.event,
            {
                "title": f"d{i}",
                "scoring": scoring,
                "initial": 500,
                "minimum": 50,
                "decay": 6,
                "first_blood_bonus": bonus,
            },
            [("static", f"flag{{d{i}}}")],
        )
        challenges[cid] = f"flag{{d{i}}}"
    return players, challenges


def test_a_moving_solve_writes_one_standings_row(db, ctf):
    """Earlier solvers are not re-scored in the solve: one row of ctf.standings_stored is
    updated however many teams solved before, and their exact scores still follow the value."""
    players, challenges = dynamic_event(db, ctf, 8, "one")
    linear = next(c for c in challenges if c != ctf.challenge)
    for n, who in enumerate(players):
        db.execute("savepoint s")
        before = db.execute(
            "select coalesce(sum(n_tup_upd), 0) as n from pg_stat_xact_user_tables"
            " where schemaname = 'ctf' and relname = 'standings_stored'"
        ).fetchone()["n"]
        r = submit(db, who, linear, challenges[linear])
        assert r["status"] == "correct"
        after = db.execute(
            "select coalesce(sum(n_tup_upd), 0) as n from pg_stat_xact_user_tables"
            " where schemaname = 'ctf' and relname = 'standings_stored'"
        ).fetchone()["n"]
        assert after - before == 1, f"solve {n + 1} updated {after - before} rows"
        assert mismatches(db, ctf.event) == []
    assert unsettled(db, ctf.event) == 1
    # every solver's exact score is the current value (times its blood bonus, none here)
    value = db.execute("select value from ctf.challenges where id = %s", (linear,)).fetchone()[
        "value"
    ]
    scores = {
        r["score"]
        for r in db.execute("select score from ctf.standings where event_id = %s", (ctf.event,))
        if r["score"]
    }
    assert scores == {value}
    moved = settle(db, linear)
    assert moved == len(players)
    assert unsettled(db, ctf.event) == 0 and mismatches(db, ctf.event) == []
    assert settle(db, linear) == 0


def test_document_ranks_by_exact_score_while_unsettled(db, ctf):
    """An early solver's stored score overstates its exact one until settled; the document,
    the scoreboard, the team page and the freeze snapshot rank by the exact one."""
    players, challenges = dynamic_event(db, ctf, 8, "rank")
    linear = next(c for c in challenges if c != ctf.challenge)
    db.execute(
        "update ctf.challenges set initial = 500, minimum = 10, decay = 60, value = 500,"
        " scored_value = 500 where id = %s",
        (linear,),
    )
    submit(db, players[0], linear, challenges[linear])  # 500 stored for team A
    # team B: static 100 + an award of 390 = 490 (exact), below A's stored 500
    scalar(
        db, ctf.organiser, "select api.ctf_grant_award(%s, %s, 390, 'r')", (ctf.event, ctf.team_b)
    )
    submit(db, ctf.other_player, ctf.challenge, "flag{one}")
    for who in players[2:]:
        submit(db, who, linear, challenges[linear])  # 9 solves: 500 - 8*60 = 20
    stored_a = db.execute(
        "select score from ctf.standings_stored where team_id = %s", (ctf.team_a,)
    ).fetchone()["score"]
    assert stored_a == 500
    top = document_top(db, ctf.event)
    assert top == exact_top(db, ctf.event)
    assert top[0] == (ctf.team_b, 490)
    # what the commit-time rebuild stores
    db.execute("select private.ctf_refresh_board(%s, false)", (ctf.event,))
    stored = db.execute(
        "select rows from ctf.scoreboards where event_id = %s and not frozen", (ctf.event,)
    ).fetchone()["rows"]
    assert [(r["team_id"], r["score"]) for r in stored] == exact_top(db, ctf.event)
    page = scalar(db, ctf.player, "select api.ctf_get_team_page(%s)", (ctf.team_a,))
    ranking = [t for t, _ in exact_top(db, ctf.event)]
    assert page["score"] == 20 and page["position"] == ranking.index(ctf.team_a) + 1 > 1
    for team in ranking:
        page = scalar(db, ctf.organiser, "select api.ctf_get_team_page(%s)", (team,))
        assert page["position"] == ranking.index(team) + 1
    board = scalar(
        db,
        "anon",
        "select jsonb_agg(to_jsonb(s)) from api.ctf_get_scoreboard(%s, null, 5, 1) s",
        (ctf.event,),
    )
    assert [(r["team_id"], r["score"]) for r in board] == exact_top(db, ctf.event)[1:6]
    # the freeze snapshot copies exact scores
    set_event(db, ctf.event, freeze_at="now() - interval '1 second'")
    submit(db, players[-1], ctf.challenge, "flag{one}")
    frozen = db.execute(
        "select team_id::text as t, score from ctf.standings_frozen where team_id = %s",
        (ctf.team_a,),
    ).fetchone()
    assert frozen["score"] == 20


def settle_all(db, event):
    for r in db.execute(
        "select id from ctf.challenges where event_id = %s and value <> scored_value", (event,)
    ).fetchall():
        settle(db, r["id"])


def test_random_sequences_equal_recompute(db, ctf):
    """Random solves, awards, hint costs, settles and edits: after each step every team's
    exact score equals the from-scratch computation, and the document its top 100."""
    for seed in (11, 12, 13):
        rng = random.Random(seed)
        db.execute("savepoint seed")
        players, challenges = dynamic_event(db, ctf, 6, f"r{seed}")
        ids = list(challenges)
        hints = [
            scalar(db, ctf.organiser, "select api.ctf_add_hint(%s, 'h', 5)", (c,)) for c in ids
        ]
        for step in range(50):
            op = rng.choice(["solve"] * 5 + ["settle", "award", "hint", "edit"])
            who = rng.choice(players)
            c = rng.choice(ids)
            db.execute("savepoint step")
            try:
                if op == "solve":
                    submit(db, who, c, challenges[c])
                elif op == "settle":
                    settle(db, c)
                elif op == "award":
                    team = rng.choice([ctf.team_a, ctf.team_b])
                    scalar(
                        db,
                        ctf.organiser,
                        "select api.ctf_grant_award(%s, %s, %s, 'r')",
                        (ctf.event, team, rng.choice([-15, 25])),
                    )
                elif op == "hint":
                    scalar(db, who, "select api.ctf_unlock_hint(%s)", (rng.choice(hints),))
                elif op == "edit":
                    scalar(
                        db,
                        ctf.organiser,
                        "select api.ctf_save_challenge(%s, %s::jsonb, %s)",
                        (ctf.event, json.dumps({"decay": rng.randint(2, 8)}), c),
                    )
            except Exception as exc:  # refusals (insufficient points) are fine
                if getattr(getattr(exc, "diag", None), "message_hint", None) is None:
                    raise
                db.execute("rollback to savepoint step")
            else:
                db.execute("release savepoint step")
            assert mismatches(db, ctf.event) == [], f"seed {seed} step {step} ({op})"
            assert document_top(db, ctf.event) == exact_top(db, ctf.event), f"step {step}"
        settle_all(db, ctf.event)
        assert mismatches(db, ctf.event) == [] and unsettled(db, ctf.event) == 0
        assert (
            scalar(db, ctf.organiser, "select api.ctf_recompute_standings(%s)", (ctf.event,)) == 0
        )
        db.execute("rollback to savepoint seed")


def test_parallel_solves_and_settles_equal_recompute(fresh_db):
    """Real parallel connections: 10 teams solving 4 dynamic challenges in random orders while
    a settler runs beside them; the committed document and every exact score equal the
    from-scratch computation after each round, and again once everything is settled."""
    from ctfkit import build_scene

    with connect(fresh_db) as db:
        ctf = build_scene(db)
        players, challenges = dynamic_event(db, ctf, 8, "par")
        db.commit()
    ids = [c for c in challenges if c != ctf.challenge]
    rng = random.Random(5)
    stop = threading.Event()
    settled = [0]

    def settler():
        with connect(fresh_db) as conn:
            while not stop.is_set():
                for c in ids:
                    with conn.transaction():
                        settled[0] += settle(conn, c)

    thread = threading.Thread(target=settler)
    thread.start()
    try:
        for c in rng.sample(ids, len(ids)):
            order = players[:]
            rng.shuffle(order)
            results = run_parallel(fresh_db, [submit_as(u, c, challenges[c]) for u in order])
            assert all(r["status"] == "correct" for r in results)
            with connect(fresh_db) as db:
                assert mismatches(db, ctf.event) == []
                assert document_top(db, ctf.event) == exact_top(db, ctf.event)
    finally:
        stop.set()
        thread.join(timeout=60)
    with connect(fresh_db) as db:
        settle_all(db, ctf.event)
        db.commit()
        assert unsettled(db, ctf.event) == 0 and mismatches(db, ctf.event) == []
        assert document_top(db, ctf.event) == exact_top(db, ctf.event)
        ranks = db.execute(
            "select array_agg(blood_rank order by blood_rank) as r from ctf.solves"
            " where challenge_id = any(%s::uuid[]) group by challenge_id",
            (ids,),
        ).fetchall()
        assert all(r["r"] == list(range(1, len(players) + 1)) for r in ranks)


def stored_document(db, event):
    row = db.execute(
        "select rows, private.ctf_board_current(d) as current from ctf.scoreboards as d"
        " where event_id = %s and not frozen",
        (event,),
    ).fetchone()
    return [(r["team_id"], r["score"]) for r in row["rows"]], row["current"]


def test_no_solve_waits_for_the_document_and_readers_stay_exact(fresh_db):
    """While a rebuilder holds the document's row lock, parallel solves (moving dynamic values,
    entering the board or not) commit without waiting for it (each with a 3 s lock timeout;
    before, every commit that changed standings took that row); readers meanwhile get the
    exact board; the rebuild after them stores every solve and the document is current."""
    from ctfkit import build_scene

    with connect(fresh_db) as db:
        ctf = build_scene(db)
        players, challenges = dynamic_event(db, ctf, 12, "free")
        db.commit()  # a rebuild sees committed changes only (its own stay out of date)
        db.execute("select private.ctf_refresh_boards()")
        db.commit()
        assert stored_document(db, ctf.event) == (exact_top(db, ctf.event), True)
    ids = [c for c in challenges if c != ctf.challenge]
    holder = connect(fresh_db)
    try:
        holder.execute(
            "select 1 from ctf.scoreboards where event_id = %s and not frozen for update",
            (ctf.event,),
        )

        def impatient(user, challenge, flag):
            submit = submit_as(user, challenge, flag)

            def job(conn):
                conn.execute("set lock_timeout = '3s'")
                return submit(conn)

            return job

        jobs = [
            impatient(u, ids[i % len(ids)], challenges[ids[i % len(ids)]])
            for i, u in enumerate(players)
        ]
        results = run_parallel(fresh_db, jobs)
        assert all(r["status"] == "correct" for r in results), results
        with connect(fresh_db) as db:
            assert document_top(db, ctf.event) == exact_top(db, ctf.event)
            assert stored_document(db, ctf.event)[1] is False  # out of date, not used
    finally:
        holder.rollback()
        holder.close()
    with connect(fresh_db) as db:
        assert db.execute("select private.ctf_refresh_boards() as n").fetchone()["n"] == 1
        db.commit()
        assert stored_document(db, ctf.event) == (exact_top(db, ctf.event), True)
        assert mismatches(db, ctf.event) == []


def test_a_settle_waits_briefly_for_a_solvers_row_then_changes_nothing(fresh_db):
    """Real connections: while another transaction holds one solver's standings row, the
    worker's settle gives up within its 10 ms bound (-1), leaves every stored score and the
    challenge unsettled, and keeps the caller's lock_timeout; once the row is free it settles."""
    import time

    from ctfkit import build_scene

    with connect(fresh_db) as db:
        ctf = build_scene(db)
        players, challenges = dynamic_event(db, ctf, 3, "wait")
        cid = next(c for c in challenges if c != ctf.challenge)
        for user in players[:4]:
            assert submit(db, user, cid, challenges[cid])["status"] == "correct"
        db.commit()
        assert unsettled(db, ctf.event) == 1
        stored = db.execute(
            "select team_id, score from ctf.standings_stored where event_id = %s order by team_id",
            (ctf.event,),
        ).fetchall()
        first = db.execute(
            "select team_id from ctf.solves where challenge_id = %s order by blood_rank limit 1",
            (cid,),
        ).fetchone()["team_id"]
    with connect(fresh_db) as holder, connect(fresh_db) as worker:
        holder.execute(
            "select 1 from ctf.standings_stored where event_id = %s and team_id = %s for update",
            (ctf.event, first),
        )
        worker.execute("set statement_timeout = '5s'")
        worker.execute("set lock_timeout = '4s'")
        started = time.monotonic()
        assert settle(worker, cid) == -1
        assert time.monotonic() - started < 2  # bounded by its own 10 ms, not the caller's 4 s
        assert worker.execute("show lock_timeout").fetchone()["lock_timeout"] == "4s"
        worker.commit()
        with connect(fresh_db) as db:
            assert unsettled(db, ctf.event) == 1
            assert (
                db.execute(
                    "select team_id, score from ctf.standings_stored where event_id = %s"
                    " order by team_id",
                    (ctf.event,),
                ).fetchall()
                == stored
            )
        holder.rollback()
        assert settle(worker, cid) > 0
        worker.commit()
    with connect(fresh_db) as db:
        assert unsettled(db, ctf.event) == 0 and mismatches(db, ctf.event) == []


def last_solve_payload(db):
    return db.execute(
        "select payload from ops.outbox where topic = 'ctf.solve' order by id desc limit 1"
    ).fetchone()["payload"]


def deliver(db, payload):
    """What the worker runs for a ctf.solve job, in a transaction of its own."""
    db.execute("select private.ctf_solve_delivered(%s::jsonb)", (json.dumps(payload),))
    db.commit()


def published_tops(db, event):
    return [
        m["payload"]["top"]
        for m in db.execute(
            "select payload from realtime.messages where topic = %s order by id",
            (f"ctf:event:{event}:scoreboard",),
        )
    ]


def test_deliveries_within_a_second_rebuild_once_and_always_publish(fresh_db):
    """Committed transactions: the first delivery settles and rebuilds; a second one within the
    second only publishes (the document is out of date, readers still get the exact board, the
    broadcast top ten is exact); once the second has passed, the next delivery settles and
    rebuilds again."""
    from ctfkit import build_scene

    with connect(fresh_db) as db:
        ctf = build_scene(db)
        players, challenges = dynamic_event(db, ctf, 3, "burst")
        db.commit()
        cid = next(c for c in challenges if c != ctf.challenge)
        assert submit(db, players[0], cid, challenges[cid])["status"] == "correct"
        db.commit()
        deliver(db, last_solve_payload(db))
        assert stored_document(db, ctf.event) == (exact_top(db, ctf.event), True)
        assert unsettled(db, ctf.event) == 0
        assert submit(db, players[1], cid, challenges[cid])["status"] == "correct"
        # "rebuilt less than a second ago" whatever the machine's speed: move the build time
        # forward rather than race the clock
        db.execute(
            "update ctf.scoreboards set refreshed_at = now() + interval '1 minute'"
            " where event_id = %s",
            (ctf.event,),
        )
        db.commit()
        deliver(db, last_solve_payload(db))
        assert stored_document(db, ctf.event)[1] is False  # left to the next second
        assert unsettled(db, ctf.event) == 1
        assert document_top(db, ctf.event) == exact_top(db, ctf.event)
        tops = published_tops(db, ctf.event)
        assert len(tops) == 2
        assert [(t["team_id"], t["score"]) for t in tops[-1]] == exact_top(db, ctf.event)[:10]
        db.execute(
            "update ctf.scoreboards set refreshed_at = now() - interval '2 seconds'"
            " where event_id = %s",
            (ctf.event,),
        )
        db.commit()
        deliver(db, last_solve_payload(db))
        assert stored_document(db, ctf.event) == (exact_top(db, ctf.event), True)
        assert unsettled(db, ctf.event) == 0 and mismatches(db, ctf.event) == []
        assert len(published_tops(db, ctf.event)) == 3
