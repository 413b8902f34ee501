"""PKCE email flows (supabase-py's default flow type): link → ?code= → grant_type=pkce."""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest
from auth_helpers import assert_error, claims, client, last_link, module_gateway, unique_email

from flagship.database import connect
from supabase import ClientOptions, create_client

PASSWORD = "pkce-pass-1234"
VERIFIER = "v" * 20 + "-verifier-with-enough-entropy-0123456789"


def challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


@pytest.fixture(scope="module")
def gw(test_server):
    yield from module_gateway(test_server)


def follow(gw, link: dict) -> httpx.URL:
    response = httpx.get(f"{gw.url}{link['link']}", follow_redirects=False)
    assert response.status_code == 303, response.text
    return httpx.URL(response.headers["location"])


def test_supabase_py_default_flow_signs_up_with_pkce(gw):
    py = create_client(
        gw.url,
        gw.anon_key,
        options=ClientOptions(schema="api", auto_refresh_token=False, persist_session=False),
    )
    email = unique_email("pkce-py")
    py.auth.sign_up(
        {
            "email": email,
            "password": PASSWORD,
            "options": {"email_redirect_to": "http://127.0.0.1:3000/cb"},
        }
    )
    link = last_link(gw, email, "signup")
    assert link["token"].startswith("pkce_")
    target = follow(gw, link)
    assert str(target).startswith("http://127.0.0.1:3000/cb?code=") and not target.fragment
    session = py.auth.exchange_code_for_session({"auth_code": target.params["code"]}).session
    assert claims(session.access_token)["email"] == email
    with connect(gw.admin_url) as conn:
        left = conn.execute(
            "select count(*) as n from auth.flow_state f join auth.users u on u.id = f.user_id"
            " where u.email = %s",
            (email,),
        ).fetchone()["n"]
    assert left == 0  # the flow state is spent


def test_pkce_recovery_with_raw_http_and_the_attacks(gw):
    email = unique_email("pkce-rec")
    with client(gw, key=gw.service_key) as service:
        service.post(
            "/admin/users", json={"email": email, "password": PASSWORD, "email_confirm": True}
        )
    with client(gw) as anon:
        body = {
            "email": email,
            "code_challenge": challenge(VERIFIER),
            "code_challenge_method": "s256",
        }
        assert anon.post("/recover", json=body).json() == {}
        code = follow(gw, last_link(gw, email, "recovery")).params["code"]
        grant = {"auth_code": code, "code_verifier": "w" * 43}
        assert_error(
            anon.post("/token", params={"grant_type": "pkce"}, json=grant), 400, "bad_code_verifier"
        )
        good = anon.post(
            "/token",
            params={"grant_type": "pkce"},
            json={"auth_code": code, "code_verifier": VERIFIER},
        )
        assert good.status_code == 200, good.text
        assert claims(good.json()["access_token"])["amr"][0]["method"] == "recovery"
        # A code is good once.
        again = anon.post(
            "/token",
            params={"grant_type": "pkce"},
            json={"auth_code": code, "code_verifier": VERIFIER},
        )
        assert_error(again, 404, "flow_state_not_found")
        assert_error(
            anon.post("/token", params={"grant_type": "pkce"}, json={}), 400, "validation_failed"
        )
        bad = {"email": email, "code_challenge": "short", "code_challenge_method": "s256"}
        assert_error(anon.post("/recover", json=bad), 400, "validation_failed")
        half = {"email": email, "code_challenge": challenge(VERIFIER)}
        assert_error(anon.post("/recover", json=half), 400, "validation_failed")


def test_expired_flow_state(gw):
    email = unique_email("pkce-exp")
    with client(gw) as anon:
        anon.post(
            "/signup",
            json={
                "email": email,
                "password": PASSWORD,
                "code_challenge": VERIFIER,
                "code_challenge_method": "plain",
            },
        )
        code = follow(gw, last_link(gw, email, "signup")).params["code"]
        with connect(gw.admin_url) as conn:
            conn.execute(
                "update auth.flow_state set created_at = now() - interval '10 minutes'"
                " where auth_code = %s",
                (code,),
            )
            conn.commit()
        late = anon.post(
            "/token",
            params={"grant_type": "pkce"},
            json={"auth_code": code, "code_verifier": VERIFIER},
        )
        assert_error(late, 422, "flow_state_expired")
