"""Helpers shared by the edge tests (imported by name; conftest holds the fixtures)."""

from __future__ import annotations

import dataclasses
import threading
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from edge.app import create_app
from edge.billing_stripe import BillingSettings
from edge.settings import EdgeSettings
from flagship import config, tokens
from flagship.database import connect
from flagship.testing.harness import User, create_user, grant_roles, one_row

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

ERROR_KEYS = {"code", "message", "details", "request_id"}
PREFIX = "/functions/v1"


def settings(**overrides) -> EdgeSettings:
    base = config.Settings.from_env()
    edge = EdgeSettings(
        jwt_secret=base.jwt_secret, jwt_issuer=base.jwt_issuer, billing=BillingSettings.from_env()
    )
    return dataclasses.replace(edge, **overrides)


def make_client(url: str, **overrides) -> TestClient:
    app = create_app(database_url=url, edge=settings(**overrides))
    return TestClient(app, raise_server_exceptions=False)


def new_user(admin_url: str, *roles: str, **kwargs) -> User:
    with connect(admin_url) as conn:
        user = grant_roles(conn, create_user(conn, **kwargs), *roles)
        conn.commit()
    return user


def token_for(user: User, **changes) -> str:
    claims = {**user.claims, **changes}
    return tokens.sign(claims, config.Settings.from_env().jwt_secret)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def call_as(admin_url: str, user: User | dict, sql: str, params=()) -> dict:
    """Run one statement as a caller (as PostgREST would) and commit."""
    with connect(admin_url) as conn:
        row = one_row(conn, user, sql, params)
        conn.commit()
    return row


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= ERROR_KEYS, body
    assert body["code"] == code, body
    assert body["message"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


class LocalServer:
    """A tiny HTTP server on 127.0.0.1 in a thread; `handler` is a BaseHTTPRequestHandler."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
