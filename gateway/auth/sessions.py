"""Sessions, rotating refresh tokens and access tokens, as Supabase Auth issues them.

A sign-in creates an `auth.sessions` row, its first `auth.refresh_tokens` row (12 lower-case
alphanumerics, Supabase Auth's v1 format) and an `auth.mfa_amr_claims` row for the method.
A refresh revokes the presented token and issues its child (`parent`). A revoked token is
accepted again only as the parent of the session's active token (the client lost the
answer: the active token is returned) or within `refresh_token_reuse_interval` seconds of
its revocation; any other reuse revokes every token of the session and answers
`refresh_token_already_used`, as Supabase Auth does (and, unlike it, none of those tokens
is then accepted within the reuse interval).
"""

from __future__ import annotations

import ipaddress
import secrets
import time
import uuid
from datetime import timedelta
from typing import Any

from psycopg import Cursor

from flagship import tokens as flagship_tokens
from gateway.auth import store
from gateway.auth.config import AuthSettings
from gateway.auth.errors import AuthError, bad_request

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def new_refresh_token() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(12))


def add_amr(cur: Cursor, session_id: str, method: str) -> None:
    cur.execute(
        """
        insert into auth.mfa_amr_claims (session_id, created_at, updated_at,
                                         authentication_method, id)
        values (%s, now(), now(), %s, %s)
        on conflict (session_id, authentication_method) do update set updated_at = now()
        """,
        (session_id, method, str(uuid.uuid4())),
    )


def amr_claims(cur: Cursor, session_id: str) -> list[dict[str, Any]]:
    rows = cur.execute(
        "select authentication_method, updated_at from auth.mfa_amr_claims"
        " where session_id = %s order by updated_at desc",
        (session_id,),
    ).fetchall()
    return [
        {"method": r["authentication_method"], "timestamp": int(r["updated_at"].timestamp())}
        for r in rows
    ]


def access_token(
    cur: Cursor, settings: AuthSettings, user: dict, session_id: str, method: str
) -> tuple[str, int]:
    """The signed access token and its expiry, through the custom access token hook."""
    now = int(time.time())
    claims = flagship_tokens.user_claims(
        user,
        settings.jwt_expiry,
        settings.jwt_issuer,
        session_id=session_id,
        amr=amr_claims(cur, session_id),
        now=now,
    )
    try:
        claims = flagship_tokens.run_access_token_hook(
            cur.connection,
            str(user["id"]),
            claims,
            hook=settings.access_token_hook,
            authentication_method=method,
        )
    except flagship_tokens.TokenError as exc:
        raise AuthError(500, "unexpected_failure", f"Error running hook: {exc}") from exc
    return flagship_tokens.sign(claims, settings.jwt_secret), int(claims.get("exp", now))


def token_response(
    cur: Cursor, settings: AuthSettings, user: dict, session_id: str, refresh: str, method: str
) -> dict[str, Any]:
    token, expires_at = access_token(cur, settings, user, session_id, method)
    return {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": settings.jwt_expiry,
        "expires_at": expires_at,
        "refresh_token": refresh,
        "user": store.user_json(cur, user),
    }


def issue(
    cur: Cursor,
    settings: AuthSettings,
    user: dict,
    method: str,
    *,
    user_agent: str | None = None,
    ip: str | None = None,
) -> dict[str, Any]:
    """A new session for `user` signed in by `method` (password, otp, ...)."""
    session_id = str(uuid.uuid4())
    try:
        ip = str(ipaddress.ip_address(ip)) if ip else None
    except ValueError:
        ip = None  # not an address (a test client's name): sessions.ip is inet
    cur.execute(
        """
        insert into auth.sessions (id, user_id, created_at, updated_at, aal, user_agent, ip)
        values (%s, %s, now(), now(), 'aal1', %s, %s)
        """,
        (session_id, str(user["id"]), user_agent, ip),
    )
    refresh = new_refresh_token()
    cur.execute(
        """
        insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at,
                                         updated_at, parent, session_id)
        values ('00000000-0000-0000-0000-000000000000', %s, %s, false, now(), now(), null, %s)
        """,
        (refresh, str(user["id"]), session_id),
    )
    add_amr(cur, session_id, method)
    user = store.touch_sign_in(cur, str(user["id"]))
    return token_response(cur, settings, user, session_id, refresh, method)


def _validate(refresh: str) -> None:
    if len(refresh) < 12 or (len(refresh) == 12 and any(c not in ALPHABET for c in refresh)):
        raise bad_request("validation_failed", "Refresh token is not valid")
    if len(refresh) > 12:  # Supabase Auth's v2 tokens are never issued here
        raise bad_request("validation_failed", "Refresh token is not valid")


class ReuseDetected(AuthError):
    """A revoked token reused outside the interval: the family is revoked (and committed)."""

    def __init__(self) -> None:
        super().__init__(400, "refresh_token_already_used", "Invalid Refresh Token: Already Used")


def refresh(cur: Cursor, settings: AuthSettings, refresh_token: str) -> dict[str, Any]:
    """Rotate `refresh_token` (grant_type=refresh_token)."""
    _validate(refresh_token)
    token = cur.execute(
        "select * from auth.refresh_tokens where token = %s", (refresh_token,)
    ).fetchone()
    if token is None:
        raise bad_request(
            "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found"
        )
    user = store.find_user(cur, token["user_id"])
    if user is None:
        raise bad_request(
            "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found"
        )
    if user["banned_until"] and user["banned_until"] > store.now():
        raise bad_request("user_banned", "Invalid Refresh Token: User Banned")
    # The session row serialises concurrent refreshes of one session.
    session = cur.execute(
        "select * from auth.sessions where id = %s for update", (token["session_id"],)
    ).fetchone()
    if session is None:
        raise bad_request("session_not_found", "Invalid Refresh Token: No Valid Session Found")
    if session["not_after"] and session["not_after"] < store.now():
        raise bad_request("session_expired", "Invalid Refresh Token: Session Expired")
    token = cur.execute(
        "select * from auth.refresh_tokens where id = %s", (token["id"],)
    ).fetchone()
    issued: str | None = None
    if token["revoked"]:
        active = cur.execute(
            "select * from auth.refresh_tokens where session_id = %s and revoked = false"
            " order by id desc limit 1",
            (session["id"],),
        ).fetchone()
        if active is not None and active["parent"] == token["token"]:
            issued = active["token"]  # the client lost the last answer: hand it back
        elif store.now() > token["updated_at"] + timedelta(
            seconds=settings.refresh_token_reuse_interval
        ):
            if settings.refresh_token_rotation:
                # Dated a reuse interval back, so no token of the family can be reused
                # "within the interval" afterwards (Supabase Auth stamps now(), which lets
                # the active token refresh again for the interval).
                cur.execute(
                    "update auth.refresh_tokens set revoked = true,"
                    " updated_at = now() - make_interval(secs => %s + 1)"
                    " where session_id = %s and revoked = false",
                    (settings.refresh_token_reuse_interval, session["id"]),
                )
            raise ReuseDetected()
    if issued is None:
        cur.execute(
            "update auth.refresh_tokens set revoked = true, updated_at = now() where id = %s",
            (token["id"],),
        )
        issued = new_refresh_token()
        cur.execute(
            """
            insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at,
                                             updated_at, parent, session_id)
            values ('00000000-0000-0000-0000-000000000000', %s, %s, false, now(), now(),
                    %s, %s)
            """,
            (issued, str(user["id"]), token["token"], session["id"]),
        )
    cur.execute(
        "update auth.sessions set refreshed_at = now() at time zone 'utc', updated_at = now()"
        " where id = %s",
        (session["id"],),
    )
    return token_response(cur, settings, user, str(session["id"]), issued, "token_refresh")


def session_exists(cur: Cursor, session_id: str) -> bool:
    return (
        cur.execute("select 1 from auth.sessions where id = %s", (session_id,)).fetchone()
        is not None
    )


def logout(cur: Cursor, user_id: str, session_id: str | None, scope: str) -> None:
    """Delete sessions (their refresh tokens go with them): global, local or others."""
    if scope == "global" or session_id is None:
        cur.execute("delete from auth.sessions where user_id = %s", (user_id,))
    elif scope == "local":
        cur.execute("delete from auth.sessions where id = %s", (session_id,))
    else:
        cur.execute(
            "delete from auth.sessions where user_id = %s and id <> %s", (user_id, session_id)
        )
