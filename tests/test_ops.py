"""ops basics: rate limits, the outbox's enqueue, the error helper."""

from __future__ import annotations

import json

from flagship.testing.harness import api_error, as_user, scalar


def hit(db, key="k", max_hits=3, window="1 minute"):
    db.execute("select private.rate_limit(%s, %s, %s::interval)", (key, max_hits, window))


def test_rate_limit_raises_pt429_with_retry_after(db):
    for _ in range(3):
        hit(db)
    db.execute("savepoint s")
    try:
        hit(db)
    except Exception as exc:
        db.execute("rollback to savepoint s")
        assert exc.diag.sqlstate == "PT429" and exc.diag.message_hint == "rate_limited"
        retry = json.loads(exc.diag.message_detail)["retry_after"]
        assert 1 <= retry <= 60
    else:
        raise AssertionError("the fourth hit passed")
    hit(db, key="other")  # keys are independent


def test_rate_limit_window_resets(db):
    for _ in range(3):
        hit(db)
    # Time is controlled by the rows, not by sleeping.
    db.execute("update ops.rate_limits set window_start = now() - interval '2 minutes'")
    hit(db)
    assert db.execute("select hits from ops.rate_limits where key = 'k'").fetchone()["hits"] == 1


def test_rate_limit_reads_one_row(db):
    db.execute(
        "insert into ops.rate_limits select 'key' || g, now(), 1 from generate_series(1, 5000) g"
    )
    db.execute("analyze ops.rate_limits")
    plan = db.execute(
        "explain (format json) select hits from ops.rate_limits where key = 'key42'"
    ).fetchone()
    assert "rate_limits_pkey" in json.dumps(plan)


def test_enqueue_is_idempotent_per_topic_and_key(db):
    first = db.execute("select ops.enqueue('email.send', '{\"a\": 1}', 'k1') as id").fetchone()
    again = db.execute("select ops.enqueue('email.send', '{\"a\": 2}', 'k1') as id").fetchone()
    other = db.execute("select ops.enqueue('email.other', '{}', 'k1') as id").fetchone()
    assert first["id"] == again["id"] != other["id"]
    payload = db.execute("select payload from ops.outbox where id = %s", (first["id"],))
    assert payload.fetchone()["payload"] == {"a": 1}
    with api_error(db, None, "23514"):
        db.execute("select ops.enqueue('Not A Topic', '{}')")


def test_clients_cannot_enqueue_or_read_the_outbox(db, cast):
    for who in ("anon", cast.member, cast.admin):
        with as_user(db, who), api_error(db, None, "42501"):
            db.execute("select ops.enqueue('email.send', '{}')")
        with as_user(db, who), api_error(db, None, "42501"):
            db.execute("select * from ops.outbox")


def test_raise_error_shape(db):
    db.execute("savepoint s")
    try:
        db.execute(
            "select private.raise_error('conflict', 'Already there.', 'PT409', '{\"id\": 7}')"
        )
    except Exception as exc:
        db.execute("rollback to savepoint s")
        assert exc.diag.sqlstate == "PT409"
        assert exc.diag.message_primary == "Already there."
        assert exc.diag.message_hint == "conflict"
        assert json.loads(exc.diag.message_detail) == {"id": 7}
    else:
        raise AssertionError("no error raised")


def test_statement_stats_are_optional(db):
    """pg_stat_statements is optional: without it (or not preloaded) the metrics source says
    so instead of failing; with it, the top statements of this database."""
    stats = scalar(db, "service_role", "select ops.statement_stats(5)")
    installed = db.execute(
        "select 1 from pg_extension where extname = 'pg_stat_statements'"
    ).fetchone()
    if installed is None:
        assert stats == {"available": False, "reason": "extension not installed"}
    elif stats["available"]:
        assert len(stats["statements"]) <= 5
        assert {"queryid", "query", "calls", "mean_ms", "total_ms", "rows"} <= set(
            stats["statements"][0]
        )
    else:
        assert "shared_preload_libraries" in stats["reason"]
    with api_error(db, None, "42501"):
        scalar(db, {"role": "authenticated"}, "select ops.statement_stats(5)")


def test_replica_lag_and_webhook_health_for_metrics(db):
    lag = scalar(db, "service_role", "select ops.replica_lag()")
    assert lag["standby"] is False and isinstance(lag["replicas"], list)
    health = scalar(db, "service_role", "select ops.webhook_endpoint_health()")
    assert isinstance(health, list)
    for who in ("anon", {"role": "authenticated"}):
        with api_error(db, None, "42501"):
            scalar(db, who, "select ops.replica_lag()")


def test_outbox_jobs_carry_the_request_id(db):
    """ops.enqueue inside a request stores its X-Request-Id (when it is plain and short)."""

    def queue(request_id):
        job = scalar(
            db,
            "service_role",
            "select ops.enqueue('test.rid', '{}')",
            headers={"x-request-id": request_id} if request_id else {},
        )
        return db.execute("select request_id from ops.outbox where id = %s", (job,)).fetchone()[
            "request_id"
        ]

    assert queue("abc-123") == "abc-123"
    assert queue("x" * 65) is None
    assert queue("bad id;drop") is None
    assert queue(None) is None
