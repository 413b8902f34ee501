"""The edge's skeleton: probes, the one error shape, request ids, and `python -m edge`."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import warnings
from urllib.parse import urlsplit

import httpx
import pytest

from edge.app import PREFIX, create_app
from edge.db import Database
from edge.routers import health
from flagship import migrate
from flagship.database import connect
from flagship.testing.harness import with_database
from flagship.testing.servers import free_port, wait_http

with warnings.catch_warnings():
    # The test client warns that it prefers another HTTP library; httpx is what we lock.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

ERROR_KEYS = {"code", "message", "details", "request_id"}


def make_client(url: str) -> TestClient:
    app = create_app(database_url=url)

    @app.get(f"{PREFIX}/_test/square")
    def square(n: int) -> int:
        return n * n

    @app.get(f"{PREFIX}/_test/crash")
    def crash() -> None:
        raise RuntimeError("boom")

    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def client(app_db_url):
    with make_client(app_db_url) as c:
        yield c


def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == code
    assert body["message"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def test_health_needs_no_database():
    with make_client("postgresql://nobody@/nowhere?host=/nonexistent") as c:
        response = c.get(f"{PREFIX}/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["x-request-id"]


def test_ready_when_migrated(client):
    response = client.get(f"{PREFIX}/ready")
    assert response.status_code == 200, response.text
    applied = len(migrate.migrations())
    assert response.json() == {"status": "ready", "migrations": {"applied": applied, "pending": 0}}


def test_ready_503_when_a_migration_is_pending(fresh_db, test_server):
    latest = migrate.migrations()[-1].version
    with connect(fresh_db, autocommit=True) as conn:
        conn.execute(
            "delete from supabase_migrations.schema_migrations where version = %s", (latest,)
        )
    dbname = urlsplit(fresh_db).path.lstrip("/")
    with make_client(with_database(fresh_db, dbname, test_server.app_user)) as c:
        body = assert_error(c.get(f"{PREFIX}/ready"), 503, "not_ready")
    assert body["details"]["migrations"] == {
        "applied": len(migrate.migrations()) - 1,
        "pending": 1,
    }
    assert body["details"]["pending_versions"] == [latest]


def test_ready_503_when_the_database_is_down(monkeypatch):
    monkeypatch.setattr(health, "READY_TIMEOUT", 0.3)
    with make_client("postgresql://nobody@/nowhere?host=/nonexistent&connect_timeout=1") as c:
        body = assert_error(c.get(f"{PREFIX}/ready"), 503, "not_ready")
    assert "nonexistent" not in str(body)  # connection details stay in the log


def test_404_and_405_use_the_error_shape(client):
    assert_error(client.get(f"{PREFIX}/no-such-function"), 404, "not_found")
    assert_error(client.get("/elsewhere"), 404, "not_found")
    response = client.post(f"{PREFIX}/health")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


def test_422_lists_the_invalid_fields(client):
    assert client.get(f"{PREFIX}/_test/square", params={"n": 3}).json() == 9
    body = assert_error(
        client.get(f"{PREFIX}/_test/square", params={"n": "x"}), 422, "invalid_argument"
    )
    assert body["details"]["errors"][0]["loc"] == ["query", "n"]


def test_500_hides_the_exception(client, caplog):
    response = client.get(f"{PREFIX}/_test/crash", headers={"X-Request-Id": "crash-1"})
    body = assert_error(response, 500, "internal_error")
    assert body["request_id"] == "crash-1"
    assert "boom" not in response.text
    assert "crash-1" in caplog.text


def test_request_id_is_echoed_or_generated(client):
    response = client.get(f"{PREFIX}/health", headers={"X-Request-Id": "req-42.a:b"})
    assert response.headers["x-request-id"] == "req-42.a:b"
    body = client.get(f"{PREFIX}/nope", headers={"X-Request-Id": "req-43"}).json()
    assert body["request_id"] == "req-43"
    generated = client.get(f"{PREFIX}/health").headers["x-request-id"]
    assert len(generated) == 32
    # An id that is unsafe to log or too long is replaced, not echoed.
    for bad in ("has space", "x" * 200, "line\tbreak"):
        got = client.get(f"{PREFIX}/health", headers={"X-Request-Id": bad}).headers
        assert got["x-request-id"] != bad


def test_docs_and_openapi_under_the_prefix(client):
    assert client.get(f"{PREFIX}/docs").status_code == 200
    spec = client.get(f"{PREFIX}/openapi.json").json()
    assert {f"{PREFIX}/health", f"{PREFIX}/ready"} <= set(spec["paths"])


def test_python_m_edge_serves_health(app_db_url, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": app_db_url,
        "EDGE_HOST": "127.0.0.1",
        "EDGE_PORT": str(port),
    }
    log = (tmp_path / "edge.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "edge"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}{PREFIX}"
    try:
        wait_http(f"{base}/health", 20, process)
        assert httpx.get(f"{base}/health", timeout=5).json() == {"status": "ok"}
        assert httpx.get(f"{base}/ready", timeout=5).status_code == 200
    finally:
        process.terminate()
        code = process.wait(timeout=15)
        log.close()
    output = (tmp_path / "edge.log").read_text()
    # uvicorn shuts down gracefully, then re-raises the signal so the parent sees it.
    assert code in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output


def test_the_pool_acts_as_the_caller(app_db_url):
    async def run() -> None:
        db = Database(app_db_url, max_size=1)
        await db.open()
        try:
            claims = {"role": "authenticated", "sub": "00000000-0000-0000-0000-000000000001"}
            async with db.caller(claims, path="/functions/v1/test") as conn:
                cursor = await conn.execute("select current_user as who, auth.uid()::text as uid")
                row = await cursor.fetchone()
            assert row == {"who": "authenticated", "uid": claims["sub"]}
            async with db.connection() as conn:  # the role does not leak into the next borrower
                cursor = await conn.execute("select current_user = session_user as same")
                assert (await cursor.fetchone())["same"]
        finally:
            await db.close()

    asyncio.run(run())
