"""/auth/v1 with email confirmations on, checked against Supabase Auth's behaviour.

Each expectation (status, error_code, message, redirect shape) is the one Supabase Auth's
own handlers answer (internal/api/signup.go, token.go, token_refresh via tokens/service.go,
verify.go, logout.go, user.go). Emails are read from the test database's ops.mailbox, where
the send-email hook (our edge) puts them.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import bcrypt
import pytest
from auth_helpers import (
    V2024,
    assert_error,
    claims,
    client,
    last_link,
    mails,
    module_gateway,
    unique_email,
)

from flagship.database import connect

PASSWORD = "correct-horse-42"


@pytest.fixture(scope="module")
def gw(test_server):
    yield from module_gateway(
        test_server, {"auth": {"refresh_token_reuse_interval": 10, "minimum_password_length": 8}}
    )


@pytest.fixture
def anon(gw):
    with client(gw) as c:
        yield c


def confirmed_user(gw, anon, prefix: str) -> tuple[str, dict]:
    """Sign up, follow the emailed link, return (email, session from the link)."""
    email = unique_email(prefix)
    assert anon.post("/signup", json={"email": email, "password": PASSWORD}).status_code == 200
    link = last_link(gw, email, "signup")
    response = anon.get("/verify", params={"token": link["token"], "type": "signup"})
    assert response.status_code == 303
    return email, fragment(response)


def fragment(response) -> dict[str, str]:
    parts = urlsplit(response.headers["location"])
    return {k: v[0] for k, v in parse_qs(parts.fragment, keep_blank_values=True).items()}


def sign_in(anon, email: str, password: str = PASSWORD):
    return anon.post(
        "/token", params={"grant_type": "password"}, json={"email": email, "password": password}
    )


def refresh(anon, token: str):
    return anon.post(
        "/token", params={"grant_type": "refresh_token"}, json={"refresh_token": token}
    )


# -- health, settings ------------------------------------------------------------------------
def test_health_and_settings(anon):
    assert anon.get("/health").json()["name"] == "GoTrue"
    settings = anon.get("/settings").json()
    assert settings["mailer_autoconfirm"] is False
    assert settings["disable_signup"] is False
    assert settings["external"]["email"] is True and settings["external"]["github"] is False


# -- sign-up ----------------------------------------------------------------------------------
def test_signup_with_confirmation_sends_the_email_and_returns_the_user(gw, anon):
    email = unique_email("signup")
    response = anon.post(
        "/signup",
        params={"redirect_to": "http://127.0.0.1:3000/welcome"},
        json={"email": email, "password": PASSWORD, "data": {"display_name": "Sam"}},
    )
    assert response.status_code == 200, response.text
    user = response.json()
    assert "access_token" not in user and user["email"] == email
    assert user["confirmation_sent_at"] and "email_confirmed_at" not in user
    assert user["user_metadata"]["display_name"] == "Sam"
    assert user["identities"][0]["provider"] == "email"
    [mail] = mails(gw, email)
    assert mail["template"] == "auth_signup"
    link = last_link(gw, email, "signup")
    assert link["redirect_to"] == "http://127.0.0.1:3000/welcome"
    with connect(gw.admin_url) as conn:
        row = conn.execute(
            "select encrypted_password, confirmation_token from auth.users where email = %s",
            (email,),
        ).fetchone()
        ott = conn.execute(
            "select token_type::text, relates_to from auth.one_time_tokens o"
            " join auth.users u on u.id = o.user_id where u.email = %s",
            (email,),
        ).fetchall()
    # bcrypt cost 10 in Supabase Auth's $2a$ format, and the link carries the stored hash.
    assert row["encrypted_password"].startswith("$2a$10$")
    assert bcrypt.checkpw(PASSWORD.encode(), row["encrypted_password"].encode())
    assert row["confirmation_token"] == link["token"]
    assert ott == [{"token_type": "confirmation_token", "relates_to": email}]


def test_unconfirmed_sign_in_is_refused_then_link_confirms(gw, anon):
    email = unique_email("unconfirmed")
    anon.post("/signup", json={"email": email, "password": PASSWORD})
    assert_error(sign_in(anon, email), 400, "email_not_confirmed")
    link = last_link(gw, email, "signup")
    response = anon.get(
        "/verify",
        params={"token": link["token"], "type": "signup", "redirect_to": link["redirect_to"]},
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith(link["redirect_to"] + "#")
    frag = fragment(response)
    assert frag["type"] == "signup" and frag["token_type"] == "bearer" and "sb" in frag
    assert claims(frag["access_token"])["email"] == email
    assert int(frag["expires_in"]) == 3600
    # The link is spent; signing in now works.
    again = anon.get("/verify", params={"token": link["token"], "type": "signup"})
    assert fragment(again)["error_code"] == "otp_expired"
    assert fragment(again)["error"] == "access_denied"
    assert sign_in(anon, email).status_code == 200


def test_duplicate_signup_of_a_confirmed_address_reveals_nothing(gw, anon):
    email, _ = confirmed_user(gw, anon, "dup")
    before = len(mails(gw, email))
    response = anon.post("/signup", json={"email": email, "password": "another-pass-1"})
    assert response.status_code == 200
    fake = response.json()
    with connect(gw.admin_url) as conn:
        real = conn.execute("select id from auth.users where email = %s", (email,)).fetchone()
    assert fake["id"] != str(real["id"]) and fake["identities"] == []
    assert len(mails(gw, email)) == before  # no email to the real owner
    assert_error(sign_in(anon, email, "another-pass-1"), 400, "invalid_credentials")


@pytest.mark.parametrize(
    ("password", "reasons"),
    [("short1", ["length"]), ("onlyletters", ["characters"]), ("abc", ["length", "characters"])],
)
def test_weak_password(anon, password, reasons):
    response = anon.post("/signup", json={"email": unique_email("weak"), "password": password})
    body = assert_error(response, 422, "weak_password")
    assert body["weak_password"]["reasons"] == reasons
    body = assert_error(
        anon.post(
            "/signup",
            headers=V2024,
            json={"email": unique_email("weak"), "password": password},
        ),
        422,
        "weak_password",
    )
    assert body["weak_password"]["reasons"] == reasons


def test_bad_input(anon):
    assert_error(anon.post("/signup", json={"email": "x@y.test"}), 422, "validation_failed")
    assert_error(
        anon.post("/signup", json={"email": "not-an-email", "password": PASSWORD}),
        400,
        "validation_failed",
    )
    assert_error(
        anon.post("/signup", content=b"{", headers={"content-type": "application/json"}),
        400,
        "bad_json",
    )
    assert_error(anon.post("/signup", json={}), 422, "anonymous_provider_disabled")
    assert_error(
        anon.post("/signup", json={"phone": "+15550100", "password": PASSWORD}),
        400,
        "phone_provider_disabled",
    )
    assert_error(anon.post("/token", params={"grant_type": "magic"}), 400, "invalid_credentials")
    response = anon.post("/token", params={"grant_type": "password"}, headers=V2024, json={})
    body = assert_error(response, 400, "validation_failed")
    assert response.headers["X-Supabase-Api-Version"] == "2024-01-01"
    assert set(body) == {"code", "message"}


# -- password sign-in -------------------------------------------------------------------------
def test_password_sign_in(gw, anon):
    email, _ = confirmed_user(gw, anon, "signin")
    assert_error(sign_in(anon, email, "wrong-password-1"), 400, "invalid_credentials")
    assert_error(sign_in(anon, unique_email("nobody")), 400, "invalid_credentials")
    response = sign_in(anon, email)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert len(body["refresh_token"]) == 12 and body["refresh_token"].isalnum()
    assert body["user"]["email"] == email and body["user"]["last_sign_in_at"]
    assert abs(body["expires_at"] - (time.time() + 3600)) < 30
    assert "weak_password" not in body


def test_access_token_claims_and_custom_hook(gw, anon):
    email, _ = confirmed_user(gw, anon, "claims")
    body = sign_in(anon, email).json()
    c = claims(body["access_token"])
    assert {
        "aud",
        "exp",
        "iat",
        "iss",
        "sub",
        "email",
        "phone",
        "app_metadata",
        "user_metadata",
        "role",
        "aal",
        "amr",
        "session_id",
        "is_anonymous",
    } <= set(c)
    assert c["aud"] == "authenticated" and c["role"] == "authenticated"
    assert c["sub"] == body["user"]["id"] and c["email"] == email and c["aal"] == "aal1"
    assert c["exp"] - c["iat"] == 3600 and c["is_anonymous"] is False
    assert c["iss"] == gw.config.settings.jwt_issuer
    assert c["amr"][0]["method"] == "password"
    assert c["app_metadata"] == {"provider": "email", "providers": ["email"]}
    # The custom access token hook (accounts.custom_access_token_hook) adds the roles.
    assert c["user_roles"] == ["member"]
    with connect(gw.admin_url) as conn:
        session = conn.execute(
            "select s.aal::text, a.authentication_method from auth.sessions s"
            " join auth.mfa_amr_claims a on a.session_id = s.id where s.id = %s",
            (c["session_id"],),
        ).fetchone()
        conn.execute(
            "insert into accounts.user_roles (user_id, role) values (%s, 'instructor')",
            (c["sub"],),
        )
        conn.commit()
    assert session == {"aal": "aal1", "authentication_method": "password"}
    # A refreshed token sees the role granted since, and keeps the session and its amr.
    again = claims(refresh(anon, body["refresh_token"]).json()["access_token"])
    assert sorted(again["user_roles"]) == ["instructor", "member"]
    assert again["session_id"] == c["session_id"] and again["amr"][0]["method"] == "password"


# -- refresh tokens ---------------------------------------------------------------------------
def test_refresh_rotation(gw, anon):
    _, session = confirmed_user(gw, anon, "rotate")
    first = session["refresh_token"]
    second = refresh(anon, first).json()
    assert second["refresh_token"] != first
    third = refresh(anon, second["refresh_token"]).json()
    with connect(gw.admin_url) as conn:
        rows = conn.execute(
            "select token, parent, revoked from auth.refresh_tokens where session_id = %s"
            " order by id",
            (claims(third["access_token"])["session_id"],),
        ).fetchall()
    assert rows == [
        {"token": first, "parent": None, "revoked": True},
        {"token": second["refresh_token"], "parent": first, "revoked": True},
        {"token": third["refresh_token"], "parent": second["refresh_token"], "revoked": False},
    ]
    assert_error(refresh(anon, "short"), 400, "validation_failed")
    assert_error(refresh(anon, "abcdefghijkl"), 400, "refresh_token_not_found")


def age_revocations(gw, session: dict) -> None:
    """Move the session's revocations an hour back: past any reuse interval, no sleeping."""
    with connect(gw.admin_url) as conn:
        conn.execute(
            "update auth.refresh_tokens set updated_at = updated_at - interval '1 hour'"
            " where session_id = %s and revoked",
            (claims(session["access_token"])["session_id"],),
        )
        conn.commit()


def test_lost_answer_gets_the_active_token_back(gw, anon):
    _, session = confirmed_user(gw, anon, "lost")
    first = session["refresh_token"]
    second = refresh(anon, first).json()["refresh_token"]
    # The client did not store `second` and retries with `first`: the same child comes back.
    age_revocations(gw, session)  # past the reuse interval: allowed, as the active's parent
    assert refresh(anon, first).json()["refresh_token"] == second


def test_reuse_outside_the_interval_revokes_the_session_family(gw, anon):
    _, session = confirmed_user(gw, anon, "reuse")
    first = session["refresh_token"]
    second = refresh(anon, first).json()["refresh_token"]
    third = refresh(anon, second).json()["refresh_token"]
    # Within the reuse interval (10 s here), a revoked token still refreshes (concurrent
    # tabs). Past it, reusing `first` (not the active token's parent) is an attack: the whole
    # family is revoked, so even the current token is dead.
    age_revocations(gw, session)
    assert_error(refresh(anon, first), 400, "refresh_token_already_used")
    assert_error(refresh(anon, third), 400, "refresh_token_already_used")
    with connect(gw.admin_url) as conn:
        live = conn.execute(
            "select count(*) as n from auth.refresh_tokens where session_id = %s and not revoked",
            (claims(session["access_token"])["session_id"],),
        ).fetchone()
    assert live["n"] == 0


def test_reuse_within_the_interval_is_allowed(gw, anon):
    _, session = confirmed_user(gw, anon, "within")
    first = session["refresh_token"]
    refresh(anon, refresh(anon, first).json()["refresh_token"])
    assert refresh(anon, first).status_code == 200  # immediately: within the 10 s interval


# -- sign-out ---------------------------------------------------------------------------------
def _sessions(gw, anon, email: str, n: int) -> list[dict]:
    return [sign_in(anon, email).json() for _ in range(n)]


def test_logout_scopes(gw, anon):
    email, _ = confirmed_user(gw, anon, "logout")
    a, b, c = _sessions(gw, anon, email, 3)
    with client(gw, token=b["access_token"]) as cb:
        assert cb.post("/logout", params={"scope": "others"}).status_code == 204
        assert cb.get("/user").status_code == 200
    assert_error(refresh(anon, a["refresh_token"]), 400, "refresh_token_not_found")
    assert_error(refresh(anon, c["refresh_token"]), 400, "refresh_token_not_found")
    with client(gw, token=b["access_token"]) as cb:
        assert cb.post("/logout", params={"scope": "local"}).status_code == 204
        # The access token still verifies, but its session is gone.
        assert_error(cb.get("/user"), 403, "session_not_found")
    assert_error(refresh(anon, b["refresh_token"]), 400, "refresh_token_not_found")
    d, e = _sessions(gw, anon, email, 2)
    with client(gw, token=d["access_token"]) as cd:
        assert_error(cd.post("/logout", params={"scope": "all"}), 400, "validation_failed")
        assert cd.post("/logout").status_code == 204  # global is the default
    assert_error(refresh(anon, e["refresh_token"]), 400, "refresh_token_not_found")
    with connect(gw.admin_url) as conn:
        left = conn.execute(
            "select count(*) as n from auth.sessions s join auth.users u on u.id = s.user_id"
            " where u.email = %s",
            (email,),
        ).fetchone()
    assert left["n"] == 0  # global: the confirmation link's session went too


def test_user_endpoints_need_a_user_token(gw, anon):
    assert_error(anon.get("/user"), 401, "no_authorization")
    with client(gw, token=gw.anon_key) as c:
        assert_error(c.get("/user"), 403, "bad_jwt")  # no sub claim
    with client(gw, token="a.b.c") as c:
        assert_error(c.get("/user"), 403, "bad_jwt")
    _, session = confirmed_user(gw, anon, "forged")
    forged = session["access_token"][:-4] + (
        "AAAA" if session["access_token"][-4:] != "AAAA" else "BBBB"
    )
    with client(gw, token=forged) as c:
        assert_error(c.get("/user"), 403, "bad_jwt")


# -- recovery, magic link, OTP ----------------------------------------------------------------
def test_recovery_flow_through_the_mailbox(gw, anon):
    email, _ = confirmed_user(gw, anon, "recover")
    assert anon.post("/recover", json={"email": unique_email("ghost")}).json() == {}
    assert anon.post("/recover", json={"email": email}).json() == {}
    link = last_link(gw, email, "recovery")
    assert mails(gw, email)[-1]["template"] == "auth_recovery"
    response = anon.post("/verify", json={"type": "recovery", "token_hash": link["token"]})
    assert response.status_code == 200, response.text
    session = response.json()
    assert claims(session["access_token"])["amr"][0]["method"] == "otp"
    with client(gw, token=session["access_token"]) as c:
        assert_error(c.put("/user", json={"password": PASSWORD}), 422, "same_password")
        assert_error(c.put("/user", json={"password": "short"}), 422, "weak_password")
        updated = c.put("/user", json={"password": "a-new-secret-99"})
        assert updated.status_code == 200, updated.text
    assert_error(sign_in(anon, email), 400, "invalid_credentials")
    assert sign_in(anon, email, "a-new-secret-99").status_code == 200
    # The recovery link was spent.
    assert_error(
        anon.post("/verify", json={"type": "recovery", "token_hash": link["token"]}),
        403,
        "otp_expired",
    )
    assert_error(anon.post("/recover", json={}), 400, "validation_failed")


def test_password_change_signs_out_other_sessions(gw, anon):
    email, _ = confirmed_user(gw, anon, "pwchange")
    mine, other = _sessions(gw, anon, email, 2)
    with client(gw, token=mine["access_token"]) as c:
        assert c.put("/user", json={"password": "changed-pass-7"}).status_code == 200
        assert c.get("/user").status_code == 200
    assert_error(refresh(anon, other["refresh_token"]), 400, "refresh_token_not_found")
    assert refresh(anon, mine["refresh_token"]).status_code == 200


def test_magic_link_and_email_otp(gw, anon):
    email, _ = confirmed_user(gw, anon, "magic")
    assert anon.post("/otp", json={"email": email, "create_user": False}).json() == {}
    link = last_link(gw, email, "magiclink")
    assert mails(gw, email)[-1]["template"] == "auth_magiclink"
    # The 6-digit code of the same email works with POST /verify (type email)...
    response = anon.post("/verify", json={"type": "email", "email": email, "token": link["code"]})
    assert response.status_code == 200, response.text
    assert response.json()["user"]["email"] == email
    # ...and then the link is spent too (one token per user and type).
    spent = anon.get("/verify", params={"token": link["token"], "type": "magiclink"})
    assert fragment(spent)["error_code"] == "otp_expired"
    anon.post("/magiclink", json={"email": email})
    link = last_link(gw, email, "magiclink")
    response = anon.get("/verify", params=link | {"type": "magiclink"})
    assert response.status_code == 303 and fragment(response)["type"] == "magiclink"
    assert_error(
        anon.post("/verify", json={"type": "email", "email": email, "token": "000000"}),
        403,
        "otp_expired",
    )


def test_otp_for_a_new_address(gw, anon):
    email = unique_email("otpnew")
    assert_error(
        anon.post("/otp", json={"email": email, "create_user": False}), 422, "otp_disabled"
    )
    assert anon.post("/otp", json={"email": email}).json() == {}
    # Without autoconfirm the sign-up confirmation is the magic link.
    link = last_link(gw, email, "signup")
    response = anon.post("/verify", json={"type": "signup", "token_hash": link["token"]})
    assert response.status_code == 200 and response.json()["user"]["email_confirmed_at"]


def test_verify_validation(anon):
    assert_error(anon.get("/verify", params={"token": "x"}), 400, "validation_failed")
    assert_error(anon.get("/verify", params={"type": "signup"}), 400, "validation_failed")
    assert_error(
        anon.post("/verify", json={"type": "signup", "token": "1", "token_hash": "2"}),
        400,
        "validation_failed",
    )
    assert_error(
        anon.post("/verify", json={"type": "signup", "token_hash": "nope"}), 403, "otp_expired"
    )


def test_redirect_to_outside_the_allow_list_goes_to_the_site_url(gw, anon):
    email = unique_email("redirect")
    anon.post(
        "/signup",
        params={"redirect_to": "https://evil.example/steal"},
        json={"email": email, "password": PASSWORD},
    )
    link = last_link(gw, email, "signup")
    assert link["redirect_to"] == "http://127.0.0.1:3000"
    response = anon.get(
        "/verify",
        params={"token": link["token"], "type": "signup", "redirect_to": "https://evil.example"},
    )
    assert response.headers["location"].startswith("http://127.0.0.1:3000#access_token=")


def test_expired_link(gw, anon):
    email = unique_email("expired")
    anon.post("/signup", json={"email": email, "password": PASSWORD})
    link = last_link(gw, email, "signup")
    with connect(gw.admin_url) as conn:
        conn.execute(
            "update auth.users set confirmation_sent_at = now() - interval '2 hours'"
            " where email = %s",
            (email,),
        )
        conn.commit()
    response = anon.get("/verify", params={"token": link["token"], "type": "signup"})
    assert fragment(response)["error_code"] == "otp_expired"
    assert_error(sign_in(anon, email), 400, "email_not_confirmed")


# -- user: metadata, email change, resend -----------------------------------------------------
def test_update_metadata_and_refuse_app_metadata(gw, anon):
    _, session = confirmed_user(gw, anon, "meta")
    with client(gw, token=session["access_token"]) as c:
        body = c.put("/user", json={"data": {"theme": "dark"}}).json()
        assert body["user_metadata"]["theme"] == "dark"
        body = c.put("/user", json={"data": {"theme": None, "lang": "fr"}}).json()
        assert "theme" not in body["user_metadata"] and body["user_metadata"]["lang"] == "fr"
        assert_error(c.put("/user", json={"app_metadata": {"provider": "x"}}), 403, "not_admin")
        assert c.get("/user").json()["app_metadata"]["provider"] == "email"


def test_email_change_needs_both_addresses_confirmed(gw, anon):
    email, session = confirmed_user(gw, anon, "change")
    new_email = unique_email("changed")
    taken, _ = confirmed_user(gw, anon, "taken")
    with client(gw, token=session["access_token"]) as c:
        assert_error(c.put("/user", json={"email": taken}), 422, "email_exists")
        body = c.put("/user", json={"email": new_email}).json()
        assert body["email"] == email and body["new_email"] == new_email
    old_link = last_link(gw, email, "email_change")
    new_link = last_link(gw, new_email, "email_change")
    assert old_link["token"] != new_link["token"]
    first = anon.post("/verify", json={"type": "email_change", "token_hash": new_link["token"]})
    assert first.json() == {
        "msg": "Confirmation link accepted. Please proceed to confirm link sent to the other email",
        "code": "200",
    }
    assert sign_in(anon, email).status_code == 200  # not changed yet
    second = anon.get("/verify", params={"token": old_link["token"], "type": "email_change"})
    assert second.status_code == 303 and fragment(second)["type"] == "email_change"
    assert sign_in(anon, new_email).status_code == 200
    assert_error(sign_in(anon, email), 400, "invalid_credentials")


def test_resend_signup_and_frequency(gw, anon):
    email = unique_email("resend")
    anon.post("/signup", json={"email": email, "password": PASSWORD})
    first = last_link(gw, email, "signup")
    assert anon.post("/resend", json={"type": "signup", "email": email}).json() == {}
    second = last_link(gw, email, "signup")
    assert second["token"] != first["token"] and len(mails(gw, email)) == 2
    # Only the newest link confirms.
    stale = anon.post("/verify", json={"type": "signup", "token_hash": first["token"]})
    assert_error(stale, 403, "otp_expired")
    assert anon.post("/verify", json={"type": "signup", "token_hash": second["token"]}).is_success
    assert_error(
        anon.post("/resend", json={"type": "bogus", "email": email}), 400, "validation_failed"
    )


def test_apikey_is_required_except_on_the_browser_links(gw, anon):
    import httpx

    email = unique_email("keys")
    anon.post("/signup", json={"email": email, "password": PASSWORD})
    with httpx.Client(base_url=gw.auth_url, timeout=10) as bare:
        missing = bare.post("/signup", json={"email": unique_email("nokey"), "password": PASSWORD})
        assert missing.status_code == 401
        assert missing.json() == {"message": "No API key found in request"}
        wrong = bare.get("/settings", headers={"apikey": "not-a-key"})
        assert wrong.status_code == 401
        assert wrong.json() == {"message": "Invalid authentication credentials"}
        # The email link is opened by a browser, without a key (Kong's open route).
        link = last_link(gw, email, "signup")
        opened = bare.get("/verify", params={"token": link["token"], "type": "signup"})
        assert opened.status_code == 303 and "access_token=" in opened.headers["location"]
        # ?apikey= works like the header.
        assert bare.get("/settings", params={"apikey": gw.anon_key}).status_code == 200


def test_email_change_links_by_get_and_resend(gw, anon):
    email, session = confirmed_user(gw, anon, "getchange")
    new_email = unique_email("getchanged")
    with client(gw, token=session["access_token"]) as c:
        c.put("/user", json={"email": new_email})
    first_new = last_link(gw, new_email, "email_change")
    # Resending the change mails both addresses again with fresh tokens.
    assert anon.post("/resend", json={"type": "email_change", "email": email}).json() == {}
    new_link = last_link(gw, new_email, "email_change")
    old_link = last_link(gw, email, "email_change")
    assert new_link["token"] != first_new["token"]
    assert_error(
        anon.post("/verify", json={"type": "email_change", "token_hash": first_new["token"]}),
        403,
        "otp_expired",
    )
    one = anon.get("/verify", params={"token": new_link["token"], "type": "email_change"})
    assert fragment(one)["message"].startswith("Confirmation link accepted")
    two = anon.get("/verify", params={"token": old_link["token"], "type": "email_change"})
    assert "access_token" in fragment(two)
    assert sign_in(anon, new_email).status_code == 200
