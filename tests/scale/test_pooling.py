"""Transaction pooling: what DATABASE_DIRECT_URL switches on, and why it is needed, against a
real PgBouncer in transaction mode in front of the test server."""

from __future__ import annotations

import psycopg
import pytest

from flagship import config
from flagship.database import connect, direct_url, pool_kwargs, pooled
from flagship.testing.servers import start_pgbouncer
from gateway import config as gateway_config
from gateway.app import create_app


def test_without_a_direct_url_nothing_is_pooled(monkeypatch):
    monkeypatch.delenv("DATABASE_DIRECT_URL", raising=False)
    assert not pooled() and pool_kwargs() == {}
    assert direct_url("postgresql://u@pooler:6432/db") == "postgresql://u@pooler:6432/db"


def test_a_direct_url_turns_prepares_off_and_keeps_the_database_name(monkeypatch):
    monkeypatch.setenv("DATABASE_DIRECT_URL", "postgresql://postgres:pw@db.example:5432/postgres")
    assert pooled() and pool_kwargs() == {"prepare_threshold": None}
    assert direct_url("postgresql://postgres.ref:pw@pooler.example:6543/flagship_x") == (
        "postgresql://postgres:pw@db.example:5432/flagship_x"
    )
    app = create_app(
        gateway_config.load(), database_url="postgresql://postgres@pooler:6543/db", mount_auth=False
    )
    rest = app.state.rest
    assert rest.pool.kwargs["prepare_threshold"] is None
    assert app.state.listener.url == "postgresql://postgres:pw@db.example:5432/db"


@pytest.fixture
def bouncer(test_server, fresh_db):
    """PgBouncer in transaction mode with two server connections for every client."""
    from urllib.parse import urlsplit

    server = start_pgbouncer(
        config.STATE_DIR / "pgbouncer-pooling-test", *test_server.backend(), pool_size=2
    )
    try:
        yield server.url("postgres", urlsplit(fresh_db).path.lstrip("/"))
    finally:
        server.stop()


def test_session_state_does_not_survive_a_transaction_pooler(bouncer):
    """Why the services keep nothing outside `set local`: clients share server connections,
    so a session setting of one leaks to another."""
    with psycopg.connect(bouncer, autocommit=True) as a, psycopg.connect(bouncer) as b:
        a.execute("set work_mem = '7777kB'")
        seen = b.execute("select current_setting('work_mem')").fetchone()[0]
        b.rollback()
        assert seen == "7777kB"
        # Transaction-local settings stay in their transaction.
        with a.transaction():
            a.execute("select set_config('request.path', '/a', true)")
        assert b.execute("select current_setting('request.path', true)").fetchone()[0] in (
            None,
            "",
        )


def test_prepared_statements_break_across_server_connections_unless_turned_off(bouncer):
    """psycopg's automatic prepares (after 5 runs) are server-side state: through a
    transaction pooler the next transaction may get another server connection."""
    with psycopg.connect(bouncer, autocommit=True) as a, psycopg.connect(bouncer) as b:
        a.execute("select 1", prepare=True)  # prepared on server connection S1
        b.execute("select 2")  # B's open transaction now holds S1 (PgBouncer reuses LIFO)
        with pytest.raises(psycopg.errors.InvalidSqlStatementName):
            a.execute("select 1", prepare=True)  # runs on S2, which never saw the PREPARE
        b.rollback()
    with connect(bouncer, autocommit=True, prepare_threshold=None) as a, connect(bouncer) as b:
        for _ in range(10):
            assert a.execute("select 1 as one").fetchone() == {"one": 1}
        b.execute("select 2")
        for _ in range(10):
            assert a.execute("select 1 as one").fetchone() == {"one": 1}
        b.rollback()
