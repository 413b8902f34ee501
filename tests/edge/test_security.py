"""Attacks on the edge (issue 11): each test performs the attack and checks it fails.

Batch bypasses (encoded and dot-segment paths, probes in a batch), the public development
secret in production configurations, client-controlled IPs and request ids, public metrics.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from typing import Annotated

import httpx
import jwt
import pytest
from edge_helpers import (
    PREFIX,
    assert_error,
    bearer,
    call_as,
    make_client,
    new_user,
    token_for,
)
from edge_helpers import settings as edge_settings
from fastapi import Depends, Request

from edge.app import create_app
from edge.auth.deps import Caller, as_caller, resolve_caller
from edge.client import client_address
from edge.settings import EdgeSettings, networks
from flagship import config
from flagship.config import ConfigError
from flagship.database import connect
from flagship.testing.servers import free_port, wait_http
from mail.unsubscribe import make_token
from sync.settings import WorkerSettings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def user(admin_url):
    return new_user(admin_url, username="sec_user")


# -- 7. batch bypasses ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        f"{PREFIX}/%62atch",
        f"{PREFIX}/./batch",
        f"{PREFIX}/x/../batch",
        f"{PREFIX}/%2e/batch",
        f"{PREFIX}//batch",
        f"{PREFIX}/batch/",
        f"{PREFIX}/%2562atch",  # encoded twice: refused, never decoded twice
    ],
)
def test_a_batch_cannot_hide_a_batch_in_its_path(client, path):
    inner = {"requests": [{"path": f"{PREFIX}/ready"}] * 20}
    outer = {"requests": [{"method": "POST", "path": path, "body": inner}] * 20}
    response = client.post(f"{PREFIX}/batch", json=outer)
    assert_error(response, 400, "invalid_argument")


def test_a_sub_request_path_cannot_leave_the_prefix(client):
    escape = {"requests": [{"path": f"{PREFIX}/../../metrics"}]}
    assert_error(client.post(f"{PREFIX}/batch", json=escape), 400, "invalid_argument")


def test_normalised_paths_still_run(client):
    ok = {"requests": [{"id": "h", "path": f"{PREFIX}/x/../%68ealth"}]}
    response = client.post(f"{PREFIX}/batch", json=ok)
    assert response.status_code == 200, response.text
    assert response.json()["responses"][0]["status"] == 200


def test_every_sub_request_counts_against_the_ip_limit(app_url):
    """Probes are unlimited when polled directly, never inside a batch."""
    with make_client(app_url, rate_ip=(5, 60.0)) as c:
        body = {"requests": [{"path": f"{PREFIX}/ready"}] * 10}
        response = c.post(f"{PREFIX}/batch", json=body)
        assert response.status_code == 200, response.text
        statuses = [r["status"] for r in response.json()["responses"]]
        assert statuses.count(429) >= 6  # 1 (the batch) + 4 allowed, the rest refused


def test_ready_answers_from_a_cache(app_url):
    with make_client(app_url, ready_cache_seconds=30.0) as c:
        assert c.get(f"{PREFIX}/ready").status_code == 200
        computed_at = c.app.state.ready_cache.at
        for _ in range(20):
            assert c.get(f"{PREFIX}/ready").status_code == 200
        assert c.app.state.ready_cache.at == computed_at  # one database query for all 21


# -- 8. the public development secret --------------------------------------------------------
JWKS_ONLY = {"JWT_JWKS_URL": "http://127.0.0.1:9/jwks.json", "EMAIL_LINK_SECRET": "l" * 40}


def from_env(monkeypatch, env: dict[str, str]) -> EdgeSettings:
    for name in ("JWT_SECRET", "FLAGSHIP_ENV", "EMAIL_LINK_SECRET", "JWT_JWKS_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return EdgeSettings.from_env()


def test_jwks_only_refuses_hs256_tokens_signed_with_the_local_secret(app_url, user, monkeypatch):
    settings = from_env(monkeypatch, JWKS_ONLY)
    assert settings.jwt_secret is None
    forged = jwt.encode(user.claims, config.LOCAL_JWT_SECRET, algorithm="HS256")
    app = create_app(database_url=app_url, edge=settings)
    with TestClient(app, raise_server_exceptions=False) as c:
        assert_error(c.get(f"{PREFIX}/me", headers=bearer(forged)), 401, "edge_token_invalid")
        # Unsubscribe links forged with the public secret do not verify either.
        token = make_token(config.LOCAL_JWT_SECRET, "victim@example.test", "newsletter")
        got = c.post(f"{PREFIX}/unsubscribe", params={"token": token})
        assert_error(got, 400, "edge_unsubscribe_invalid")
        real = make_token(JWKS_ONLY["EMAIL_LINK_SECRET"], "victim@example.test", "newsletter")
        assert c.get(f"{PREFIX}/unsubscribe", params={"token": real}).status_code == 200
        # Without a secret no token can be minted from an API key.
        got = c.post(f"{PREFIX}/api-keys/token", json={"api_key": "fsk_" + "0" * 8})
        assert_error(got, 503, "edge_api_key_exchange_unavailable")


@pytest.mark.parametrize(
    "env",
    [
        {"FLAGSHIP_ENV": "production"},  # no secret at all
        {"FLAGSHIP_ENV": "production", "JWT_SECRET": config.LOCAL_JWT_SECRET},
        {"FLAGSHIP_ENV": "production", "JWT_JWKS_URL": "http://127.0.0.1:9/jwks.json"},
        {"JWT_JWKS_URL": "http://127.0.0.1:9/jwks.json"},  # nothing to sign links with
        {"FLAGSHIP_ENV": "production", "JWT_SECRET": "r" * 40,
         "EMAIL_LINK_SECRET": config.LOCAL_JWT_SECRET},
    ],
)  # fmt: skip
def test_production_configurations_refuse_to_start_without_real_secrets(env, monkeypatch):
    with pytest.raises(ConfigError):
        from_env(monkeypatch, env)


def test_production_starts_with_real_secrets(monkeypatch):
    settings = from_env(monkeypatch, {"FLAGSHIP_ENV": "production", "JWT_SECRET": "r" * 40})
    assert settings.production and settings.jwt_secret == "r" * 40


def test_python_m_edge_refuses_production_without_secrets(app_url):
    env = {k: v for k, v in os.environ.items() if k not in ("JWT_SECRET", "EMAIL_LINK_SECRET")}
    env.update({"FLAGSHIP_ENV": "production", "DATABASE_URL": app_url, "EDGE_PORT": "1"})
    done = subprocess.run(
        [sys.executable, "-m", "edge"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert "JWT_SECRET" in done.stderr


@pytest.mark.parametrize(
    "env",
    [
        {"FLAGSHIP_ENV": "production"},
        {"FLAGSHIP_ENV": "production", "JWT_SECRET": config.LOCAL_JWT_SECRET},
        {"FLAGSHIP_ENV": "production", "EMAIL_LINK_SECRET": config.LOCAL_JWT_SECRET},
    ],
)
def test_the_worker_never_signs_links_with_the_public_secret_in_production(env):
    with pytest.raises(ConfigError):
        WorkerSettings.from_env({"DATABASE_URL": "postgresql://unused", **env})
    real = WorkerSettings.from_env(
        {
            "DATABASE_URL": "postgresql://unused",
            "FLAGSHIP_ENV": "production",
            "JWT_SECRET": "r" * 40,
        }
    )
    assert real.mail.link_secret == "r" * 40


def test_python_m_sync_needs_database_url():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    done = subprocess.run(
        [sys.executable, "-m", "sync"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "DATABASE_URL" in done.stderr


def test_a_non_uuid_subject_is_401_not_500(client, user):
    token = token_for(user, sub="not-a-uuid")
    assert_error(client.get(f"{PREFIX}/me", headers=bearer(token)), 401, "edge_token_invalid")


# -- 12. client address and request id -----------------------------------------------------
def headers_app(app_url, **overrides):
    app = create_app(database_url=app_url, edge=edge_settings(**overrides))

    @app.get(f"{PREFIX}/_test/headers")
    async def headers(request: Request, caller: Annotated[Caller, Depends(resolve_caller)]) -> dict:
        async with as_caller(request, caller, request.app.state.db) as conn:
            cursor = await conn.execute("select current_setting('request.headers')::jsonb as h")
            return (await cursor.fetchone())["h"]

    return app


def recorded_ip(admin, headers: dict) -> str | None:
    """What SQL records as the client address for a request with these headers."""
    with admin.transaction():
        row = admin.execute(
            "select set_config('request.headers', %s, true), host(private.ctf_client_ip()) as ip",
            (json.dumps(headers),),
        ).fetchone()
    return row["ip"]


def test_forwarded_for_from_a_client_is_not_the_recorded_ip(app_url, admin, user):
    spoof = {
        "X-Forwarded-For": "203.0.113.9",
        "X-Real-Ip": "203.0.113.10",
        "X-Flagship-Client-Ip": "203.0.113.11",
    }
    app = headers_app(app_url)
    with TestClient(app, client=("198.51.100.1", 4000)) as c:
        seen = c.get(f"{PREFIX}/_test/headers", headers={**bearer(token_for(user)), **spoof})
    assert seen.status_code == 200, seen.text
    assert recorded_ip(admin, seen.json()) == "198.51.100.1"


def test_forwarded_for_is_read_from_trusted_proxies_only(app_url, admin, user):
    app = headers_app(app_url, trusted_proxies=networks(["198.51.100.0/24"]))
    chain = {"X-Forwarded-For": "6.6.6.6, 203.0.113.9, 198.51.100.7"}
    with TestClient(app, client=("198.51.100.1", 4000)) as c:
        seen = c.get(f"{PREFIX}/_test/headers", headers={**bearer(token_for(user)), **chain})
    # The client forged 6.6.6.6; the proxies vouch for 203.0.113.9.
    assert recorded_ip(admin, seen.json()) == "203.0.113.9"
    with TestClient(app, client=("192.0.2.50", 4000)) as c:  # not a proxy: header ignored
        seen = c.get(f"{PREFIX}/_test/headers", headers={**bearer(token_for(user)), **chain})
    assert recorded_ip(admin, seen.json()) == "192.0.2.50"


def test_client_address_walks_the_chain_from_the_right():
    proxies = networks(["10.0.0.0/8"])

    def scope(peer: str, xff: str | None) -> dict:
        headers = [(b"x-forwarded-for", xff.encode())] if xff else []
        return {"type": "http", "client": (peer, 1), "headers": headers}

    assert client_address(scope("10.0.0.1", "1.2.3.4, 10.0.0.2"), proxies) == "1.2.3.4"
    assert client_address(scope("10.0.0.1", "garbage, 10.0.0.2"), proxies) == "10.0.0.2"
    assert client_address(scope("192.0.2.1", "1.2.3.4"), proxies) == "192.0.2.1"
    assert client_address(scope("10.0.0.1", "1.2.3.4"), ()) == "10.0.0.1"
    assert client_address(scope("testclient", "1.2.3.4"), proxies) is None


def test_api_key_last_use_records_the_socket_address_behind_no_proxy(app_url, admin_url, admin):
    """`python -m edge` on loopback: a forged X-Forwarded-For is not the key's last IP."""
    owner = new_user(admin_url, username="sec_key_owner")
    key = call_as(
        admin_url,
        owner,
        "select api.accounts_create_api_key(p_name => 'sec', p_scopes => %s) as k",
        (["ctf:challenges:write"],),
    )["k"]
    port = free_port()
    env = {**os.environ, "DATABASE_URL": app_url, "EDGE_HOST": "127.0.0.1"}
    env["EDGE_PORT"] = str(port)
    process = subprocess.Popen(
        [sys.executable, "-m", "edge"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}{PREFIX}"
    try:
        wait_http(f"{base}/health", 30, process)
        got = httpx.post(
            f"{base}/api-keys/token",
            json={"api_key": key["key"]},
            headers={"X-Forwarded-For": "203.0.113.9"},
            timeout=10,
        )
        assert got.status_code == 200, got.text
    finally:
        process.terminate()
        process.wait(timeout=15)
    row = admin.execute(
        "select host(last_used_ip) as ip from accounts.api_keys where id = %s", (key["id"],)
    ).fetchone()
    assert row["ip"] == "127.0.0.1"


def test_long_or_odd_request_ids_are_replaced(client):
    for bad in ("x" * 10_011, "x" * 65, "a/b", "a b"):
        got = client.get(f"{PREFIX}/health", headers={"X-Request-Id": bad}).headers
        assert got["x-request-id"] != bad and len(got["x-request-id"]) <= 64
    ok = "r" * 64
    assert (
        client.get(f"{PREFIX}/health", headers={"X-Request-Id": ok}).headers["x-request-id"] == ok
    )


def test_the_audit_log_never_stores_a_client_supplied_long_request_id(admin_url):
    """A caller reaching SQL without the edge (PostgREST) cannot store 10,011 characters."""

    def audited_request_id(conn, request_id: str) -> str | None:
        conn.execute(
            "select set_config('request.headers', %s, true)",
            (json.dumps({"x-request-id": request_id}),),
        )
        audit_id = conn.execute("select private.audit('test.id', 't', '1') as id").fetchone()
        return conn.execute(
            "select request_id from ops.audit_log where id = %s", (audit_id["id"],)
        ).fetchone()["request_id"]

    with connect(admin_url) as conn:
        assert audited_request_id(conn, "x" * 10_011) is None
        assert audited_request_id(conn, "x" * 65) is None
        assert audited_request_id(conn, "trace-1.2") == "trace-1.2"
        conn.rollback()


# -- /metrics is not public --------------------------------------------------------------------
def test_metrics_are_not_served_to_remote_clients_without_a_token(app_url):
    app = create_app(database_url=app_url, edge=edge_settings())
    with TestClient(app, client=("203.0.113.9", 4000), raise_server_exceptions=False) as c:
        assert_error(c.get("/metrics"), 403, "forbidden")
        assert_error(c.get(f"{PREFIX}/metrics"), 403, "forbidden")
    with TestClient(app, client=("127.0.0.1", 4000)) as c:
        assert "edge_requests_total" in c.get("/metrics").text


def test_metrics_need_the_token_when_one_is_configured(app_url):
    app = create_app(database_url=app_url, edge=edge_settings(metrics_token="m" * 32))
    with TestClient(app, client=("127.0.0.1", 4000), raise_server_exceptions=False) as c:
        assert_error(c.get("/metrics"), 401, "not_authenticated")
        assert_error(c.get("/metrics", headers=bearer("m" * 31 + "x")), 401, "not_authenticated")
        assert c.get("/metrics", headers=bearer("m" * 32)).status_code == 200


def test_a_batch_cannot_read_metrics(client):
    body = {"requests": [{"path": f"{PREFIX}/metrics"}]}
    response = client.post(f"{PREFIX}/batch", json=body)
    assert response.json()["responses"][0]["status"] == 403


def test_a_nul_byte_the_driver_refuses_is_a_400_not_a_500(app_url):
    """psycopg refuses text with a NUL byte before sending it (DataError, no SQLSTATE): the
    caller sent bad input, so it is 400 invalid_argument; errors the server raised keep
    their own mapping."""
    import psycopg

    from edge import dberrors

    with pytest.raises(psycopg.DataError) as info, connect(app_url) as conn:
        conn.execute("select %s::text", ("a\x00b",))
    mapped = dberrors.to_api_error(info.value)
    assert (mapped.status, mapped.code) == (400, "invalid_argument")
    with pytest.raises(psycopg.DataError) as server, connect(app_url) as conn:
        conn.execute("select 'x'::int")  # 22P02 from the server, not an API error
    assert server.value.sqlstate == "22P02" and dberrors.to_api_error(server.value) is None
