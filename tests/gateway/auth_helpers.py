"""Helpers for the /auth/v1 tests: a gateway per module, the mailbox, token decoding."""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from urllib.parse import parse_qs

import httpx
import jwt

from flagship.database import connect
from flagship.testing.gateway import GatewayServer
from flagship.testing.servers import free_port, serve_asgi
from gateway import config as gateway_config_module
from gateway import keys
from gateway.app import create_app

V2024 = {"X-Supabase-Api-Version": "2024-01-01"}
# Test defaults: generous limits and no spacing between emails; modules override.
BASE_TOML = {
    "auth": {
        "rate_limit": {
            "email_sent": 1000,
            "token_refresh": 1000,
            "sign_in_sign_ups": 1000,
            "token_verifications": 1000,
        },
        "email": {"enable_confirmations": True, "max_frequency": "0s"},
    }
}


def deep_merge(base: dict, changes: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class AuthGateway:
    """The running gateway, its test database (as superuser) and its config."""

    server: GatewayServer
    admin_url: str
    app_url: str
    config: object

    def __getattr__(self, name):
        return getattr(self.server, name)

    @property
    def auth_url(self) -> str:
        return f"{self.server.url}/auth/v1"

    def headers(self, key: str | None = None, token: str | None = None) -> dict[str, str]:
        key = key or self.server.anon_key
        return {"apikey": key, "authorization": f"Bearer {token or key}"}


def gateway_config(url: str, toml: dict):
    """config.toml + the test's changes, with the send-email hook pointing at `url`."""
    cfg = gateway_config_module.load()
    edge = replace(cfg.edge, supabase_url=url, public_url=url)
    hook = {"auth": {"hook": {"send_email": {"uri": f"{url}/functions/v1/auth-email-hook"}}}}
    return replace(cfg, edge=edge, toml=deep_merge(deep_merge(cfg.toml, hook), toml))


@contextmanager
def serve_auth(admin_url: str, app_url: str, toml: dict) -> Iterator[AuthGateway]:
    """The whole gateway (gateway.app.create_app) on a free loopback port."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cfg = gateway_config(url, toml)
    app = create_app(cfg, database_url=app_url)
    project = keys.project_keys(cfg.settings.jwt_secret)
    with serve_asgi(app, port=port, name="auth-gateway-test"):
        yield AuthGateway(
            GatewayServer(url, project.anon, project.service_role, app), admin_url, app_url, cfg
        )


def module_gateway(test_server, toml: dict | None = None) -> Iterator[AuthGateway]:
    """A database of the module's own and a gateway server over it."""
    name = test_server.clone()
    try:
        admin = test_server.admin(name)
        with serve_auth(admin, test_server.app(name), deep_merge(BASE_TOML, toml or {})) as gw:
            yield gw
    finally:
        test_server.drop(name)


def client(server: AuthGateway, key: str | None = None, token: str | None = None, **kw):
    headers = server.headers(key, token) if token or key else {"apikey": server.anon_key}
    return httpx.Client(
        base_url=server.auth_url, headers=headers, timeout=15, follow_redirects=False, **kw
    )


def mails(server: AuthGateway, to: str) -> list[dict]:
    with connect(server.admin_url, autocommit=True) as conn:
        return conn.execute(
            "select * from ops.mailbox where lower(to_address) = lower(%s) order by id",
            (to,),
        ).fetchall()


def last_link(server: AuthGateway, to: str, kind: str | None = None) -> dict[str, str]:
    """token (hash), type, redirect_to and the 6-digit code of the newest mail to `to`."""
    found = mails(server, to)
    assert found, f"no mail to {to}"
    body = found[-1]["text_body"]
    match = re.search(r"/auth/v1/verify\?([^\s\"<>]+)", body)
    assert match, body
    query = {k: v[0] for k, v in parse_qs(match.group(1).replace("&amp;", "&")).items()}
    if kind:
        assert query["type"] == kind
    code = re.search(r"\b(\d{6})\b", body)
    query["code"] = code.group(1) if code else ""
    query["link"] = match.group(0)
    return query


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def unique_email(prefix: str) -> str:
    return f"{prefix}-{time.monotonic_ns()}@example.test"


def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    """Supabase Auth's error body (either API version) with this status and error code."""
    assert response.status_code == status, response.text
    body = response.json()
    if "error_code" in body:
        assert body["code"] == status and body["error_code"] == code, body
        assert body["msg"]
    else:
        assert body["code"] == code and body["message"], body
    assert response.headers["x-sb-error-code"] == code
    return body
