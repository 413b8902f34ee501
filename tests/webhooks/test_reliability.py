"""At least once under failure: a worker process killed mid-delivery (kill -9) loses nothing,
two workers never hold the same delivery, and the claim reads only the pending index."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta

from hookkit import local_settings

from flagship import config
from flagship.testing.webhooks import Receiver, Reply
from sync.webhooks import WebhookQueue
from sync.worker import Worker

# The claim's row selection, as events.claim_deliveries runs it.
CLAIM_SELECT = """
    select c.id from events.deliveries as c
    where c.status = 'pending' and c.next_attempt_at <= clock_timestamp()
    order by c.next_attempt_at, c.id
    limit 50
    for update skip locked
"""


def test_kill_9_mid_delivery_loses_nothing(hooks):
    release = threading.Event()
    phase = {"held": True}

    def behaviour(n, request):
        return Reply(hold=release) if phase["held"] else Reply()

    with Receiver(behaviour) as rx:
        hooks.endpoint(rx.url)
        hooks.emit(n=6)
        ids = {r["id"] for r in hooks.sql("select id from events.messages")}
        env = {
            **os.environ,
            "DATABASE_URL": hooks.app_url,
            "WEBHOOK_ALLOW_HTTP": "1",
            "WEBHOOK_ALLOW_ADDRESSES": "127.0.0.1",
            "WEBHOOK_READ_TIMEOUT": "60",
            "SYNC_POLL_INTERVAL": "0.2",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "sync"],
            cwd=config.ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            rx.wait_for(1, timeout=60)  # the worker is now inside a delivery
            os.kill(proc.pid, signal.SIGKILL)
            assert proc.wait(10) == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                proc.kill()
        in_flight = hooks.sql("select status, locked_by from events.deliveries")
        assert {r["status"] for r in in_flight} == {"processing"}  # claimed by the dead one
        phase["held"] = False
        release.set()
        before = len(rx.received)

        # Another worker gives the dead worker's claims back and delivers them.
        q = WebhookQueue(local_settings())
        with Worker(
            hooks.app_url, handlers={}, queues=[q], stale_after=timedelta(0), release_every=0
        ) as worker:
            deadline = time.monotonic() + 30
            while (
                hooks.sql("select 1 from events.deliveries where status <> 'delivered'")
                and time.monotonic() < deadline
            ):
                worker.run_once()
        after = {r.headers["webhook-id"] for r in rx.received[before:]}
    assert after == ids  # every message arrived after the crash: nothing lost
    rows = hooks.deliveries()
    assert {r["status"] for r in rows} == {"delivered"} and len(rows) == len(ids)
    assert {r["attempts"] for r in rows} == {2}  # the lost claim counted as an attempt


def test_two_workers_never_deliver_the_same_delivery(hooks):
    with Receiver(lambda n, r: Reply(delay=0.003)) as rx:
        hooks.endpoint(rx.url)
        hooks.emit(n=200)
        start = threading.Barrier(2)
        errors: list[BaseException] = []

        def work(name: str) -> None:
            q = WebhookQueue(local_settings(batch_size=16, concurrency=4))
            try:
                with Worker(hooks.app_url, handlers={}, queues=[q], worker_id=name) as w:
                    w.connection()
                    start.wait()
                    idle = 0
                    while idle < 3:
                        idle = 0 if w.run_once() else idle + 1
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in ("worker-a", "worker-b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors
        received = Counter(r.headers["webhook-id"] for r in rx.received)
    assert len(received) == 200 and set(received.values()) == {1}  # each exactly once
    log = hooks.attempts()
    assert len(log) == 200 and len({a["delivery_id"] for a in log}) == 200
    by_worker = Counter(a["worker"] for a in log)
    assert set(by_worker) == {"worker-a", "worker-b"}, by_worker  # both really worked


def test_the_claim_reads_only_pending_rows_with_1m_delivered_present(hooks):
    ep = hooks.endpoint("https://hooks.example.com/in")
    hooks.emit()
    (msg,) = hooks.sql("select id from events.messages")
    hooks.sql(
        """
        insert into events.deliveries (message_id, endpoint_id, status, attempts,
                                       next_attempt_at, finished_at, created_at)
        select %s, %s, 'delivered', 1, now() - g * interval '1 second',
               now() - g * interval '1 second', now() - g * interval '1 second'
        from generate_series(1, 1000000) as g
        """,
        (msg["id"], ep["id"]),
    )
    hooks.sql("analyze events.deliveries")
    plan = hooks.sql("explain (format json) " + CLAIM_SELECT)[0]["QUERY PLAN"][0]["Plan"]
    text = json.dumps(plan)
    assert '"Index Name": "deliveries_pending_idx"' in text, text
    assert '"Node Type": "Seq Scan"' not in text, text
    assert '"Node Type": "Bitmap Heap Scan"' not in text, text
    body = hooks.sql(
        "select prosrc from pg_proc where proname = 'claim_deliveries'"
        " and pronamespace = 'events'::regnamespace"
    )[0]["prosrc"]
    assert " ".join(CLAIM_SELECT.split()).replace("limit 50", "limit greatest(1, least(p_limit,"
                                                  " 500))") in " ".join(body.split())  # fmt: skip
