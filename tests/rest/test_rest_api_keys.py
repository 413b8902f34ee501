"""API-key tokens through /rest/v1: the pre-request function enforces each object's scope."""

from __future__ import annotations

import httpx

from edge.auth.api_keys import KeyGrant, claims_for
from edge.settings import EdgeSettings
from flagship import config, tokens
from flagship.database import as_caller, connect
from flagship.testing.harness import create_user


def test_key_tokens_reach_only_the_objects_their_scopes_name(gateway, gateway_db):
    admin = gateway_db[0]
    with connect(admin) as conn:
        owner = create_user(conn, username="gw_key_owner")
        with as_caller(conn, owner.claims):
            key = conn.execute(
                "select api.accounts_create_api_key('gateway', %s, null) as k",
                (["profile:read"],),
            ).fetchone()["k"]
        conn.commit()
    base = config.Settings.from_env()
    grant = KeyGrant(key["id"], owner.id, list(key["scopes"]), None)
    token = tokens.sign(
        claims_for(grant, EdgeSettings(jwt_secret=base.jwt_secret, jwt_issuer=base.jwt_issuer)),
        base.jwt_secret,
    )
    headers = {"apikey": gateway.anon_key, "Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"{gateway.url}/rest/v1", headers=headers, timeout=10) as c:
        r = c.get("/rpc/accounts_get_my_account")
        assert r.status_code == 200, r.text
        assert r.json()["id"] == owner.id
        r = c.get("/learning_courses", params={"select": "id", "limit": "1"})
        assert r.status_code == 403, r.text
        body = r.json()
        assert body["code"] == "42501" and body["hint"]  # the catalogued scope error
        r = c.post(
            "/rpc/learning_enroll", json={"p_course_id": "00000000-0000-4000-8000-000000000000"}
        )
        assert r.status_code == 403 and r.json()["hint"] == body["hint"]
    # The owner's own session is not limited by the key's scopes.
    session = {
        "apikey": gateway.anon_key,
        "Authorization": f"Bearer {tokens.sign(owner.claims, base.jwt_secret)}",
    }
    r = httpx.get(
        f"{gateway.url}/rest/v1/learning_courses", params={"select": "id"}, headers=session
    )
    assert r.status_code == 200
