"""PKCE for the email flows, as Supabase Auth runs it (supabase-py's and @supabase/ssr's default).

A request with `code_challenge` (+ `code_challenge_method` s256 or plain) records an
`auth.flow_state` for the user and the method (email/signup, magiclink, recovery,
email_change) and prefixes the emailed token hash with `pkce_`. Following the link then
redirects with `?code=<auth_code>` instead of tokens in the fragment, and
`POST /token?grant_type=pkce {auth_code, code_verifier}` exchanges the code for a session
within five minutes.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import uuid
from datetime import timedelta

from psycopg import Cursor

from gateway.auth import store
from gateway.auth.errors import AuthError, bad_request, not_found, unprocessable, validation

PREFIX = "pkce_"
EXPIRY_SECONDS = 300
CHALLENGE = re.compile(r"^[a-zA-Z._~0-9-]+$")
INVALID_PARAMS = "PKCE flow requires code_challenge_method and code_challenge"
# The verification type of a link → the flow state's authentication method.
METHODS = {
    "signup": "email/signup",
    "invite": "invite",
    "magiclink": "magiclink",
    "recovery": "recovery",
    "email_change": "email_change",
    "email": "email/signup",
}


def params(body: dict) -> tuple[str, str] | None:
    """(challenge, method) when the request asks for PKCE; None for the implicit flow."""
    challenge = body.get("code_challenge") or ""
    method = (body.get("code_challenge_method") or "").lower()
    if not isinstance(challenge, str) or not isinstance(method, str):
        raise validation(INVALID_PARAMS)
    if bool(challenge) != bool(method):
        raise validation(INVALID_PARAMS)
    if not challenge:
        return None
    if not 43 <= len(challenge) <= 128:
        raise validation("code challenge has to be between 43 and 128 characters")
    if not CHALLENGE.match(challenge):
        raise validation(
            "code challenge can only contain alphanumeric characters, hyphens, periods, "
            "underscores and tildes"
        )
    if method not in ("s256", "plain"):
        raise validation(f"unsupported code_challenge_method {method!r}")
    return challenge, method


def start(cur: Cursor, pkce: tuple[str, str] | None, user_id: str, method: str) -> str:
    """Record a flow state when `pkce` is set; the prefix for the emailed token hash."""
    if pkce is None:
        return ""
    challenge, challenge_method = pkce
    cur.execute(
        """
        insert into auth.flow_state (id, user_id, auth_code, code_challenge_method,
                                     code_challenge, provider_type, created_at, updated_at,
                                     authentication_method)
        values (%s, %s, %s, %s::auth.code_challenge_method, %s, %s, now(), now(), %s)
        """,
        (
            str(uuid.uuid4()),
            user_id,
            str(uuid.uuid4()),
            challenge_method,
            challenge,
            "email" if method == "email/signup" else method,
            method,
        ),
    )
    return PREFIX


def issue_code(cur: Cursor, user_id: str, kind: str) -> str:
    """The auth code of the user's newest flow state for this link type."""
    row = cur.execute(
        "select * from auth.flow_state where user_id = %s and authentication_method = %s"
        " order by created_at desc limit 1",
        (user_id, METHODS.get(kind, kind)),
    ).fetchone()
    if row is None or not row["code_challenge"]:
        raise unprocessable("flow_state_not_found", "No valid flow state found for user.")
    cur.execute(
        "update auth.flow_state set auth_code_issued_at = now(), updated_at = now() where id = %s",
        (row["id"],),
    )
    return row["auth_code"]


def _challenge_of(verifier: str, method: str) -> str:
    if method == "plain":
        return verifier
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def redeem(cur: Cursor, auth_code: str, verifier: str) -> tuple[dict, str]:
    """(user, authentication method) for a valid code and verifier; the flow state is spent."""
    if not auth_code or not verifier:
        raise validation("invalid request: both auth code and code verifier should be non-empty")
    row = cur.execute(
        "select * from auth.flow_state where auth_code = %s for update", (auth_code,)
    ).fetchone()
    if row is None or row["user_id"] is None:
        raise not_found("flow_state_not_found", "invalid flow state, no valid flow state found")
    started = row["auth_code_issued_at"] if row["authentication_method"] == "magiclink" else None
    started = started or row["created_at"]
    if store.now() > started + timedelta(seconds=EXPIRY_SECONDS):
        raise unprocessable("flow_state_expired", "invalid flow state, flow state has expired")
    expected = _challenge_of(verifier, row["code_challenge_method"])
    if not secrets.compare_digest(expected, row["code_challenge"]):
        raise bad_request(
            "bad_code_verifier", "code challenge does not match previously saved code verifier"
        )
    user = store.find_user(cur, row["user_id"], lock=True)
    if user is None:
        raise AuthError(404, "user_not_found", "User not found")
    cur.execute("delete from auth.flow_state where id = %s", (row["id"],))
    return user, row["authentication_method"]
