"""Faults on a real PostgreSQL 15 server of the test's own: a crash-restart under load, and a
slow database. The services answer 503 quickly while it is down, recover without a restart,
and lose nothing they reported as committed; slow statements end at the configured bound."""

from __future__ import annotations

import threading
import time

import httpx
import jwt
import pytest

from flagship import config
from flagship.database import connect
from flagship.testing.gateway import serve_gateway
from flagship.testing.harness import create_user, with_database
from flagship.testing.servers import debian_pg_bin

pytestmark = pytest.mark.skipif(debian_pg_bin() is None, reason="PostgreSQL 15 not installed")
PROFILE = {"Content-Profile": "rest_conformance", "Accept-Profile": "rest_conformance"}


def restart(cluster, down_for: float) -> tuple[float, float]:
    """Crash the server (immediate stop: no shutdown checkpoint) and start it again; when it
    was gone and when it was starting again (monotonic)."""
    cluster._run([cluster.binary("pg_ctl"), "-D", str(cluster.pgdata), "-m", "immediate", "stop"])
    down_at = time.monotonic()
    time.sleep(down_for)
    starting_at = time.monotonic()
    cluster.start()
    return down_at, starting_at


def test_a_crash_restart_under_load_answers_503_recovers_and_keeps_every_commit(pg15):
    cluster, url = pg15
    results: list[tuple[float, float, int, str]] = []  # started, seconds, status, body sent
    stop = threading.Event()
    with serve_gateway(url, schemas=("api", "rest_conformance")) as gw:
        headers = {"apikey": gw.anon_key, **PROFILE}

        def load(worker: int) -> None:
            with httpx.Client(base_url=gw.url, headers=headers, timeout=10) as client:
                n = 0
                while not stop.is_set():
                    body = f"w{worker}-{n}"
                    started = time.monotonic()
                    r = client.post("/rest/v1/rpc/add_note", json={"body": body})
                    results.append((started, time.monotonic() - started, r.status_code, body))
                    if r.status_code == 503:
                        assert r.json()["code"] in ("PGRST000", "PGRST001", "57P01"), r.text
                    n += 1

        threads = [threading.Thread(target=load, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        down_at, starting_at = restart(cluster, down_for=2.0)
        back_at = time.monotonic()
        # The pools reconnect by themselves (no service restart), with their backoff.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(
            s == 200 and at >= back_at for at, _, s, _ in list(results)
        ):
            time.sleep(0.2)
        time.sleep(2)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        ready = httpx.get(f"{gw.url}/functions/v1/ready", timeout=10)
    statuses = {s for _, _, s, _ in results}
    assert statuses <= {200, 503}, statuses
    during = [(secs, s) for at, secs, s, _ in results if down_at <= at < starting_at]
    assert during and all(s == 503 for _, s in during), during[:5]
    # Quick answers while down: no request waits out the 5 s pool timeout.
    assert max(secs for secs, _ in during) < 2.0, max(during)
    first_ok = min(at for at, _, s, _ in results if s == 200 and at >= back_at)
    assert first_ok - back_at < 15  # recovered, without restarting the gateway
    # Once back, it stays back: at most the requests already waiting then still fail.
    after = [s for at, _, s, _ in results if at >= first_ok + 1.0]
    assert after and set(after) == {200}, after[:10]
    assert ready.status_code == 200, ready.text
    committed = {body for _, _, s, body in results if s == 200}
    with connect(url) as conn:
        stored = {r["body"] for r in conn.execute("select body from rest_conformance.notes")}
    assert committed <= stored  # nothing answered 200 was lost in the crash


def test_a_slow_statement_ends_at_the_role_timeout_with_postgrest_error(pg15):
    _, url = pg15
    with serve_gateway(url, schemas=("api", "rest_conformance")) as gw:
        started = time.monotonic()
        r = httpx.post(
            f"{gw.url}/rest/v1/rpc/slow",
            json={"seconds": 20},
            headers={"apikey": gw.anon_key, **PROFILE},
            timeout=30,
        )
        elapsed = time.monotonic() - started
    # anon's statement_timeout is 3 s (sql/platform/00_roles.sql), as PostgREST applies it.
    assert r.status_code == 500 and r.json()["code"] == "57014", r.text
    assert 2.5 < elapsed < 6, elapsed


def test_the_edge_answers_database_timeout_at_its_bound(pg15, monkeypatch):
    _, url = pg15
    monkeypatch.setenv("EDGE_STATEMENT_TIMEOUT_MS", "1500")
    with connect(url) as admin:
        user = create_user(admin, username="slowdb_user")
        admin.commit()
    token = jwt.encode(user.claims, config.LOCAL_JWT_SECRET, algorithm="HS256")
    with serve_gateway(url) as gw, connect(with_database(url, "flagship")) as locker:
        # A long transaction holds the profiles table: the caller's read must wait.
        locker.execute("lock table accounts.profiles in access exclusive mode")
        started = time.monotonic()
        r = httpx.get(
            f"{gw.url}/functions/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        elapsed = time.monotonic() - started
        locker.rollback()
    assert r.status_code == 504, r.text
    assert r.json()["code"] == "database_timeout"
    assert elapsed < 4, elapsed
