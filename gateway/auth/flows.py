"""The email flows of Supabase Auth: confirmation, magic link, recovery, email change, invite.

Each sender makes a one-time code (`otp_length` digits) and its `token_hash`
(sha224(email + code)), stores the hash on auth.users (confirmation_token, recovery_token,
email_change_token_new / _current) and in auth.one_time_tokens, and posts the email through
the send-email hook. `max_frequency` spaces two emails of one kind to one user. Verifying
matches a token hash (a link) or email + code (POST /verify) within `otp_expiry`.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from psycopg import Cursor

from gateway.auth import passwords, store
from gateway.auth.config import AuthSettings
from gateway.auth.errors import AuthError, forbidden, too_many, validation
from gateway.auth.mail import EmailData, Mailer

SINGLE_CONFIRMATION = (
    "Confirmation link accepted. Please proceed to confirm link sent to the other email"
)
DUPLICATE_EMAIL = "A user with this email address has already been registered"
EMAIL_TYPES = ("signup", "invite", "magiclink", "recovery", "email_change", "email")


def _frequency(settings: AuthSettings, sent_at) -> None:
    if sent_at is None:
        return
    wait = sent_at + timedelta(seconds=settings.max_frequency) - store.now()
    if wait.total_seconds() > 0:
        raise too_many(
            "over_email_send_rate_limit",
            "For security purposes, you can only request this after "
            f"{int(wait.total_seconds())} seconds.",
        )


def send_confirmation(
    cur: Cursor,
    settings: AuthSettings,
    mailer: Mailer,
    user: dict,
    redirect_to: str,
    prefix: str = "",
) -> dict:
    _frequency(settings, user["confirmation_sent_at"])
    return _send_simple(cur, settings, mailer, user, redirect_to, "signup", prefix)


def send_invite(
    cur: Cursor, settings: AuthSettings, mailer: Mailer, user: dict, redirect_to: str
) -> dict:
    return _send_simple(cur, settings, mailer, user, redirect_to, "invite")


def send_recovery(
    cur: Cursor,
    settings: AuthSettings,
    mailer: Mailer,
    user: dict,
    redirect_to: str,
    kind: str,
    prefix: str = "",
) -> dict:
    """A recovery or magic link email (both use recovery_token, as in Supabase Auth)."""
    _frequency(settings, user["recovery_sent_at"])
    return _send_simple(cur, settings, mailer, user, redirect_to, kind, prefix)


def send_reauthentication(cur: Cursor, settings: AuthSettings, mailer: Mailer, user: dict) -> dict:
    """The code that lets a signed-in user change their password (secure_password_change)."""
    _frequency(settings, user["reauthentication_sent_at"])
    return _send_simple(cur, settings, mailer, user, "", "reauthentication")


def check_nonce(cur: Cursor, settings: AuthSettings, user: dict, nonce: str) -> None:
    """The reauthentication code is right and fresh (then spent), or 422."""
    if not _valid(
        store.token_hash(user["email"], nonce),
        user["reauthentication_token"],
        user["reauthentication_sent_at"],
        settings,
    ):
        raise AuthError(422, "reauthentication_not_valid", "Nonce has expired or is invalid")
    store.update_user(cur, user["id"], reauthentication_token="", reauthentication_sent_at=None)
    store.clear_one_time_token(cur, str(user["id"]), "reauthentication_token")


def _send_simple(
    cur: Cursor,
    settings: AuthSettings,
    mailer: Mailer,
    user: dict,
    redirect_to: str,
    kind: str,
    prefix: str = "",
) -> dict:
    """`prefix` is `pkce_` for a PKCE flow (the link then ends in an auth code)."""
    column, sent_column, token_type = store.TOKEN_COLUMNS[kind]
    code = store.otp(settings.otp_length)
    hashed = prefix + store.token_hash(user["email"], code)
    mailer.send(
        store.user_json(cur, user),
        EmailData(kind, token=code, token_hash=hashed, redirect_to=redirect_to),
    )
    changes = {column: hashed, sent_column: store.now()}
    if kind == "invite":
        changes["invited_at"] = store.now()
    user = store.update_user(cur, user["id"], **changes)
    store.save_one_time_token(cur, str(user["id"]), token_type, hashed, user["email"])
    return user


def send_email_change(
    cur: Cursor,
    settings: AuthSettings,
    mailer: Mailer,
    user: dict,
    new_email: str,
    redirect_to: str,
    prefix: str = "",
) -> dict:
    """Codes for the new address and, with double_confirm_changes, the current one."""
    _frequency(settings, user["email_change_sent_at"])
    code_new = store.otp(settings.otp_length)
    hash_new = prefix + store.token_hash(new_email, code_new)
    code_current = hash_current = ""
    secure = settings.double_confirm_changes and bool(user["email"])
    if secure:
        code_current = store.otp(settings.otp_length)
        hash_current = prefix + store.token_hash(user["email"], code_current)
    data = EmailData(
        "email_change",
        token=code_current if secure else code_new,
        token_hash=hash_new,
        redirect_to=redirect_to,
        token_new=code_new if secure else "",
        token_hash_new=hash_current,
    )
    mailer.send(store.user_json(cur, user), data, new_email=new_email)
    user = store.update_user(
        cur,
        user["id"],
        email_change=new_email,
        email_change_token_new=hash_new,
        email_change_token_current=hash_current,
        email_change_sent_at=store.now(),
        email_change_confirm_status=0,
    )
    uid = str(user["id"])
    store.save_one_time_token(cur, uid, "email_change_token_new", hash_new, new_email)
    if hash_current:
        store.save_one_time_token(
            cur, uid, "email_change_token_current", hash_current, user["email"]
        )
    else:
        store.clear_one_time_token(cur, uid, "email_change_token_current")
    return user


# -- verification ------------------------------------------------------------------------------
def same(actual: str, expected: str | None) -> bool:
    """A token hash equals the stored one, with or without the PKCE prefix on either side."""
    if not actual or not expected:
        return False
    bare = actual.removeprefix("pkce_")
    return secrets.compare_digest(bare, expected.removeprefix("pkce_"))


def _valid(actual: str, expected: str | None, sent_at, settings: AuthSettings) -> bool:
    if not expected or sent_at is None:
        return False
    if store.now() > sent_at + timedelta(seconds=settings.otp_expiry):
        return False
    return same(actual, expected)


def user_for_token_hash(cur: Cursor, settings: AuthSettings, kind: str, hashed: str) -> dict:
    """The user a link's token_hash belongs to, or 403 otp_expired."""
    types = {
        "signup": ("confirmation_token",),
        "invite": ("confirmation_token",),
        "recovery": ("recovery_token",),
        "magiclink": ("recovery_token",),
        "email": ("confirmation_token", "recovery_token"),
        "email_change": ("email_change_token_new", "email_change_token_current"),
    }.get(kind)
    if types is None:
        raise validation("Invalid email verification type")
    bare = hashed.removeprefix("pkce_")
    row = store.find_one_time_token(cur, (bare, "pkce_" + bare), types)
    user = store.find_user(cur, row["user_id"], lock=True) if row else None
    if user is None:
        raise forbidden("otp_expired", "Email link is invalid or has expired")
    if not _matches(user, settings, kind, hashed):
        raise forbidden("otp_expired", "Email link is invalid or has expired")
    return user


def user_for_code(cur: Cursor, settings: AuthSettings, kind: str, email: str, code: str) -> dict:
    """The user whose emailed code this is (POST /verify with email + token)."""
    if kind == "email_change":
        user = cur.execute(
            "select * from auth.users where (lower(email) = lower(%s)"
            " or lower(email_change) = lower(%s)) and is_sso_user = false for update",
            (email, email),
        ).fetchone()
    else:
        user = store.find_user_by_email(cur, email, lock=True)
    if user is None:
        raise forbidden("otp_expired", "Token has expired or is invalid")
    hashed = store.token_hash(email.lower() if kind != "email_change" else email, code)
    candidates = {hashed, store.token_hash(email, code), store.token_hash(user["email"], code)}
    if kind == "email_change" and user["email_change"]:
        candidates.add(store.token_hash(user["email_change"], code))
    for candidate in candidates:
        if _matches(user, settings, kind, candidate):
            user["_token_hash"] = candidate
            return user
    raise forbidden("otp_expired", "Token has expired or is invalid")


def _matches(user: dict, settings: AuthSettings, kind: str, hashed: str) -> bool:
    if kind in ("signup", "invite"):
        return _valid(hashed, user["confirmation_token"], user["confirmation_sent_at"], settings)
    if kind in ("recovery", "magiclink"):
        return _valid(hashed, user["recovery_token"], user["recovery_sent_at"], settings)
    if kind == "email":
        return _valid(
            hashed, user["confirmation_token"], user["confirmation_sent_at"], settings
        ) or _valid(hashed, user["recovery_token"], user["recovery_sent_at"], settings)
    if kind == "email_change":
        sent = user["email_change_sent_at"]
        return _valid(hashed, user["email_change_token_current"], sent, settings) or _valid(
            hashed, user["email_change_token_new"], sent, settings
        )
    return False


def confirm_signup(cur: Cursor, user: dict) -> dict:
    """signup / invite: the address is confirmed; an invited user gets a random password."""
    changes: dict[str, Any] = {"confirmation_token": "", "confirmation_sent_at": None}
    if user["encrypted_password"] is None and user["invited_at"] is not None:
        changes["encrypted_password"] = passwords.hash_password(secrets.token_urlsafe(40)[:64])
    if user["email_confirmed_at"] is None:
        changes["email_confirmed_at"] = store.now()
    user = store.update_user(cur, user["id"], **changes)
    store.clear_one_time_token(cur, str(user["id"]), "confirmation_token")
    store.set_identity_email(cur, str(user["id"]), user["email"], True)
    return user


def confirm_recovery(cur: Cursor, user: dict) -> dict:
    """recovery / magiclink: the token is spent; an unconfirmed address is confirmed."""
    changes: dict[str, Any] = {"recovery_token": "", "recovery_sent_at": None}
    if user["email_confirmed_at"] is None:
        changes["email_confirmed_at"] = store.now()
    user = store.update_user(cur, user["id"], **changes)
    store.clear_one_time_token(cur, str(user["id"]), "recovery_token")
    store.set_identity_email(cur, str(user["id"]), user["email"], True)
    return user


def confirm_email_change(
    cur: Cursor, settings: AuthSettings, user: dict, hashed: str
) -> dict | None:
    """One link of a double-confirmed change (None: wait for the other), or the change."""
    uid = str(user["id"])
    if (
        settings.double_confirm_changes
        and user["email_change_confirm_status"] == 0
        and user["email"]
        and user["email_change_token_current"]
    ):
        changes: dict[str, Any] = {"email_change_confirm_status": 1}
        if same(hashed, user["email_change_token_current"]):
            changes["email_change_token_current"] = ""
            store.clear_one_time_token(cur, uid, "email_change_token_current")
        else:
            changes["email_change_token_new"] = ""
            store.clear_one_time_token(cur, uid, "email_change_token_new")
        store.update_user(cur, uid, **changes)
        return None
    if hashed and not (
        same(hashed, user["email_change_token_current"])
        or same(hashed, user["email_change_token_new"])
    ):
        raise forbidden("otp_expired", "Email link is invalid or has expired")
    taken = store.find_user_by_email(cur, user["email_change"], lock=True)
    if taken is not None and str(taken["id"]) != uid:
        raise AuthError(
            422, "email_exists", "A user with this email address has already been registered"
        )
    new_email = user["email_change"]
    user = store.update_user(
        cur,
        uid,
        email=new_email,
        email_change="",
        email_change_token_new="",
        email_change_token_current="",
        email_change_confirm_status=0,
        email_change_sent_at=None,
        email_confirmed_at=user["email_confirmed_at"] or store.now(),
    )
    store.clear_one_time_token(cur, uid, "email_change_token_new")
    store.clear_one_time_token(cur, uid, "email_change_token_current")
    store.set_identity_email(cur, uid, new_email, True)
    return user


def verify(cur: Cursor, settings: AuthSettings, kind: str, user: dict, hashed: str):
    """Apply a verified token: the user to sign in, or None for a first email-change link."""
    if kind == "email":
        kind = (
            "signup"
            if _valid(hashed, user["confirmation_token"], user["confirmation_sent_at"], settings)
            else "magiclink"
        )
    if kind in ("signup", "invite"):
        return confirm_signup(cur, user)
    if kind in ("recovery", "magiclink"):
        return confirm_recovery(cur, user)
    if kind == "email_change":
        return confirm_email_change(cur, settings, user, hashed)
    raise validation("Unsupported verification type")
