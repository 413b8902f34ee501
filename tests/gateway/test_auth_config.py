"""/auth/v1 follows config.toml: autoconfirm, sign-ups off, rate limits, the send-email hook."""

from __future__ import annotations

import base64
import re

import pytest
from auth_helpers import assert_error, claims, client, mails, module_gateway, unique_email

from flagship.database import connect

PASSWORD = "config-pass-31"


def sign_up(c, email: str):
    return c.post("/signup", json={"email": email, "password": PASSWORD})


class TestConfirmationsOff:
    @pytest.fixture(scope="class")
    @classmethod
    def gw(cls, test_server):
        yield from module_gateway(test_server, {"auth": {"email": {"enable_confirmations": False}}})

    def test_signup_returns_a_session_and_sends_no_email(self, gw):
        email = unique_email("auto")
        with client(gw) as c:
            body = sign_up(c, email).json()
            assert body["access_token"] and body["user"]["email_confirmed_at"]
            assert body["user"]["identities"][0]["identity_data"]["email_verified"] is True
            assert c.get("/settings").json()["mailer_autoconfirm"] is True
            # A repeated sign-up of a confirmed address is refused outright here.
            assert_error(sign_up(c, email), 422, "user_already_exists")
        assert mails(gw, email) == []

    def test_magic_link_signs_up_then_mails_the_link(self, gw):
        email = unique_email("auto-otp")
        with client(gw) as c:
            assert c.post("/otp", json={"email": email}).json() == {}
        [mail] = mails(gw, email)
        assert mail["template"] == "auth_magiclink"


class TestSignupsDisabled:
    @pytest.fixture(scope="class")
    @classmethod
    def gw(cls, test_server):
        yield from module_gateway(test_server, {"auth": {"enable_signup": False}})

    def test_signup_refused(self, gw):
        with client(gw) as c:
            assert_error(sign_up(c, unique_email("off")), 422, "signup_disabled")
            assert c.get("/settings").json()["disable_signup"] is True
            assert_error(
                c.post("/otp", json={"email": unique_email("off")}), 422, "signup_disabled"
            )


class TestRateLimits:
    @pytest.fixture(scope="class")
    @classmethod
    def gw(cls, test_server):
        yield from module_gateway(
            test_server,
            {
                "auth": {
                    "rate_limit": {
                        "email_sent": 3,
                        "token_refresh": 4,
                        "sign_in_sign_ups": 5,
                        "token_verifications": 3,
                    },
                    "email": {"max_frequency": "60s"},
                }
            },
        )

    def test_limits(self, gw):
        with client(gw) as c:
            # sign_in_sign_ups: 5 sign-ups per 5 minutes per IP.
            emails = [unique_email(f"rl{n}") for n in range(6)]
            answers = [sign_up(c, e) for e in emails]
            # email_sent: 3 emails per hour: the 4th and 5th sign-ups cannot mail.
            assert [a.status_code for a in answers[:3]] == [200, 200, 200]
            assert_error(answers[3], 429, "over_email_send_rate_limit")
            assert_error(answers[5], 429, "over_request_rate_limit")
            with connect(gw.admin_url) as conn:
                n = conn.execute(
                    "select count(*) as n from auth.users where email = any(%s)", (emails,)
                ).fetchone()["n"]
            assert n == 3  # a refused sign-up leaves no user behind
            # max_frequency: the same user cannot be mailed twice within 60 s.
            resent = c.post("/resend", json={"type": "signup", "email": emails[0]})
            body = assert_error(resent, 429, "over_email_send_rate_limit")
            assert "For security purposes" in body["msg"]
            # token_refresh: every /token call counts (4 per 5 minutes).
            tokens = [
                c.post(
                    "/token",
                    params={"grant_type": "password"},
                    json={"email": emails[0], "password": PASSWORD},
                )
                for _ in range(5)
            ]
            assert [t.status_code for t in tokens[:4]] == [400] * 4
            assert_error(tokens[4], 429, "over_request_rate_limit")
            # token_verifications: 3 per 5 minutes.
            checks = [
                c.post("/verify", json={"type": "signup", "token_hash": "x"}) for _ in range(4)
            ]
            assert [v.status_code for v in checks[:3]] == [403] * 3
            assert_error(checks[3], 429, "over_request_rate_limit")


class TestHookSecretMismatch:
    """A send whose signature the edge refuses fails the request and changes nothing."""

    @pytest.fixture(scope="class")
    @classmethod
    def gw(cls, test_server):
        other = "v1,whsec_" + base64.b64encode(b"not the edge's secret").decode()
        yield from module_gateway(
            test_server, {"auth": {"hook": {"send_email": {"secrets": other}}}}
        )

    def test_signup_fails_without_a_user_or_mail(self, gw):
        email = unique_email("forged")
        with client(gw) as c:
            response = sign_up(c, email)
        body = assert_error(response, 500, "unexpected_failure")
        assert "signature" in body["msg"]  # the hook's own reason is kept
        assert mails(gw, email) == []
        with connect(gw.admin_url) as conn:
            assert (
                conn.execute("select 1 from auth.users where email = %s", (email,)).fetchone()
                is None
            )


class TestSecurePasswordChange:
    @pytest.fixture(scope="class")
    @classmethod
    def gw(cls, test_server):
        yield from module_gateway(
            test_server, {"auth": {"email": {"secure_password_change": True}}}
        )

    def test_old_sessions_need_the_mailed_nonce(self, gw):
        email = unique_email("reauth")
        with client(gw, key=gw.service_key) as s:
            s.post(
                "/admin/users", json={"email": email, "password": PASSWORD, "email_confirm": True}
            )
        with client(gw) as c:
            session = c.post(
                "/token",
                params={"grant_type": "password"},
                json={"email": email, "password": PASSWORD},
            ).json()
        with client(gw, token=session["access_token"]) as u:
            # A session from the last 24 hours may change the password directly.
            assert u.put("/user", json={"password": "fresh-change-1"}).status_code == 200
            with connect(gw.admin_url) as conn:
                conn.execute(
                    "update auth.sessions set created_at = now() - interval '25 hours'"
                    " where id = %s",
                    (claims(session["access_token"])["session_id"],),
                )
                conn.commit()
            assert_error(
                u.put("/user", json={"password": "old-change-2"}), 400, "reauthentication_needed"
            )
            assert u.get("/reauthenticate").json() == {}
            mail = mails(gw, email)[-1]
            assert mail["template"] == "auth_reauthentication"
            nonce = last_link_code(mail["text_body"])
            assert_error(
                u.put("/user", json={"password": "old-change-2", "nonce": "000000"}),
                422,
                "reauthentication_not_valid",
            )
            ok = u.put("/user", json={"password": "old-change-2", "nonce": nonce})
            assert ok.status_code == 200, ok.text
            assert_error(
                u.put("/user", json={"password": "old-change-3", "nonce": nonce}),
                422,
                "reauthentication_not_valid",
            )


def last_link_code(text: str) -> str:
    return re.search(r"\b(\d{6})\b", text).group(1)
