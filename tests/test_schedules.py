"""Periodic jobs: ops.schedules run by the worker, once per interval, failures recorded."""

from __future__ import annotations

from urllib.parse import urlsplit

from flagship.database import connect
from flagship.testing.harness import with_database
from sync.worker import Worker


def test_due_schedules_run_once_and_reschedule(db):
    db.execute("update ops.schedules set next_run_at = now() - interval '1 second'")
    ran = db.execute("select ops.run_due_schedules() as n").fetchone()["n"]
    assert ran == db.execute("select count(*) as n from ops.schedules").fetchone()["n"] >= 5
    rows = db.execute("select * from ops.schedules").fetchall()
    assert all(r["runs"] == 1 and r["last_error"] is None for r in rows), rows
    assert all(r["next_run_at"] > r["last_run_at"] for r in rows)
    assert db.execute("select ops.run_due_schedules() as n").fetchone()["n"] == 0


def test_a_failing_schedule_is_recorded_and_does_not_block_others(db):
    db.execute(
        "create function public.always_fails() returns int language plpgsql"
        " set search_path = '' as $$ begin raise exception 'boom'; end $$"
    )
    db.execute(
        "insert into ops.schedules (name, function_name, every, next_run_at)"
        " values ('test.fails', 'public.always_fails()', '1 minute', now() - interval '1 hour')"
    )
    db.execute("update ops.schedules set next_run_at = now() - interval '1 second'")
    db.execute("select ops.run_due_schedules()")
    failed = db.execute("select * from ops.schedules where name = 'test.fails'").fetchone()
    assert failed["failures"] == 1 and "boom" in failed["last_error"]
    others = db.execute("select runs from ops.schedules where name <> 'test.fails'").fetchall()
    assert all(r["runs"] == 1 for r in others)


def test_retention_purges_old_finished_jobs_only(db):
    db.execute(
        "insert into ops.outbox (topic, status, processed_at, updated_at) values"
        " ('t.old', 'done', now() - interval '8 days', now() - interval '8 days'),"
        " ('t.new', 'done', now() - interval '1 day', now() - interval '1 day'),"
        " ('t.dead', 'dead', null, now() - interval '31 days'),"
        " ('t.pending', 'pending', null, now() - interval '60 days')"
    )
    assert db.execute("select ops.purge_finished_outbox() as n").fetchone()["n"] == 2
    left = {r["topic"] for r in db.execute("select topic from ops.outbox where topic like 't.%'")}
    assert left == {"t.new", "t.pending"}


def test_the_worker_runs_due_schedules(fresh_db, test_server):
    name = urlsplit(fresh_db).path.lstrip("/")
    app_url = with_database(fresh_db, name, test_server.app_user)
    with connect(fresh_db) as conn:
        conn.execute("update ops.schedules set next_run_at = now() - interval '1 second'")
        conn.commit()
    with Worker(app_url, handlers={}) as worker:
        worker.run_once()
    with connect(fresh_db) as conn:
        runs = [r["runs"] for r in conn.execute("select runs from ops.schedules")]
    assert runs and all(n == 1 for n in runs)
