"""API keys: creation rules, exchange for a JWT the database accepts, direct use, revocation,
expiry, rotation with an overlap window, last use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import psycopg
import pytest
from edge_helpers import PREFIX, assert_error, bearer, call_as, new_user

from flagship import config
from flagship.database import as_caller, connect


@pytest.fixture(scope="module")
def owner(admin_url):
    return new_user(admin_url, username="key_owner")


@pytest.fixture(scope="module")
def platform_admin(admin_url):
    return new_user(admin_url, "admin", username="key_admin")


def create_key(admin_url, user, scopes=("ctf:challenges:write",), **kw) -> dict:
    args = ", ".join(f"{k} => %({k})s" for k in kw)
    sql = (
        "select api.accounts_create_api_key(p_name => 'ci', p_scopes => %(scopes)s"
        + (f", {args}" if args else "")
        + ") as k"
    )
    return call_as(admin_url, user, sql, {"scopes": list(scopes), **kw})["k"]


def exchange(client, key: str):
    return client.post(f"{PREFIX}/api-keys/token", json={"api_key": key})


def sql_error(admin_url, user, sql, params=()) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as info:
        call_as(admin_url, user, sql, params)
    return info.value


def test_create_shows_the_key_once_and_stores_a_digest(admin_url, admin, owner):
    key = create_key(admin_url, owner, ["learning:progress:read", "ctf:challenges:write"])
    assert key["key"].startswith(key["prefix"] + "_") and len(key["key"]) == 4 + 8 + 1 + 64
    assert key["scopes"] == ["ctf:challenges:write", "learning:progress:read"]
    row = admin.execute("select * from accounts.api_keys where id = %s", (key["id"],)).fetchone()
    assert key["key"] not in str(row) and len(row["digest"]) == 64
    listed = call_as(admin_url, owner, "select jsonb_agg(k) as ks from api.accounts_api_keys k")[
        "ks"
    ]
    assert [k["prefix"] for k in listed] == [key["prefix"]]
    assert "digest" not in listed[0] and listed[0]["status"] == "active"
    err = sql_error(admin_url, owner, "select digest from accounts.api_keys")
    assert err.sqlstate == "42501"


def test_creation_rules(admin_url, owner, platform_admin):
    err = sql_error(
        admin_url, owner, "select api.accounts_create_api_key('x', array['root:everything'])"
    )
    assert err.diag.message_hint == "edge_scope_unknown"
    err = sql_error(
        admin_url,
        owner,
        "select api.accounts_create_api_key('x', array['profile:read'], p_owner_id => %s)",
        (platform_admin.id,),
    )
    assert err.diag.message_hint == "forbidden"
    err = sql_error(
        admin_url,
        owner,
        "select api.accounts_create_api_key('x', array['profile:read'], now() - interval '1 day')",
    )
    assert err.diag.message_hint == "invalid_argument"
    for_owner = create_key(admin_url, platform_admin, ["profile:read"], p_owner_id=owner.id)
    assert for_owner["owner_id"] == owner.id
    err = sql_error(
        admin_url,
        {"role": "anon"},
        "select api.accounts_create_api_key('x', array['profile:read'])",
    )
    assert err.sqlstate == "42501"


def test_exchange_gives_a_token_postgrest_and_the_database_accept(client, admin_url, owner):
    key = create_key(admin_url, owner, ["learning:progress:read"])
    response = exchange(client, key["key"])
    assert response.status_code == 200, response.text
    body = response.json()
    secret = config.Settings.from_env().jwt_secret
    claims = jwt.decode(
        body["access_token"], secret, algorithms=["HS256"], audience="authenticated"
    )
    assert claims["role"] == "authenticated" and claims["sub"] == owner.id
    assert claims["scopes"] == ["learning:progress:read"] and claims["api_key_id"] == key["id"]
    assert 0 < body["expires_in"] <= 900
    # As PostgREST runs it: the database sees the owner and the key's scopes.
    with connect(admin_url) as conn, as_caller(conn, claims):
        row = conn.execute(
            "select auth.uid()::text as uid, private.has_scope('learning:progress:read') as yes,"
            " private.has_scope('ctf:challenges:write') as no"
        ).fetchone()
    assert row == {"uid": owner.id, "yes": True, "no": False}
    # /me needs profile:read: without it, no account (and no email).
    refused = client.get(f"{PREFIX}/me", headers=bearer(body["access_token"]))
    assert refused.status_code == 403 and refused.json()["code"] == "scope_missing"
    assert refused.json()["details"]["scope"] == "profile:read"
    assert owner.email not in refused.text
    reader = create_key(admin_url, owner, ["learning:progress:read", "profile:read"])
    token = exchange(client, reader["key"]).json()["access_token"]
    me = client.get(f"{PREFIX}/me", headers=bearer(token)).json()
    assert me["via_api_key"] == reader["id"]
    assert me["scopes"] == ["learning:progress:read", "profile:read"]
    # An exchanged token cannot manage keys (session-only object).
    err = sql_error(
        admin_url, claims, "select api.accounts_create_api_key('x', array['profile:read'])"
    )
    assert err.diag.message_hint == "scope_missing"


def test_key_used_directly_and_last_use_recorded(client, admin_url, admin, owner):
    key = create_key(admin_url, owner, ["profile:read"])
    for headers in ({"X-Api-Key": key["key"]}, bearer(key["key"])):
        response = client.get(f"{PREFIX}/me", headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["via_api_key"] == key["id"]
    row = admin.execute(
        "select last_used_at, host(last_used_ip) as ip from accounts.api_keys where id = %s",
        (key["id"],),
    ).fetchone()
    assert row["last_used_at"] is not None


def test_bad_keys(client, admin_url, admin, owner):
    assert_error(exchange(client, "fsk_00000000_" + "0" * 64), 401, "edge_api_key_invalid")
    assert_error(exchange(client, "fsk_garbage"), 401, "edge_api_key_invalid")
    assert_error(client.post(f"{PREFIX}/api-keys/token", json={}), 401, "edge_api_key_invalid")
    # found by the schemathesis run: a NUL byte cannot reach the database (it was a 500)
    for odd in ("fsk_\x00", "fsk_00000000_" + "0" * 63 + "\x00", "fsk_00000000_" + "0" * 64 + "\n"):
        assert_error(exchange(client, odd), 401, "edge_api_key_invalid")
    revoked = create_key(admin_url, owner)
    call_as(admin_url, owner, "select api.accounts_revoke_api_key(%s) as r", (revoked["id"],))
    assert_error(exchange(client, revoked["key"]), 401, "edge_api_key_revoked")
    assert_error(
        client.get(f"{PREFIX}/me", headers={"X-Api-Key": revoked["key"]}),
        401,
        "edge_api_key_revoked",
    )
    expired = create_key(admin_url, owner)
    admin.execute(
        "update accounts.api_keys set expires_at = now() - interval '1 second' where id = %s",
        (expired["id"],),
    )
    assert_error(exchange(client, expired["key"]), 401, "edge_api_key_expired")


def test_another_user_cannot_revoke_or_rotate(admin_url, owner):
    key = create_key(admin_url, owner)
    other = new_user(admin_url, username="key_other")
    for sql in ("select api.accounts_revoke_api_key(%s)", "select api.accounts_rotate_api_key(%s)"):
        assert sql_error(admin_url, other, sql, (key["id"],)).diag.message_hint == "not_found"


def test_rotation_overlap_then_old_key_stops(client, admin_url, admin, owner):
    old = create_key(admin_url, owner)
    new = call_as(
        admin_url,
        owner,
        "select api.accounts_rotate_api_key(%s, interval '2 hours') as k",
        (old["id"],),
    )["k"]
    assert new["rotated_from"] == old["id"] and new["key"] != old["key"]
    expires = datetime.fromisoformat(new["old_key_expires_at"])
    assert timedelta(hours=1, minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=2)
    # Inside the overlap both keys work.
    assert exchange(client, old["key"]).status_code == 200
    assert exchange(client, new["key"]).status_code == 200
    # The overlap ends (time moved by editing the row): the old key stops, the new one works.
    admin.execute(
        "update accounts.api_keys set expires_at = now() - interval '1 second' where id = %s",
        (old["id"],),
    )
    assert_error(exchange(client, old["key"]), 401, "edge_api_key_expired")
    assert exchange(client, new["key"]).status_code == 200
    err = sql_error(admin_url, owner, "select api.accounts_rotate_api_key(%s)", (old["id"],))
    assert err.diag.message_hint == "edge_api_key_expired"
    call_as(
        admin_url,
        owner,
        "select api.accounts_rotate_api_key(%s, interval '1 hour') as k",
        (new["id"],),
    )
    err = sql_error(admin_url, owner, "select api.accounts_rotate_api_key(%s)", (new["id"],))
    assert err.diag.message_hint == "edge_api_key_rotated"


def test_per_key_rate_limit(app_url, admin_url, owner):
    from edge_helpers import make_client

    key = create_key(admin_url, owner, ["profile:read"])
    token = exchange_token = None
    with make_client(app_url, rate_api_key=(2, 60.0)) as c:
        exchange_token = c.post(f"{PREFIX}/api-keys/token", json={"api_key": key["key"]}).json()
        token = exchange_token["access_token"]
        assert c.get(f"{PREFIX}/me", headers=bearer(token)).status_code == 200
        assert c.get(f"{PREFIX}/me", headers={"X-Api-Key": key["key"]}).status_code == 200
        response = c.get(f"{PREFIX}/me", headers=bearer(token))
        body = assert_error(response, 429, "rate_limited")
        assert int(response.headers["retry-after"]) == body["details"]["retry_after"] >= 1


def test_revoking_a_key_stops_its_exchanged_tokens_at_once(client, admin_url, owner):
    """A token exchanged before the key was revoked (or expired) is refused on its next use,
    not when the token itself expires."""
    key = create_key(admin_url, owner, ["profile:read"])
    token = exchange(client, key["key"]).json()["access_token"]
    assert client.get(f"{PREFIX}/me", headers=bearer(token)).status_code == 200
    call_as(admin_url, owner, "select api.accounts_revoke_api_key(%s) as r", (key["id"],))
    assert_error(client.get(f"{PREFIX}/me", headers=bearer(token)), 401, "edge_api_key_revoked")
    rotated = create_key(admin_url, owner, ["profile:read"])
    token = exchange(client, rotated["key"]).json()["access_token"]
    call_as(
        admin_url,
        owner,
        "select api.accounts_rotate_api_key(%s, interval '0') as k",
        (rotated["id"],),
    )
    assert_error(client.get(f"{PREFIX}/me", headers=bearer(token)), 401, "edge_api_key_expired")
