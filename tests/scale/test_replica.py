"""Read replicas: /rest/v1 reads on DATABASE_READ_URL, writes on the primary, and
read-your-writes for the writer — against a real streaming replica of PostgreSQL 15 made
with pg_basebackup. Pausing the replica's WAL replay makes "which server answered" visible:
a paused replica does not see a new row, the primary does."""

from __future__ import annotations

import os
import time
import uuid

import httpx
import jwt
import pytest

from flagship import config
from flagship.database import connect
from flagship.testing.gateway import serve_gateway
from flagship.testing.servers import debian_pg_bin, start_replica

pytestmark = pytest.mark.skipif(debian_pg_bin() is None, reason="PostgreSQL 15 not installed")
PROFILE = {"Content-Profile": "rest_conformance", "Accept-Profile": "rest_conformance"}
SCHEMAS = ("api", "rest_conformance")
WINDOW = 1.5  # DATABASE_READ_AFTER_WRITE_SECONDS for these tests


@pytest.fixture(scope="module")
def replica(pg15):
    primary, url = pg15
    standby = start_replica(primary, config.STATE_DIR / f"scale-replica-{os.getpid()}")
    try:
        yield url, standby.cluster.url(dbname="flagship"), standby.cluster
    finally:
        standby.cluster.destroy()


def token(sub: str) -> str:
    claims = {"sub": sub, "role": "authenticated", "aud": "authenticated",
              "exp": int(time.time()) + 600, "iss": "http://127.0.0.1:54321/auth/v1"}  # fmt: skip
    return jwt.encode(claims, config.LOCAL_JWT_SECRET, algorithm="HS256")


def client(gw, sub: str) -> httpx.Client:
    headers = {"apikey": gw.anon_key, "Authorization": f"Bearer {token(sub)}", **PROFILE}
    return httpx.Client(base_url=f"{gw.url}/rest/v1", headers=headers, timeout=10)


def replay(replica_url: str, paused: bool) -> None:
    with connect(replica_url, autocommit=True) as conn:
        conn.execute(f"select pg_wal_replay_{'pause' if paused else 'resume'}()")


def seen(c: httpx.Client, body: str) -> bool:
    r = c.get("/notes", params={"body": f"eq.{body}", "select": "body"})
    assert r.status_code == 200, r.text
    return r.json() == [{"body": body}]


def wait_replayed(c: httpx.Client, body: str) -> None:
    deadline = time.monotonic() + 15
    while not seen(c, body):
        assert time.monotonic() < deadline, "the replica never replayed the write"
        time.sleep(0.1)


def test_reads_go_to_the_replica_and_writers_read_their_writes(replica, monkeypatch):
    primary_url, replica_url, _ = replica
    monkeypatch.setenv("DATABASE_READ_AFTER_WRITE_SECONDS", str(WINDOW))
    writer, other = str(uuid.uuid4()), str(uuid.uuid4())
    body = f"note-{uuid.uuid4().hex[:8]}"
    gateway = serve_gateway(primary_url, schemas=SCHEMAS, read_url=replica_url)
    with gateway as gw, client(gw, writer) as a, client(gw, other) as b:
        replay(replica_url, paused=True)
        try:
            r = a.post("/rpc/add_note", json={"body": body})
            assert r.status_code == 200, r.text  # a write: the primary (a replica refuses it)
            assert seen(a, body)  # the writer, within the window: the primary
            assert not seen(b, body)  # anyone else: the (paused) replica
            time.sleep(WINDOW + 0.2)
            assert not seen(a, body)  # the window is over: the writer reads the replica too
        finally:
            replay(replica_url, paused=False)
        wait_replayed(b, body)
        assert seen(a, body)


def test_a_stopped_replica_falls_back_to_the_primary(replica):
    primary_url, replica_url, standby = replica
    body = f"fallback-{uuid.uuid4().hex[:8]}"
    with connect(primary_url, autocommit=True) as conn:
        conn.execute("insert into rest_conformance.notes (body) values (%s)", (body,))
    gateway = serve_gateway(primary_url, schemas=SCHEMAS, read_url=replica_url)
    with gateway as gw, client(gw, str(uuid.uuid4())) as c:
        wait_replayed(c, body)
        standby.stop()
        try:
            started = time.monotonic()
            assert seen(c, body)  # served by the primary, not a 503
            assert time.monotonic() - started < 3
            assert seen(c, body)
        finally:
            standby.start()
