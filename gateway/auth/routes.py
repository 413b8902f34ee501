"""The public /auth/v1 endpoints: sign-up, sign-in, refresh, OTP, verify, user, sign-out."""

from __future__ import annotations

import secrets
import uuid
from typing import Any
from urllib.parse import urlencode

from starlette.responses import RedirectResponse

from gateway.auth import flows, passwords, pkce, sessions, store
from gateway.auth.db import transaction
from gateway.auth.errors import AuthError, bad_request, forbidden, unprocessable, validation
from gateway.auth.http import Ctx, limit, mapping, referrer, text, user_claims, valid_email
from gateway.auth.sessions import ReuseDetected

VERSION = "v2.180.0-flagship"
INVALID_LOGIN = "Invalid login credentials"
DUPLICATE_EMAIL = "A user with this email address has already been registered"


def health(ctx: Ctx) -> dict[str, Any]:
    return {
        "version": VERSION,
        "name": "GoTrue",
        "description": "GoTrue is a user registration and authentication API",
    }


def settings_view(ctx: Ctx) -> dict[str, Any]:
    s = ctx.settings
    providers = [
        "anonymous_users",
        "apple",
        "azure",
        "bitbucket",
        "discord",
        "facebook",
        "snapchat",
        "figma",
        "fly",
        "github",
        "gitlab",
        "google",
        "keycloak",
        "kakao",
        "linkedin",
        "linkedin_oidc",
        "notion",
        "spotify",
        "slack",
        "slack_oidc",
        "workos",
        "twitch",
        "twitter",
        "zoom",
        "phone",
    ]
    external = {name: False for name in providers}
    external["email"] = True
    return {
        "external": external,
        "disable_signup": not s.enable_signup,
        "mailer_autoconfirm": s.autoconfirm,
        "phone_autoconfirm": False,
        "sms_provider": "",
        "saml_enabled": False,
        "passkeys_enabled": False,
    }


def _session(ctx: Ctx, cur, user: dict, method: str) -> dict[str, Any]:
    return sessions.issue(cur, ctx.settings, user, method, user_agent=ctx.user_agent, ip=ctx.ip)


def _obfuscated(email: str, data: dict | None) -> dict[str, Any]:
    """What a repeated sign-up answers while confirmations are on: a user that is no one."""
    moment = store.iso(store.now())
    return {
        "id": str(uuid.uuid4()),
        "aud": "authenticated",
        "role": "",
        "email": email,
        "phone": "",
        "confirmation_sent_at": moment,
        "app_metadata": {"provider": "email", "providers": ["email"]},
        "user_metadata": data or {},
        "identities": [],
        "created_at": moment,
        "updated_at": moment,
        "is_anonymous": False,
    }


def _signup(
    ctx: Ctx, email: str, password: str, data: dict | None, flow: tuple[str, str] | None
) -> dict[str, Any]:
    """Sign up in one transaction; the session response or the (unconfirmed) user."""
    s = ctx.settings
    mailer = ctx.services.mailer
    with transaction(ctx.services.pool) as cur:
        user = store.find_user_by_email(cur, email, lock=True)
        if user is not None and user["email_confirmed_at"] is not None:
            if s.autoconfirm:
                raise unprocessable("user_already_exists", "User already registered")
            return _obfuscated(email, data)
        if user is None:
            user = store.create_user(
                cur,
                email=email,
                encrypted_password=passwords.hash_password(password),
                user_metadata=data,
                confirmed=s.autoconfirm,
            )
            if s.autoconfirm:
                store.set_identity_email(cur, str(user["id"]), email, True)
        if s.autoconfirm:
            return _session(ctx, cur, user, "password")
        prefix = pkce.start(cur, flow, str(user["id"]), "email/signup")
        user = flows.send_confirmation(cur, s, mailer, user, referrer(ctx), prefix)
        return store.user_json(cur, user)


def signup(ctx: Ctx) -> dict[str, Any]:
    s = ctx.settings
    if not s.enable_signup:
        raise unprocessable("signup_disabled", "Signups not allowed for this instance")
    email, phone = text(ctx, "email"), text(ctx, "phone")
    if not email and not phone:
        raise unprocessable("anonymous_provider_disabled", "Anonymous sign-ins are disabled")
    limit(ctx, "signups", s.rate_limits.sign_in_sign_ups)
    if phone:
        raise bad_request("phone_provider_disabled", "Phone signups are disabled")
    password = text(ctx, "password")
    if not password:
        raise unprocessable("validation_failed", "Signup requires a valid password")
    passwords.check_strength(s, password)
    email = valid_email(email)
    return _signup(ctx, email, password, mapping(ctx, "data"), pkce.params(ctx.body))


def token(ctx: Ctx) -> dict[str, Any]:
    grant = ctx.query.get("grant_type") or text(ctx, "grant_type")
    if grant not in ("password", "refresh_token", "pkce"):
        raise bad_request("invalid_credentials", "unsupported_grant_type")
    limit(ctx, "token", ctx.settings.rate_limits.token_refresh)
    if grant == "password":
        return password_grant(ctx)
    if grant == "pkce":
        return pkce_grant(ctx)
    return refresh_grant(ctx)


def pkce_grant(ctx: Ctx) -> dict[str, Any]:
    """grant_type=pkce: an auth code from a PKCE link and its verifier → a session."""
    with transaction(ctx.services.pool) as cur:
        user, method = pkce.redeem(cur, text(ctx, "auth_code"), text(ctx, "code_verifier"))
        return _session(ctx, cur, user, method)


def password_grant(ctx: Ctx) -> dict[str, Any]:
    s = ctx.settings
    email, phone, password = text(ctx, "email"), text(ctx, "phone"), text(ctx, "password")
    if email and phone:
        raise validation("Only an email address or phone number should be provided on login.")
    if phone:
        raise unprocessable("phone_provider_disabled", "Phone logins are disabled")
    if not email:
        raise validation("missing email or phone")
    with transaction(ctx.services.pool) as cur:
        user = store.find_user_by_email(cur, email)
        if user is None or not user["encrypted_password"]:
            raise bad_request("invalid_credentials", INVALID_LOGIN)
        if user["banned_until"] and user["banned_until"] > store.now():
            raise bad_request("user_banned", "User is banned")
        if not passwords.verify(password, user["encrypted_password"]):
            raise bad_request("invalid_credentials", INVALID_LOGIN)
        if user["email_confirmed_at"] is None:
            raise bad_request("email_not_confirmed", "Email not confirmed")
        response = _session(ctx, cur, user, "password")
    reasons, message = passwords.weak_reasons(s, password)
    if reasons:
        response["weak_password"] = {"reasons": reasons, "message": message}
    return response


def refresh_grant(ctx: Ctx) -> dict[str, Any]:
    refresh = text(ctx, "refresh_token")
    reuse: ReuseDetected | None = None
    with transaction(ctx.services.pool) as cur:
        try:
            return sessions.refresh(cur, ctx.settings, refresh)
        except ReuseDetected as exc:
            reuse = exc  # the family's revocation commits with this transaction
    raise reuse


def _magic_link(ctx: Ctx, email: str, create_user: bool) -> dict[str, Any]:
    s = ctx.settings
    data = mapping(ctx, "data")
    flow = pkce.params(ctx.body)
    with transaction(ctx.services.pool) as cur:
        user = store.find_user_by_email(cur, email, lock=True)
    if user is None or user["email_confirmed_at"] is None:
        if user is None and not create_user:
            raise unprocessable("otp_disabled", "Signups not allowed for otp")
        if not s.enable_signup and user is None:
            raise unprocessable("signup_disabled", "Signups not allowed for this instance")
        # Sign the address up with a random password; without autoconfirm the confirmation
        # email is the magic link.
        sets = passwords.REQUIREMENTS[s.password_requirements]
        password = "".join(secrets.choice(c) for c in sets) + secrets.token_urlsafe(24)
        _signup(ctx, email, password, data, flow)
        if not s.autoconfirm:
            return {}
    with transaction(ctx.services.pool) as cur:
        user = store.find_user_by_email(cur, email, lock=True)
        prefix = pkce.start(cur, flow, str(user["id"]), "magiclink")
        flows.send_recovery(cur, s, ctx.services.mailer, user, referrer(ctx), "magiclink", prefix)
    return {}


def otp(ctx: Ctx) -> dict[str, Any]:
    s = ctx.settings
    limit(ctx, "otp", s.rate_limits.sign_in_sign_ups)
    email, phone = text(ctx, "email"), text(ctx, "phone")
    if email and phone:
        raise validation("Only an email address or phone number should be provided")
    if phone:
        raise bad_request("phone_provider_disabled", "Unsupported phone provider")
    if not email:
        raise validation("One of email or phone must be set")
    create = ctx.body.get("create_user", True)
    return _magic_link(ctx, valid_email(email), create is not False)


def magiclink(ctx: Ctx) -> dict[str, Any]:
    limit(ctx, "magiclink", ctx.settings.rate_limits.sign_in_sign_ups)
    email = text(ctx, "email")
    if not email:
        raise unprocessable("validation_failed", "Password recovery requires an email")
    return _magic_link(ctx, valid_email(email), True)


def recover(ctx: Ctx) -> dict[str, Any]:
    limit(ctx, "recover", ctx.settings.rate_limits.sign_in_sign_ups)
    email = text(ctx, "email")
    if not email:
        raise validation("Password recovery requires an email")
    email = valid_email(email)
    flow = pkce.params(ctx.body)
    with transaction(ctx.services.pool) as cur:
        user = store.find_user_by_email(cur, email, lock=True)
        if user is None:
            return {}  # never tell whether an address is registered
        prefix = pkce.start(cur, flow, str(user["id"]), "recovery")
        flows.send_recovery(
            cur, ctx.settings, ctx.services.mailer, user, referrer(ctx), "recovery", prefix
        )
    return {}


def resend(ctx: Ctx) -> dict[str, Any]:
    limit(ctx, "resend", ctx.settings.rate_limits.sign_in_sign_ups)
    kind = text(ctx, "type")
    email, phone = text(ctx, "email"), text(ctx, "phone")
    if kind not in ("signup", "email_change", "sms", "phone_change"):
        raise validation("Missing one of these types: signup, email_change, sms, phone_change")
    if kind in ("sms", "phone_change") or phone:
        raise bad_request("phone_provider_disabled", "Phone logins are disabled")
    if not email:
        raise validation("Type provided requires an email address")
    email = valid_email(email)
    s, mailer = ctx.settings, ctx.services.mailer
    with transaction(ctx.services.pool) as cur:
        user = store.find_user_by_email(cur, email, lock=True)
        if user is None:
            return {}
        if kind == "signup":
            if user["email_confirmed_at"] is None:
                flows.send_confirmation(cur, s, mailer, user, referrer(ctx))
        elif user["email_change"]:
            flows.send_email_change(cur, s, mailer, user, user["email_change"], referrer(ctx))
    return {}


# -- verify ------------------------------------------------------------------------------------
def _verify(ctx: Ctx, kind: str, hashed: str | None, email: str, code: str, as_code=False):
    """Apply a token; the session (or, for a PKCE link, `{"code": ...}`), None for the
    first link of a double-confirmed email change."""
    s = ctx.settings
    with transaction(ctx.services.pool) as cur:
        if hashed:
            user = flows.user_for_token_hash(cur, s, kind, hashed)
        else:
            user = flows.user_for_code(cur, s, kind, email, code)
            hashed = user.pop("_token_hash")
        if user["banned_until"] and user["banned_until"] > store.now():
            raise forbidden("user_banned", "User is banned")
        verified = flows.verify(cur, s, kind, user, hashed)
        if verified is None:
            return None
        if as_code:
            return {"code": pkce.issue_code(cur, str(verified["id"]), kind)}
        return _session(ctx, cur, verified, "otp")


def verify_get(ctx: Ctx):
    limit(ctx, "verify", ctx.settings.rate_limits.token_verifications)
    kind, token_value = ctx.query.get("type", ""), ctx.query.get("token", "")
    if not kind:
        raise validation("Verify requires a verification type")
    if not token_value:
        raise validation("Verify requires a token or a token hash")
    target = referrer(ctx)
    if kind not in flows.EMAIL_TYPES:
        raise validation("Unsupported verification type")
    is_pkce = token_value.startswith(pkce.PREFIX)
    try:
        response = _verify(ctx, kind, token_value, "", "", as_code=is_pkce)
    except AuthError as exc:
        error = {400: "invalid_request", 401: "unauthorized_client", 403: "access_denied"}
        fragment = {
            "error": error.get(exc.status, "server_error"),
            "error_code": exc.error_code,
            "error_description": exc.message,
        }
        query = f"{'&' if '?' in target else '?'}{urlencode(fragment)}" if is_pkce else ""
        fragment["sb"] = ""
        return RedirectResponse(f"{target}{query}#{urlencode(fragment)}", status_code=303)
    if response is not None and is_pkce:
        sep = "&" if "?" in target else "?"
        return RedirectResponse(f"{target}{sep}{urlencode(response)}", status_code=303)
    if response is None:
        fragment = {"message": flows.SINGLE_CONFIRMATION, "sb": ""}
    else:
        fragment = {
            "access_token": response["access_token"],
            "expires_at": str(response["expires_at"]),
            "expires_in": str(response["expires_in"]),
            "refresh_token": response["refresh_token"],
            "sb": "",
            "token_type": response["token_type"],
            "type": kind,
        }
    return RedirectResponse(f"{target}#{urlencode(fragment)}", status_code=303)


def verify_post(ctx: Ctx):
    limit(ctx, "verify", ctx.settings.rate_limits.token_verifications)
    kind = text(ctx, "type")
    code, hashed, email = text(ctx, "token"), text(ctx, "token_hash"), text(ctx, "email")
    if not kind:
        raise validation("Verify requires a verification type")
    if bool(code) == bool(hashed):
        raise validation("Verify requires either a token or a token hash")
    if text(ctx, "phone"):
        raise bad_request("phone_provider_disabled", "Phone logins are disabled")
    if code:
        if not email:
            raise validation("Only an email address or phone number should be provided on verify")
        try:
            email = valid_email(email)
        except AuthError as exc:
            raise unprocessable("validation_failed", "Invalid email format") from exc
    elif email or text(ctx, "redirect_to"):
        raise validation("Only the token_hash and type should be provided")
    if kind not in flows.EMAIL_TYPES:
        raise validation("Unsupported verification type")
    response = _verify(ctx, kind, hashed or None, email, code)
    if response is None:
        return {"msg": flows.SINGLE_CONFIRMATION, "code": "200"}
    return response


# -- the signed-in user ------------------------------------------------------------------------
def _load_caller(ctx: Ctx, cur) -> tuple[dict, str | None]:
    user_id, session_id = user_claims(ctx)
    user = store.find_user(cur, user_id, lock=True)
    if user is None:
        raise forbidden("user_not_found", "User from sub claim in JWT does not exist")
    if session_id and not sessions.session_exists(cur, session_id):
        raise forbidden("session_not_found", "Session from session_id claim in JWT does not exist")
    return user, session_id


def user_get(ctx: Ctx) -> dict[str, Any]:
    with transaction(ctx.services.pool) as cur:
        user, _ = _load_caller(ctx, cur)
        return store.user_json(cur, user)


def _merge(current: dict | None, changes: dict) -> dict:
    out = dict(current or {})
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def user_put(ctx: Ctx) -> dict[str, Any]:
    s = ctx.settings
    limit(ctx, "user", s.rate_limits.sign_in_sign_ups)
    email, password = text(ctx, "email"), ctx.body.get("password")
    data = mapping(ctx, "data")
    if password is not None and not isinstance(password, str):
        raise validation("password must be a string")
    if text(ctx, "phone"):
        raise bad_request("phone_provider_disabled", "Phone logins are disabled")
    flow = pkce.params(ctx.body)
    with transaction(ctx.services.pool) as cur:
        user, session_id = _load_caller(ctx, cur)
        if mapping(ctx, "app_metadata") is not None:
            raise forbidden("not_admin", "Updating app_metadata requires admin privileges")
        if email and email.lower() != (user["email"] or "").lower():
            email = valid_email(email)
            if store.find_user_by_email(cur, email, lock=True) is not None:
                raise unprocessable("email_exists", DUPLICATE_EMAIL)
        if password is not None:
            if s.secure_password_change and _needs_reauthentication(cur, session_id):
                nonce = text(ctx, "nonce")
                if not nonce:
                    raise bad_request(
                        "reauthentication_needed", "Password update requires reauthentication"
                    )
                flows.check_nonce(cur, s, user, nonce)
            passwords.check_strength(s, password)
            if passwords.verify(password, user["encrypted_password"]):
                raise unprocessable(
                    "same_password", "New password should be different from the old password."
                )
            user = store.update_user(
                cur,
                user["id"],
                encrypted_password=passwords.hash_password(password),
                confirmation_token="",
                confirmation_sent_at=None,
                recovery_token="",
                recovery_sent_at=None,
                email_change_token_current="",
                email_change_token_new="",
                email_change_sent_at=None,
                reauthentication_token="",
                reauthentication_sent_at=None,
            )
            cur.execute("delete from auth.one_time_tokens where user_id = %s", (str(user["id"]),))
            sessions.logout(cur, str(user["id"]), session_id, "others")
        if data is not None:
            user = store.update_user(
                cur, user["id"], raw_user_meta_data=_merge(user["raw_user_meta_data"], data)
            )
        if email and email.lower() != (user["email"] or "").lower():
            prefix = pkce.start(cur, flow, str(user["id"]), "email_change")
            user = flows.send_email_change(
                cur, s, ctx.services.mailer, user, email.lower(), referrer(ctx), prefix
            )
        return store.user_json(cur, user)


def _needs_reauthentication(cur, session_id: str | None) -> bool:
    """As Supabase Auth: unless the session was created within the last 24 hours."""
    if session_id is None:
        return True
    row = cur.execute(
        "select created_at < now() - interval '24 hours' as old from auth.sessions where id = %s",
        (session_id,),
    ).fetchone()
    return row is None or row["old"]


def reauthenticate(ctx: Ctx) -> dict[str, Any]:
    """GET /reauthenticate: mail the signed-in user a code for a password change."""
    with transaction(ctx.services.pool) as cur:
        user, _ = _load_caller(ctx, cur)
        if not user["email"]:
            raise validation(
                "Reauthentication requires the user to have an email or a phone number"
            )
        if user["email_confirmed_at"] is None:
            raise unprocessable("email_not_confirmed", "Please verify your email first.")
        flows.send_reauthentication(cur, ctx.settings, ctx.services.mailer, user)
    return {}


def logout(ctx: Ctx) -> None:
    scope = ctx.query.get("scope", "") or "global"
    if scope not in ("global", "local", "others"):
        raise validation(f'Unsupported logout scope "{ctx.query.get("scope")}"')
    with transaction(ctx.services.pool) as cur:
        user, session_id = _load_caller(ctx, cur)
        sessions.logout(cur, str(user["id"]), session_id, scope)
    return None
