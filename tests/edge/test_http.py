"""Request handling: error shape, limits, headers, CORS, request ids in the database, batch,
metrics and logs; supabase-py's functions.invoke against a running edge; schemathesis."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from typing import Annotated

import pytest
import schemathesis
from edge_helpers import PREFIX, assert_error, bearer, make_client, new_user, token_for
from edge_helpers import settings as edge_settings
from fastapi import Depends, Request
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from edge.app import create_app
from edge.auth.deps import Caller, as_caller, resolve_caller
from flagship.testing.servers import free_port, wait_http


@pytest.fixture(scope="module")
def user(admin_url):
    return new_user(admin_url, username="http_user")


def test_security_headers(client):
    response = client.get(f"{PREFIX}/health")
    h = response.headers
    assert h["strict-transport-security"].startswith("max-age=")
    assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "DENY"
    assert h["referrer-policy"] == "no-referrer"
    assert h["content-security-policy"].startswith("default-src 'none'")
    assert_error(client.get(f"{PREFIX}/nope"), 404, "not_found")
    assert client.get(f"{PREFIX}/nope").headers["x-frame-options"] == "DENY"


def test_body_limits(app_url):
    with make_client(app_url, max_body_bytes=100) as c:
        big = b'{"api_key": "' + b"x" * 200 + b'"}'
        assert_error(
            c.post(
                f"{PREFIX}/api-keys/token",
                content=big,
                headers={"content-type": "application/json"},
            ),
            413,
            "edge_payload_too_large",
        )

        def chunks():
            yield b'{"api_key": "'
            yield b"x" * 200
            yield b'"}'

        assert_error(
            c.post(
                f"{PREFIX}/api-keys/token",
                content=chunks(),
                headers={"content-type": "application/json"},
            ),
            413,
            "edge_payload_too_large",
        )
        malformed = c.post(
            f"{PREFIX}/batch", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert_error(malformed, 422, "invalid_argument")


def test_ip_and_user_rate_limits(app_url, user):
    with make_client(app_url, rate_ip=(3, 60.0)) as c:
        for _ in range(3):
            c.get(f"{PREFIX}/nope")
        response = c.get(f"{PREFIX}/nope")
        body = assert_error(response, 429, "rate_limited")
        assert response.headers["retry-after"] == str(body["details"]["retry_after"])
        assert c.get(f"{PREFIX}/health").status_code == 200  # probes are never limited
    with make_client(app_url, rate_user=(1, 60.0)) as c:
        assert c.get(f"{PREFIX}/me", headers=bearer(token_for(user))).status_code == 200
        assert_error(c.get(f"{PREFIX}/me", headers=bearer(token_for(user))), 429, "rate_limited")


def test_cors_from_configuration(app_url):
    with make_client(app_url, cors_origins=("https://app.example",)) as c:
        ok = c.options(
            f"{PREFIX}/me",
            headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
        )
        assert ok.headers["access-control-allow-origin"] == "https://app.example"
        other = c.get(f"{PREFIX}/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_request_id_reaches_the_database(app_url, user):
    app = create_app(database_url=app_url, edge=edge_settings())

    @app.get(f"{PREFIX}/_test/headers")
    async def headers(request: Request, caller: Annotated[Caller, Depends(resolve_caller)]) -> dict:
        async with as_caller(request, caller, request.app.state.db) as conn:
            cursor = await conn.execute(
                "select current_setting('request.headers')::jsonb as h, auth.uid()::text as uid"
            )
            return await cursor.fetchone()

    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        got = c.get(
            f"{PREFIX}/_test/headers",
            headers={**bearer(token_for(user)), "X-Request-Id": "trace-77"},
        ).json()
    assert got["h"]["x-request-id"] == "trace-77" and got["uid"] == user.id
    assert "authorization" not in got["h"]  # credentials never reach SQL


def test_batch(client, user):
    requests = [
        {"id": "h", "path": f"{PREFIX}/health"},
        {"id": "m", "path": f"{PREFIX}/me"},
        {"id": "x", "path": f"{PREFIX}/missing"},
        {
            "id": "p",
            "method": "POST",
            "path": f"{PREFIX}/api-keys/token",
            "body": {"api_key": "fsk_bad"},
        },
    ]
    response = client.post(
        f"{PREFIX}/batch",
        json={"requests": requests},
        headers={**bearer(token_for(user)), "X-Request-Id": "b1"},
    )
    assert response.status_code == 200, response.text
    out = {r["id"]: r for r in response.json()["responses"]}
    assert out["h"]["status"] == 200 and out["m"]["status"] == 200
    assert out["m"]["body"]["user_id"] == user.id
    assert out["x"]["status"] == 404 and out["x"]["body"]["request_id"] == "b1.2"
    assert out["p"]["body"]["code"] == "edge_api_key_invalid"
    too_many = [{"path": f"{PREFIX}/health"}] * 21
    assert_error(
        client.post(f"{PREFIX}/batch", json={"requests": too_many}), 400, "edge_batch_too_large"
    )
    nested = [{"method": "POST", "path": f"{PREFIX}/batch"}]
    assert_error(client.post(f"{PREFIX}/batch", json={"requests": nested}), 400, "invalid_argument")


def test_metrics_and_json_access_logs(app_url, user, admin, caplog):
    admin.execute("select ops.enqueue('metrics.probe', '{}', null)")
    with make_client(app_url, metrics_token="scrape-token") as client:
        with caplog.at_level(logging.INFO, logger="edge.access"):
            client.get(f"{PREFIX}/me", headers={**bearer(token_for(user)), "X-Request-Id": "log-1"})
        text = client.get("/metrics", headers=bearer("scrape-token")).text
    import json

    line = next(json.loads(r.getMessage()) for r in caplog.records if "log-1" in r.getMessage())
    assert line["route"] == f"{PREFIX}/me" and line["status"] == 200 and line["user_id"] == user.id
    assert line["latency_ms"] >= 0 and "authorization" not in json.dumps(line).lower()
    assert 'edge_requests_total{method="GET",route="/functions/v1/me",status="200"}' in text
    assert "edge_request_duration_seconds_bucket" in text
    assert 'flagship_outbox_jobs{status="pending"}' in text and "flagship_outbox_up 1.0" in text
    assert "flagship_outbox_oldest_pending_age_seconds" in text
    # database metrics: pg_stat_statements when installed (said either way), replica lag,
    # failing webhook endpoints
    assert re.search(r"^flagship_db_statements_available [01]\.0$", text, re.M)
    assert "# TYPE flagship_db_replica_lag_seconds gauge" in text
    assert "# TYPE flagship_webhook_endpoint_failing_seconds gauge" in text


def test_supabase_py_functions_invoke_reaches_a_running_edge(app_url, user, tmp_path):
    from flagship import tokens
    from supabase import create_client

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": app_url,
        "EDGE_PORT": str(port),
        "EDGE_LOG_LEVEL": "warning",
    }
    log = (tmp_path / "edge.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "edge"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}{PREFIX}/health", 20, process)
        supabase = create_client(base, tokens.mint_key("anon"))
        health = supabase.functions.invoke("health", {"method": "GET"})
        assert b'"ok"' in (health if isinstance(health, bytes) else health.content)
        me = supabase.functions.invoke(
            "me", {"method": "GET", "headers": {"Authorization": f"Bearer {token_for(user)}"}}
        )
        raw = me if isinstance(me, bytes) else me.content
        assert user.id.encode() in raw
    finally:
        process.terminate()
        process.wait(15)
        log.close()


# No 500s and no schema violations. Not "positive data accepted": a schema-valid but wrong
# credential or token is rightly refused with 400/401.
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]


@pytest.fixture
def live_schema(app_url, monkeypatch):
    """The schema's app bound to this module's database (lifespan opened).

    Payments get a webhook secret (no API key, so nothing can reach Stripe): unconfigured,
    the webhook rightly answers 503, which is not what this run is about.
    """
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_schemathesis")
    app = create_app(
        database_url=app_url,
        edge=edge_settings(
            rate_ip=(100000, 60.0),
            send_email_hook_secret="v1,whsec_c2NoZW1hdGhlc2lz",
            resend_webhook_secret="whsec_c2NoZW1hdGhlc2lz",
        ),
    )
    from fastapi.testclient import TestClient

    with TestClient(app):
        yield schemathesis.openapi.from_asgi(f"{PREFIX}/openapi.json", app)


def test_schemathesis_no_500s_and_no_schema_violations(live_schema):
    failures = []
    for operation in live_schema.get_all_operations():
        op = operation.ok()

        @settings(
            max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        @given(case=op.as_strategy())
        def check(case):
            response = case.call()
            try:
                case.validate_response(response, checks=CHECKS)
            except Exception as exc:  # collected so every operation is exercised
                failures.append(f"{case.method} {case.path}: {str(exc)[:300]}")

        check()
    assert failures == []
