"""/auth/v1 through the real @supabase/supabase-js (tests/js/auth.mjs), step by step.

Between steps the test reads the emails from the gateway's mailbox (ops.mailbox), as a user
would open them, and hands the token hash to the next step.
"""

from __future__ import annotations

import json

import pytest
from auth_helpers import last_link, module_gateway, unique_email

from flagship import config
from flagship.testing.node import run_node

SCRIPT = config.ROOT / "tests" / "js" / "auth.mjs"
PASSWORD = "js-client-pass-8"


@pytest.fixture(scope="module")
def gw(test_server):
    yield from module_gateway(test_server, {"auth": {"refresh_token_reuse_interval": 0}})


def run_js(gw, step: str, **state) -> dict:
    return run_node(
        SCRIPT,
        step,
        env={
            "SUPABASE_URL": gw.url,
            "SUPABASE_ANON_KEY": gw.anon_key,
            "SUPABASE_SERVICE_KEY": gw.service_key,
            "STATE": json.dumps(state),
        },
    )


def test_js_sign_up_confirm_session_life_cycle(gw):
    email = unique_email("js")
    r = run_js(gw, "signup", email=email, password=PASSWORD)
    assert r["weak_error"]["name"] == "AuthWeakPasswordError"
    assert r["weak_error"]["code"] == "weak_password" and r["weak_error"]["status"] == 422
    assert sorted(r["weak_error"]["reasons"]) == ["characters", "length"]
    assert r["signup_error"] is None and r["session"] is None
    assert r["user"]["email"] == email and r["user"]["user_metadata"] == {"display_name": "Jess"}
    assert r["early_error"]["code"] == "email_not_confirmed" and r["early_error"]["status"] == 400
    link = last_link(gw, email, "signup")
    assert link["redirect_to"] == "http://127.0.0.1:3000/welcome"

    r = run_js(gw, "session", email=email, password=PASSWORD, token_hash=link["token"])
    assert r["verify_error"] is None and r["verified_user"]["email_confirmed_at"]
    assert r["wrong_error"]["name"] == "AuthApiError"
    assert r["wrong_error"]["code"] == "invalid_credentials"
    assert r["wrong_error"]["message"] == "Invalid login credentials"
    assert r["signin_error"] is None and r["token_type"] == "bearer"
    assert r["claims"]["email"] == email and r["claims"]["user_roles"] == ["member"]
    assert r["claims"]["aal"] == "aal1" and r["claims"]["amr"][0]["method"] == "password"
    assert r["user"]["id"] == r["claims"]["sub"]
    assert r["updated_meta"] == {"display_name": "Jess", "theme": "dark"}
    assert r["refresh_error"] is None and r["rotated"] is True
    assert r["reuse_error"]["code"] == "refresh_token_already_used"
    assert r["after_reuse_error"]["code"] == "refresh_token_already_used"
    assert r["signout_error"] is None
    assert r["gone_error"]["code"] == "refresh_token_not_found"


def test_js_password_recovery(gw):
    email = unique_email("jsrec")
    run_js(gw, "signup", email=email, password=PASSWORD)
    run_js(
        gw,
        "session",
        email=email,
        password=PASSWORD,
        token_hash=last_link(gw, email, "signup")["token"],
    )
    r = run_js(gw, "recover", email=email)
    assert r["error"] is None
    link = last_link(gw, email, "recovery")
    assert link["redirect_to"] == "http://127.0.0.1:3000/reset"
    r = run_js(
        gw,
        "reset",
        email=email,
        password=PASSWORD,
        new_password="js-new-pass-9",
        token_hash=link["token"],
    )
    assert r["verify_error"] is None
    assert r["same_error"]["code"] == "same_password"
    assert r["change_error"] is None and r["signin_error"] is None


def test_js_admin_api(gw):
    r = run_js(
        gw,
        "admin",
        admin_email=unique_email("jsadm"),
        invite_email=unique_email("jsinv"),
        password=PASSWORD,
    )
    assert r["create_error"] is None and r["app_metadata"]["plan"] == "pro"
    assert r["got_email"] and r["nick"] == "ad"
    assert r["list_error"] is None and r["list_count"] == 2 and r["list_total"] >= 2
    assert r["link_error"] is None and r["link_type"] == "recovery"
    assert r["action_link"].startswith(f"{gw.url}/auth/v1/verify?token=")
    assert r["invite_error"] is None and r["invited_at"]
    assert r["anon_error"]["status"] == 403 and r["anon_error"]["code"] == "not_admin"
    assert r["delete_error"] is None
    assert r["after_delete_error"]["code"] == "user_not_found"
