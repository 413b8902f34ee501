"""The outbox worker against a database of its own (it commits), with real connections."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from flagship.database import connect
from flagship.testing.harness import with_database
from sync.handlers import Job
from sync.worker import Worker


@pytest.fixture
def app_url(fresh_db, test_server) -> str:
    """The fresh database as the application role, which is what the worker runs as."""
    return with_database(fresh_db, urlsplit(fresh_db).path.lstrip("/"), test_server.app_user)


@pytest.fixture
def admin(fresh_db):
    with connect(fresh_db, autocommit=True) as conn:
        yield conn


def enqueue(conn, topic: str, payload: str = "{}", dedupe_key: str | None = None) -> int:
    return conn.execute(
        "select ops.enqueue(%s, %s::jsonb, %s) as id", (topic, payload, dedupe_key)
    ).fetchone()["id"]


def job_row(conn, job_id: int) -> dict:
    return conn.execute(
        "select *, run_after > now() as later from ops.outbox where id = %s", (job_id,)
    ).fetchone()


def test_handler_receives_the_job_and_it_is_done(app_url, admin):
    seen: list[Job] = []
    job_id = enqueue(admin, "test.ok", '{"to": "a@example.test"}', "k1")
    with Worker(app_url, handlers={"test.ok": seen.append}) as worker:
        assert worker.run_once() == 1
        assert worker.run_once() == 0
    assert [(j.id, j.topic, j.payload, j.attempts) for j in seen] == [
        (job_id, "test.ok", {"to": "a@example.test"}, 1)
    ]
    assert seen[0].idempotency_key == f"flagship-outbox-{job_id}"
    row = job_row(admin, job_id)
    assert row["status"] == "done"
    assert row["processed_at"] is not None and row["locked_by"] is None


def test_a_topic_without_handler_is_acknowledged(app_url, admin, caplog):
    job_id = enqueue(admin, "nobody.listens")
    with caplog.at_level(logging.INFO, logger="sync.worker"), Worker(app_url, handlers={}) as w:
        assert w.run_once() == 1
    assert job_row(admin, job_id)["status"] == "done"
    assert "no handler; acknowledged" in caplog.text


def test_a_failing_handler_backs_off_then_goes_dead(app_url, admin):
    def fail(job: Job) -> None:
        raise ConnectionError("provider down")

    job_id = enqueue(admin, "test.fail")
    admin.execute("update ops.outbox set max_attempts = 2 where id = %s", (job_id,))
    with Worker(app_url, handlers={"test.fail": fail}, backoff_base=60) as worker:
        worker.run_once()
        row = job_row(admin, job_id)
        assert (row["status"], row["attempts"], row["later"]) == ("pending", 1, True)
        assert row["last_error"] == "ConnectionError: provider down"
        assert row["run_after"] - row["updated_at"] >= timedelta(seconds=29)
        assert worker.run_once() == 0  # not due yet

        # Tests move time by editing rows, never by sleeping.
        admin.execute("update ops.outbox set run_after = now() where id = %s", (job_id,))
        assert worker.run_once() == 1
    row = job_row(admin, job_id)
    assert (row["status"], row["attempts"]) == ("dead", 2)


def test_backoff_doubles_with_jitter_and_is_capped():
    worker = Worker("postgresql://unused", backoff_base=10, backoff_cap=100)
    for attempts, ceiling in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (30, 100)]:
        delays = {worker.backoff(attempts) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered


def test_two_workers_never_get_the_same_job(app_url, admin):
    ids = {enqueue(admin, "test.race", f'{{"n": {n}}}') for n in range(300)}
    got: dict[str, list[int]] = {"a": [], "b": []}
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            with Worker(
                app_url,
                batch_size=7,
                worker_id=name,
                handlers={"test.race": lambda job: got[name].append(job.id)},
            ) as w:
                w.connection()
                start.wait()
                while w.run_once():
                    pass
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert not set(got["a"]) & set(got["b"])
    assert len(got["a"]) + len(got["b"]) == len(ids)
    assert set(got["a"]) | set(got["b"]) == ids
    left = admin.execute("select count(*) as n from ops.outbox where status <> 'done'").fetchone()
    assert left["n"] == 0


def test_stop_finishes_the_current_job_and_gives_back_the_rest(app_url, admin):
    ids = [enqueue(admin, "test.stop", f'{{"n": {n}}}') for n in range(3)]
    with Worker(app_url, handlers={}) as worker:
        worker.handlers = {"test.stop": lambda job: worker.stop()}
        assert worker.run_once() == 1
    rows = [job_row(admin, i) for i in ids]
    assert [r["status"] for r in rows] == ["done", "pending", "pending"]
    assert all(r["locked_by"] is None and not r["later"] for r in rows[1:])


def test_jobs_of_a_lost_worker_are_released(app_url, admin):
    job_id = enqueue(admin, "test.stale")
    admin.execute("select * from ops.claim_outbox('ghost', 10)")
    admin.execute(
        "update ops.outbox set locked_at = now() - interval '1 hour' where id = %s", (job_id,)
    )
    with Worker(app_url, handlers={}, stale_after=timedelta(minutes=5)) as worker:
        assert worker.run_once() == 1
    row = job_row(admin, job_id)
    assert (row["status"], row["attempts"]) == ("done", 2)


def test_wait_wakes_up_on_enqueue(app_url, admin):
    with Worker(app_url, handlers={}) as worker:
        worker.connection()
        assert worker.wait(0.2) is False
        threading.Timer(0.3, enqueue, (admin, "test.wake")).start()
        started = time.monotonic()
        assert worker.wait(10) is True
        assert time.monotonic() - started < 5


def test_python_m_sync_delivers_and_exits_0_on_sigterm(app_url, admin, tmp_path):
    log_path = tmp_path / "sync.log"
    env = {**os.environ, "DATABASE_URL": app_url, "SYNC_POLL_INTERVAL": "60"}
    with log_path.open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", "sync"], env=env, stderr=log)
    try:
        deadline = time.monotonic() + 20
        while not admin.execute(
            "select 1 from pg_stat_activity where application_name = 'flagship-sync'"
            " and datname = current_database() and state = 'idle'"
        ).fetchone():
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "worker did not connect"
            time.sleep(0.1)
        # The poll interval is a minute: only the notification can wake the worker in time.
        job_id = enqueue(admin, "test.subprocess")
        while job_row(admin, job_id)["status"] != "done":
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0, log_path.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "stopped" in log_path.read_text()
