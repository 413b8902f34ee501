"""Attacks on /auth/v1: forged and misused tokens, links of the wrong kind, takeovers."""

from __future__ import annotations

import time

import jwt
import pytest
from auth_helpers import assert_error, client, last_link, module_gateway, unique_email

from flagship.database import connect

PASSWORD = "attack-pass-99"


@pytest.fixture(scope="module")
def gw(test_server):
    yield from module_gateway(test_server)


def member(gw, prefix: str) -> tuple[str, dict]:
    email = unique_email(prefix)
    with client(gw, key=gw.service_key) as s:
        s.post("/admin/users", json={"email": email, "password": PASSWORD, "email_confirm": True})
    with client(gw) as c:
        body = c.post(
            "/token", params={"grant_type": "password"}, json={"email": email, "password": PASSWORD}
        ).json()
    return email, body


def test_tokens_signed_otherwise_are_refused(gw):
    _, session = member(gw, "forge")
    real = jwt.decode(session["access_token"], options={"verify_signature": False})
    forged_admin = jwt.encode(
        {**real, "role": "service_role"}, "not-the-secret-" * 3, algorithm="HS256"
    )
    unsigned = jwt.encode({**real, "role": "service_role"}, None, algorithm="none")
    expired = jwt.encode(
        {**real, "exp": int(time.time()) - 120}, gw.config.settings.jwt_secret, algorithm="HS256"
    )
    for token in (forged_admin, unsigned):
        with client(gw, token=token) as c:
            assert_error(c.get("/admin/users"), 403, "bad_jwt")
            assert_error(c.get("/user"), 403, "bad_jwt")
    with client(gw, token=expired) as c:
        assert_error(c.get("/user"), 403, "bad_jwt")


def test_a_link_works_only_for_its_own_kind(gw):
    email = unique_email("kind")
    with client(gw) as c:
        c.post("/signup", json={"email": email, "password": PASSWORD})
        signup = last_link(gw, email, "signup")
        # A confirmation link is not a recovery (or magic) link, and a code needs its email.
        for kind in ("recovery", "magiclink", "email_change"):
            assert_error(
                c.post("/verify", json={"type": kind, "token_hash": signup["token"]}),
                403,
                "otp_expired",
            )
        other = unique_email("other")
        assert_error(
            c.post("/verify", json={"type": "signup", "email": other, "token": signup["code"]}),
            403,
            "otp_expired",
        )
        assert c.post("/verify", json={"type": "signup", "token_hash": signup["token"]}).is_success


def test_codes_cannot_be_guessed_past_the_verify_limit(test_server):
    for gw in module_gateway(test_server, {"auth": {"rate_limit": {"token_verifications": 5}}}):
        email = unique_email("guess")
        with client(gw) as c:
            c.post("/signup", json={"email": email, "password": PASSWORD})
            answers = [
                c.post("/verify", json={"type": "signup", "email": email, "token": f"{n:06d}"})
                for n in range(6)
            ]
        assert [a.status_code for a in answers[:5]] == [403] * 5
        assert_error(answers[5], 429, "over_request_rate_limit")


def test_a_user_cannot_touch_another_account(gw):
    victim_email, victim = member(gw, "victim")
    _, attacker = member(gw, "attacker")
    with client(gw, token=attacker["access_token"]) as c:
        assert_error(c.put("/user", json={"email": victim_email}), 422, "email_exists")
        assert c.post("/logout", params={"scope": "global"}).status_code == 204
    # The attacker's global sign-out ended only the attacker's sessions.
    with client(gw) as c:
        ok = c.post(
            "/token",
            params={"grant_type": "refresh_token"},
            json={"refresh_token": victim["refresh_token"]},
        )
    assert ok.status_code == 200


def test_deleting_a_user_kills_its_sessions(gw):
    _, session = member(gw, "deleted")
    with client(gw, key=gw.service_key) as s:
        assert s.delete(f"/admin/users/{session['user']['id']}").status_code == 200
    with client(gw) as c:
        gone = c.post(
            "/token",
            params={"grant_type": "refresh_token"},
            json={"refresh_token": session["refresh_token"]},
        )
    assert_error(gone, 400, "refresh_token_not_found")
    with client(gw, token=session["access_token"]) as c:
        assert_error(c.get("/user"), 403, "user_not_found")


def test_the_auth_tables_are_closed_to_api_roles(gw):
    with connect(gw.admin_url) as conn:
        rows = conn.execute(
            """
            select c.relname, r.rolname,
                   has_table_privilege(r.rolname, c.oid, 'select') as can_read
              from pg_class c join pg_namespace n on n.oid = c.relnamespace
              cross join (values ('anon'), ('authenticated'), ('service_role')) as r (rolname)
             where n.nspname = 'auth' and c.relkind = 'r'
            """
        ).fetchall()
        rls = conn.execute(
            "select relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = 'auth' and relkind = 'r' and not relrowsecurity"
        ).fetchall()
    assert rows and not [r for r in rows if r["can_read"]]
    assert {r["relname"] for r in rls} <= {"users"}  # the contract's users table predates this
