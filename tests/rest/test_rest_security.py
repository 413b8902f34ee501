"""Attacks on /rest/v1: injection through every part of the grammar, forged roles, keys."""

from __future__ import annotations

import time

import httpx
import jwt
import psycopg
import pytest

from flagship import config


@pytest.mark.parametrize(
    "params",
    [
        {"select": "id;drop table rest_conformance.notes"},
        {"select": "id::text;drop table rest_conformance.notes"},
        {"select": "id::text) from rest_conformance.notes; --"},
        {"order": "id;drop table rest_conformance.notes"},
        {"order": "id.desc;drop table rest_conformance.notes"},
        {"id": "eq.1;drop table rest_conformance.notes"},
        {"id": "in.(1);drop table rest_conformance.notes"},
        {"name": "eq.x' or '1'='1"},
        {"select": '"id""; drop table rest_conformance.notes; --"'},
        {"data->>city'); drop table rest_conformance.notes; --": "eq.x"},
        {"search": "fts(english'); drop table x; --).cat"},
        {"limit": "1;drop table rest_conformance.notes"},
    ],
)
def test_injection_attempts_are_refused_or_inert(rest, gateway_db, params):
    r = rest.get("/authors", params=params)
    assert r.status_code in (200, 400, 404, 416), r.text
    if r.status_code == 200:
        assert r.json() == []  # a value compared as a value: nothing matches
    else:
        assert set(r.json()) == {"code", "message", "details", "hint"}
    with psycopg.connect(gateway_db[0]) as conn:
        assert conn.execute("select to_regclass('rest_conformance.notes')").fetchone()[0]


def test_forged_role_claims_are_refused(rest):
    settings = config.Settings.from_env()
    for role in ("postgres", "supabase_admin", "authenticator"):
        token = jwt.encode(
            {"role": role, "exp": int(time.time()) + 60}, settings.jwt_secret, algorithm="HS256"
        )
        r = rest.get("/vault", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, (role, r.text)
        assert r.json()["code"] in ("PGRST301", "PGRST303")
    none_alg = jwt.encode(
        {"role": "service_role", "exp": int(time.time()) + 60}, None, algorithm="none"
    )
    r = rest.get("/vault", headers={"Authorization": f"Bearer {none_alg}"})
    assert r.status_code == 401


def test_anon_key_is_not_a_service_key(rest, gateway):
    # The service_role key in `apikey` does not make an anon bearer a service caller.
    r = rest.get("/vault", headers={"apikey": gateway.service_key})
    assert r.status_code == 401
    # Only the project's own keys pass Kong's check, even a valid JWT does not.
    settings = config.Settings.from_env()
    other = jwt.encode(
        {"role": "anon", "exp": int(time.time()) + 60}, settings.jwt_secret, algorithm="HS256"
    )
    r = httpx.get(f"{gateway.url}/rest/v1/authors", headers={"apikey": other})
    assert r.status_code == 401
    assert r.json() == {"message": "Invalid authentication credentials"}


def test_only_exposed_schemas_are_reachable(rest):
    for schema in ("private", "ops", "auth", "pg_catalog"):
        r = rest.get("/users", headers={"Accept-Profile": schema})
        assert r.status_code == 406 and r.json()["code"] == "PGRST106"
    # A table of a private schema named like a path does not resolve either.
    r = rest.get("/auth.users")
    assert r.status_code == 404
