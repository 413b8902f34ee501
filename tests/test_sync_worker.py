"""The outbox worker against a database of its own (it commits), with real connections."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from flagship.database import connect, pooled
from flagship.testing.harness import register_test_topics, with_database
from sync.handlers import Job, Unrecoverable
from sync.worker import Worker


@pytest.fixture
def app_url(fresh_db, test_server) -> str:
    """The fresh database as the application role, which is what the worker runs as."""
    return with_database(fresh_db, urlsplit(fresh_db).path.lstrip("/"), test_server.app_user)


TEST_TOPICS = ("test.ok", "test.fail", "test.race", "test.stop", "test.stale", "test.wake")


@pytest.fixture
def admin(fresh_db):
    """The fresh database as its owner, with this module's topics in the event catalogue."""
    with connect(fresh_db, autocommit=True) as conn:
        register_test_topics(
            conn,
            "tests.test_sync_worker",
            *TEST_TOPICS,
            schema={"type": "object", "properties": {"n": {"type": "integer"}}},
            example={"n": 1},
        )
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


def test_unknown_topics_and_bad_payloads_are_dead_letters_with_the_reason(app_url, admin):
    """Never acknowledged and dropped: each lands in the dead letters, on its first attempt."""
    seen: list[Job] = []
    unknown = enqueue(admin, "nobody.listens", '{"n": 1}')
    bad = enqueue(admin, "test.ok", '{"n": "one"}')
    unhandled = enqueue(admin, "test.fail", '{"n": 2}')
    good = enqueue(admin, "test.ok", '{"n": 3}')
    with Worker(app_url, handlers={"test.ok": seen.append}) as worker:
        assert worker.run_once() == 4
    assert [j.id for j in seen] == [good]
    rows = {i: job_row(admin, i) for i in (unknown, bad, unhandled, good)}
    assert [(rows[i]["status"], rows[i]["attempts"]) for i in rows] == [
        ("dead", 1),
        ("dead", 1),
        ("dead", 1),
        ("done", 1),
    ]
    assert rows[unknown]["last_error"] == (
        "unknown topic 'nobody.listens': not in the event catalogue (ops.event_types)"
    )
    assert rows[bad]["last_error"] == (
        "payload fails the schema of test.ok v1: n: 'one' is not of type 'integer'"
    )
    assert "no handler for topic 'test.fail'" in rows[unhandled]["last_error"]


def test_a_dead_letter_can_be_queued_again_once_fixed(app_url, admin):
    seen: list[Job] = []
    job_id = enqueue(admin, "test.ok", '{"n": "one"}')
    with Worker(app_url, handlers={"test.ok": seen.append}) as worker:
        worker.run_once()
        assert job_row(admin, job_id)["status"] == "dead"
        admin.execute("update ops.outbox set payload = '{\"n\": 1}' where id = %s", (job_id,))
        assert (
            admin.execute("select ops.retry_dead_outbox(%s) as s", (job_id,)).fetchone()["s"]
            == "pending"
        )
        assert worker.run_once() == 1
    assert job_row(admin, job_id)["status"] == "done"
    assert [j.payload for j in seen] == [{"n": 1}]
    # Only dead letters go back: a delivered job is not run twice.
    assert admin.execute("select ops.retry_dead_outbox(%s) as s", (job_id,)).fetchone()["s"] is None


def test_a_handler_refusing_for_good_makes_a_dead_letter_at_once(app_url, admin):
    def refuse(job: Job) -> None:
        raise Unrecoverable("the course no longer exists")

    job_id = enqueue(admin, "test.fail", '{"n": 1}')
    with Worker(app_url, handlers={"test.fail": refuse}) as worker:
        worker.run_once()
    row = job_row(admin, job_id)
    assert (row["status"], row["attempts"]) == ("dead", 1)
    assert row["last_error"] == "Unrecoverable: the course no longer exists"


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
    handlers = {"test.stale": lambda job: None}
    with Worker(app_url, handlers=handlers, stale_after=timedelta(minutes=5)) as worker:
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
        job_id = enqueue(
            admin, "content.render", '{"table": "community.posts", "id": "0", "column": "body"}'
        )
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


def test_a_topic_registered_while_the_worker_runs_is_delivered(app_url, admin):
    """The catalogue is reloaded before a job is buried: a migration applied while the
    worker runs (new topic, new schema) does not turn its first jobs into dead letters."""
    seen: list[Job] = []
    with Worker(app_url, handlers={"test.ok": seen.append, "test.late": seen.append}) as w:
        first = enqueue(admin, "test.ok", '{"n": 1}')
        assert w.run_once() == 1  # the catalogue is loaded now
        admin.execute(
            "select ops.register_event_type('test.late', 1, 'Registered late.',"
            " '{\"type\": \"object\", \"properties\": {}}', '{}', 'tests.test_sync_worker')"
        )
        late = enqueue(admin, "test.late", "{}")
        w.catalogue.loaded_at -= 5  # as if a few seconds had passed
        assert w.run_once() == 1
    assert [j.id for j in seen] == [first, late]
    assert job_row(admin, late)["status"] == "done"


def test_only_one_transaction_in_flight_notifies(fresh_db, admin):
    """NOTIFY serialises the commits of the transactions that ran it: while one enqueuing
    transaction that notified is open, another enqueues without notifying."""
    with (
        connect(fresh_db) as first,
        connect(fresh_db) as second,
        connect(fresh_db, autocommit=True) as listener,
    ):
        listener.execute("listen ops_outbox")
        enqueue(first, "test.ok", '{"n": 1}')
        enqueue(second, "test.ok", '{"n": 2}')
        second.commit()
        assert list(listener.notifies(timeout=0.5, stop_after=1)) == []  # second stayed quiet
        first.commit()
        assert [n.payload for n in listener.notifies(timeout=5, stop_after=1)] == ["test.ok"]
        enqueue(second, "test.ok", '{"n": 3}')  # alone now: it notifies
        second.commit()
        assert [n.payload for n in listener.notifies(timeout=5, stop_after=1)] == ["test.ok"]


def test_an_unannounced_job_is_delivered_soon_after_the_announced_one(app_url, fresh_db, admin):
    """The job whose transaction overlapped the notifier's and committed after the worker's
    claim is still delivered within seconds (the worker looks again right after work, then
    0.25 s later), although the poll interval is a minute."""
    seen: list[int] = []
    worker = Worker(
        app_url, handlers={"test.ok": lambda job: seen.append(job.payload["n"])}, poll_interval=60
    )
    thread = threading.Thread(target=worker.run, daemon=True)
    with worker:
        thread.start()
        try:
            deadline = time.monotonic() + 20
            # listening: on its own connection behind a pooler, else since it connected
            ready = (
                "application_name = 'flagship-sync-listen' and query ilike 'listen%'"
                if pooled()
                else "application_name = 'flagship-sync' and state = 'idle'"
            )
            while not admin.execute(
                f"select 1 from pg_stat_activity where datname = current_database() and {ready}"
            ).fetchone():
                assert time.monotonic() < deadline, "the worker did not listen"
                time.sleep(0.05)
            with connect(fresh_db) as first, connect(fresh_db) as second:
                enqueue(first, "test.ok", '{"n": 1}')  # notifies at commit
                enqueue(second, "test.ok", '{"n": 2}')  # does not
                first.commit()
                time.sleep(0.05)  # the worker claims job 1 before job 2 exists for it
                second.commit()
                committed = time.monotonic()
            while seen != [1, 2]:
                # well inside the 60 s poll interval, with room for a loaded CI machine
                assert time.monotonic() - committed < 5, seen
                time.sleep(0.02)
        finally:
            worker.stop()
            thread.join(timeout=15)


def test_a_long_schedule_does_not_hold_the_deliveries(app_url, admin):
    """A schedule that takes seconds (8) runs on the worker's schedules thread: a job enqueued
    meanwhile is delivered while it runs, and the schedule completes (before, the delivery
    waited for it: schedules ran between claims)."""
    admin.execute("update ops.schedules set enabled = false")
    admin.execute(
        "create function public.test_slow_schedule() returns text language sql"
        " as $$ select pg_sleep(8)::text $$"
    )
    admin.execute(
        "insert into ops.schedules (name, function_name, every, next_run_at)"
        " values ('test.slow', 'public.test_slow_schedule()', '1 hour', now())"
    )
    delivered: list[float] = []
    worker = Worker(
        app_url,
        handlers={"test.ok": lambda job: delivered.append(time.monotonic())},
        poll_interval=0.2,
        schedule_every=0.1,
    )
    thread = threading.Thread(target=worker.run, daemon=True)
    with worker:
        thread.start()
        try:
            deadline = time.monotonic() + 20
            while not admin.execute(
                "select 1 from pg_stat_activity where datname = current_database()"
                " and state = 'active' and query like '%run_due_schedules%'"
            ).fetchone():
                assert time.monotonic() < deadline, "the schedule did not start"
                time.sleep(0.05)
            started = time.monotonic()
            enqueue(admin, "test.ok", '{"n": 1}')
            while not delivered:
                assert time.monotonic() - started < 5, "the delivery waited for the schedule"
                time.sleep(0.02)
            assert (
                admin.execute("select runs from ops.schedules where name = 'test.slow'").fetchone()[
                    "runs"
                ]
                == 0
            )  # still running when the job was delivered
            while (
                admin.execute("select runs from ops.schedules where name = 'test.slow'").fetchone()[
                    "runs"
                ]
                == 0
            ):
                assert time.monotonic() - started < 20, "the schedule did not finish"
                time.sleep(0.1)
        finally:
            worker.stop()
            thread.join(timeout=15)
    assert not thread.is_alive()
