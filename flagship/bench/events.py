"""Events benchmark: outgoing webhooks delivered by one real worker process (`python -m sync`)
to a local receiver on 127.0.0.1, and the delivery claim with many delivered rows present.

- throughput: N webhook events are committed first, then one worker delivers them all
  (signing, SSRF check, HTTP POST, the delivery log); webhooks/s over the wall time.
- latency at rate: events committed one per transaction at a fixed rate (300/s) while the
  worker runs; commit → receiver p50/p95 (the receiver notes the arrival, the producer the
  commit time, matched by the event id in the signed body).
- claim: `events.claim_deliveries` with 1,000,000 delivered rows over 10,000 messages (at
  --scale 1) and 200 due ones, each call rolled back; and the idle poll (nothing due). The
  plan is printed.
- newsletter: `flagship/bench/newsletter.py`'s measurement, when that module is present.

The events' own outbox jobs are marked done in their transaction (their handlers are
measured elsewhere), so the worker's time goes to webhooks. Traffic goes to loopback only,
bounded in count and time.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
import time

from flagship import config
from flagship.bench.runner import Bench, Result, explain_uses_index, stop_process
from flagship.database import connect
from flagship.testing.harness import create_user, grant_roles, rpc
from flagship.testing.webhooks import Receiver

RATE = 300  # events per second in the latency phase
PRODUCERS = 4  # connections committing them
ENQUEUE = """
    select ops.enqueue('ctf.solve', jsonb_build_object(
        'solve_id', %(n)s, 'event_id', gen_random_uuid(), 'challenge_id', gen_random_uuid(),
        'team_id', gen_random_uuid(), 'user_id', gen_random_uuid(), 'points', 100,
        'blood_rank', null)) as id
"""


def emit(conn, n: int) -> None:
    """One ctf.solve event in one transaction; its own outbox job is marked done in it."""
    with conn.transaction():
        job = conn.execute(ENQUEUE, {"n": n}).fetchone()["id"]
        conn.execute(
            "update ops.outbox set status = 'done', processed_at = now() where id = %s", (job,)
        )


def _worker(app_url: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": app_url,
        "WEBHOOK_ALLOW_HTTP": "1",
        "WEBHOOK_ALLOW_ADDRESSES": "127.0.0.1",
        "SYNC_POLL_INTERVAL": "1",
        "SYNC_LOG_LEVEL": "error",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "sync"],
        cwd=config.ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _solve_id(request) -> int:
    return json.loads(request.body)["data"]["solve_id"]


def _wait_listening(admin_url: str, timeout: float = 30.0) -> None:
    """Until the worker process has connected (and so listens for new work)."""
    deadline = time.monotonic() + timeout
    with connect(admin_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "select count(*)::int as n from pg_stat_activity"
                " where application_name = 'flagship-sync' and datname = current_database()"
            ).fetchone()
            if row["n"]:
                time.sleep(0.5)
                return
            time.sleep(0.05)
    raise RuntimeError("the worker did not connect")


def throughput(bench: Bench, admin_url: str, app_url: str, rx: Receiver, n: int) -> float:
    process = _worker(app_url)
    try:
        _wait_listening(admin_url)
        start_count = len(rx.received)
        with connect(admin_url) as conn, conn.transaction():  # all n become due at once
            for i in range(n):
                emit(conn, 1_000_000 + i)
        start = time.monotonic()
        rx.wait_for(start_count + n, timeout=max(60.0, n / 50))
        elapsed = time.monotonic() - start
    finally:
        stop_process(process)
    rate = n / elapsed
    bench.add_line(
        f"throughput: {n} webhooks in {elapsed:.2f} s = {rate:.0f} webhooks/s"
        " (one worker process, from the commit to the last arrival)"
    )
    return rate


def latency(bench: Bench, admin_url: str, app_url: str, rx: Receiver, seconds: float) -> None:
    """PRODUCERS connections commit one event per transaction, RATE events/s together."""
    committed: dict[int, float] = {}
    per = RATE // PRODUCERS
    total = per * PRODUCERS * int(seconds)

    def produce(k: int, start: float) -> None:
        with connect(admin_url, autocommit=True) as conn:
            for i in range(per * int(seconds)):
                pause = start + i / per - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                n = 1 + k + i * PRODUCERS
                emit(conn, n)
                committed[n] = time.time()

    process = _worker(app_url)
    try:
        _wait_listening(admin_url)
        start_count = len(rx.received)
        start = time.monotonic() + 0.1
        threads = [threading.Thread(target=produce, args=(k, start)) for k in range(PRODUCERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        produced = time.monotonic() - start
        arrived = rx.wait_for(start_count + total, timeout=60)[start_count:]
    finally:
        stop_process(process)
    result = Result(f"commit -> receiver at {RATE}/s", note=f"{total} events, {seconds:.0f} s")
    result.samples_ms = [(r.at - committed[_solve_id(r)]) * 1000 for r in arrived]
    bench.results.append(result)
    bench.add_line(
        f"latency phase: {total} events committed in {produced:.1f} s = {total / produced:.0f}/s"
        f" ({PRODUCERS} producers, one event per transaction)"
    )


def claim(bench: Bench, admin_url: str, endpoint: str, delivered: int) -> None:
    messages = max(100, delivered // 100)
    with connect(admin_url) as conn:
        # history: `delivered` delivered rows over `messages` past messages (100 endpoints'
        # worth each), as months of traffic leave them
        conn.execute(
            """
            insert into events.messages (id, topic, payload, created_at)
            select 'msg_' || md5('bench' || g), 'ctf.solve',
                   '{"type": "ctf.solve", "timestamp": "", "data": {}}',
                   now() - g * interval '1 minute'
            from generate_series(1, %s) as g
            """,
            (messages,),
        )
        conn.execute(
            """
            insert into events.deliveries (message_id, endpoint_id, status, attempts,
                                           next_attempt_at, finished_at, created_at)
            select 'msg_' || md5('bench' || (1 + g %% %s)), %s, 'delivered', 1,
                   now() - g * interval '1 second', now() - g * interval '1 second',
                   now() - g * interval '1 second'
            from generate_series(1, %s) as g
            """,
            (messages, endpoint, delivered),
        )
        conn.commit()
        conn.execute("analyze events.deliveries")
        conn.commit()

        def idle(_: int) -> None:
            conn.execute("select * from events.claim_deliveries('bench', 64)").fetchall()
            conn.rollback()

        bench.measure("claim, nothing due", idle, 200, note=f"{delivered} delivered rows")
        # at most one open delivery per message and endpoint: 200 messages, one due each
        conn.execute(
            """
            with m as (
                insert into events.messages (id, topic, payload)
                select 'msg_' || replace(gen_random_uuid()::text, '-', ''), 'ctf.solve',
                       '{"type": "ctf.solve", "timestamp": "", "data": {}}'
                from generate_series(1, 200)
                returning id
            )
            insert into events.deliveries (message_id, endpoint_id) select m.id, %s from m
            """,
            (endpoint,),
        )
        conn.commit()

        def due(_: int) -> None:
            rows = conn.execute("select * from events.claim_deliveries('bench', 64)").fetchall()
            assert len(rows) == 64
            conn.rollback()

        bench.measure("claim 64 of 200 due", due, 200, note=f"{delivered} delivered rows")
        conn.execute("update events.deliveries set status = 'cancelled' where status = 'pending'")
        conn.commit()
        plan = explain_uses_index(
            conn,
            "select c.id from events.deliveries as c where c.status = 'pending'"
            " and c.next_attempt_at <= clock_timestamp() order by c.next_attempt_at, c.id"
            " limit 64 for update skip locked",
        )
        conn.rollback()
    bench.add_line("claim plan:\n  " + plan.replace("\n", "\n  "))


def newsletter(bench: Bench, admin_url: str, app_url: str, scale: float) -> None:
    """The newsletter measurement of flagship/bench/newsletter.py, in this run's database."""
    if importlib.util.find_spec("flagship.bench.newsletter") is None:
        bench.add_line("newsletter: flagship/bench/newsletter.py is not present; not measured")
        return
    from flagship.bench import newsletter as module

    result = module.send_newsletter(admin_url, app_url, max(100, int(module.RECIPIENTS * scale)))
    bench.results.append(
        Result("newsletter.send chunk (100 recipients)", result["chunk_ms"], note="batch API")
    )
    bench.add_line(
        f"newsletter: {result['recipients']} recipients, {result['delivered']} delivered in"
        f" {result['total_s']:.1f} s (target < 60 s for 10,000), statuses {result['statuses']}"
    )


def run(bench: Bench, scale: float) -> None:
    n = max(300, int(3000 * scale))
    seconds = max(3.0, 10.0 * scale)
    delivered = max(10_000, int(1_000_000 * scale))
    admin_url, app_url = bench.database()
    with Receiver() as rx:
        with connect(admin_url) as conn:
            admin = grant_roles(conn, create_user(conn, username="bench_hooks"), "admin")
            endpoint = rpc(conn, admin, "events_create_endpoint", p_url=rx.url)["id"]
            conn.commit()
        rate = throughput(bench, admin_url, app_url, rx, n)
        latency(bench, admin_url, app_url, rx, seconds)
        bench.rps = rate
    claim(bench, admin_url, endpoint, delivered)
    newsletter(bench, admin_url, app_url, scale)
    # The newsletter and claim rows print first; the delivery latency is the headline.
    bench.results.sort(key=lambda r: r.name.startswith("commit"))
