"""Several worker processes on one outbox: each job delivered once per idempotency key, none
lost when a worker is killed with SIGKILL under load, each schedule run once."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from flagship.database import connect

JOBS = 120


class Receiver:
    """Resend's POST /emails on loopback: counts requests per Idempotency-Key and, like
    Resend, answers a repeated key with the email it already made (no second email)."""

    def __init__(self, delay: float = 0.02) -> None:
        self.keys: Counter[str] = Counter()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["content-length"]))
                key = self.headers.get("Idempotency-Key") or ""
                with receiver.lock:
                    receiver.keys[key] += 1
                time.sleep(delay)  # a provider call takes a while: kills land mid-call
                body = json.dumps({"id": key}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def total(self) -> int:
        with self.lock:
            return sum(self.keys.values())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


def worker_env(receiver: Receiver, app_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": app_url,
        "RESEND_API_KEY": "re_scale_test",
        "RESEND_API_URL": receiver.url,
        "SYNC_POLL_INTERVAL": "0.5",
        "SYNC_BATCH_SIZE": "5",
        "SYNC_STALE_AFTER": "3",
        "SYNC_RELEASE_EVERY": "1",
        "SYNC_SCHEDULE_EVERY": "0.5",
    }


def wait_for(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_many_workers_deliver_each_job_once_and_lose_none_when_one_is_killed(
    fresh_db, app_url, receiver, processes
):
    with connect(fresh_db, autocommit=True) as admin:
        admin.execute("update ops.outbox set status = 'done' where status = 'pending'")
        ids = [
            admin.execute(
                "select ops.enqueue('email.send', %s::jsonb) as id",
                (json.dumps({"template": "ctf_starting_soon", "to": f"p{i}@example.test",
                             "data": {"event_title": "Scale CTF"}}),),
            ).fetchone()["id"]
            for i in range(JOBS)
        ]  # fmt: skip
        env = worker_env(receiver, app_url)
        workers = [processes.start("sync", **env) for _ in range(3)]
        wait_for(lambda: receiver.total() >= JOBS // 4, 60, "a quarter of the deliveries")
        victim = workers[0]
        victim.send_signal(signal.SIGKILL)  # under load, possibly mid-call
        victim.wait(10)
        wait_for(
            lambda: (
                admin.execute(
                    "select count(*) as n from ops.outbox where id = any(%s) and status = 'done'",
                    (ids,),
                ).fetchone()["n"]
                == JOBS
            ),
            90,
            "every job done",
        )
        rows = admin.execute(
            "select status, count(*) as n from ops.outbox where id = any(%s) group by status",
            (ids,),
        ).fetchall()
    assert rows == [{"status": "done", "n": JOBS}]
    expected = {f"flagship-outbox-{i}" for i in ids}
    assert set(receiver.keys) == expected  # no job lost
    repeated = {k: n for k, n in receiver.keys.items() if n > 1}
    # Only the call the killed worker had in flight is repeated, with the same key: the
    # provider makes one email of it.
    assert len(repeated) <= 1, repeated
    assert all(w.poll() is None for w in workers[1:])


def test_each_due_schedule_runs_once_among_several_workers(fresh_db, app_url, receiver, processes):
    with connect(fresh_db, autocommit=True) as admin:
        admin.execute(
            "update ops.schedules set every = greatest(every, interval '1 hour'),"
            " next_run_at = now(), runs = 0, failures = 0"
        )
        names = [r["name"] for r in admin.execute("select name from ops.schedules").fetchall()]
        assert names
        env = worker_env(receiver, app_url)
        for _ in range(3):
            processes.start("sync", **env)
        wait_for(
            lambda: admin.execute(
                "select bool_and(runs + failures >= 1) as ok from ops.schedules"
            ).fetchone()["ok"],
            30,
            "every schedule to run",
        )
        time.sleep(3)  # six more looks per worker: nothing is due again for an hour
        rows = admin.execute("select name, runs + failures as n from ops.schedules").fetchall()
    assert {r["name"]: r["n"] for r in rows} == dict.fromkeys(names, 1)
