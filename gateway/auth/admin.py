"""The admin API (service key only): users, invites and generated links."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.responses import JSONResponse

from gateway.auth import flows, passwords, store
from gateway.auth.db import transaction
from gateway.auth.errors import AuthError, not_found, unprocessable, validation
from gateway.auth.http import Ctx, mapping, redirect_target, referrer, require_admin, text
from gateway.auth.http import valid_email as _valid_email
from gateway.auth.routes import DUPLICATE_EMAIL

BAN = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")


def _ban_until(value: Any):
    if value is None:
        return ...
    if value == "none":
        return None
    match = BAN.match(str(value)) if value else None
    if not match or not any(match.groupdict().values()):
        raise validation(f"invalid format for ban duration: {value!r}")
    parts = {k: int(v or 0) for k, v in match.groupdict().items()}
    return store.now() + timedelta(hours=parts["h"], minutes=parts["m"], seconds=parts["s"])


def _user_id(ctx: Ctx) -> str:
    raw = ctx.request.path_params["user_id"]
    try:
        return str(uuid.UUID(raw))
    except ValueError as exc:
        raise not_found("validation_failed", "user_id must be an UUID") from exc


def _load(cur, user_id: str) -> dict:
    user = store.find_user(cur, user_id, lock=True)
    if user is None:
        raise not_found("user_not_found", "User not found")
    return user


def list_users(ctx: Ctx):
    require_admin(ctx)
    try:
        page = max(1, int(ctx.query.get("page", 1)))
        per_page = min(1000, max(1, int(ctx.query.get("per_page", 50))))
    except ValueError as exc:
        raise validation(f"Bad Pagination Parameters: {exc}") from exc
    with transaction(ctx.services.pool) as cur:
        total = cur.execute("select count(*) as n from auth.users").fetchone()["n"]
        rows = cur.execute(
            "select * from auth.users order by created_at desc, id limit %s offset %s",
            (per_page, (page - 1) * per_page),
        ).fetchall()
        users = [store.user_json(cur, r) for r in rows]
    base = f"{ctx.settings.external_url}/admin/users"
    links = []
    last = max(1, -(-total // per_page))
    if page < last:
        links.append(f'<{base}?page={page + 1}&per_page={per_page}>; rel="next"')
    links.append(f'<{base}?page={last}&per_page={per_page}>; rel="last"')
    return JSONResponse(
        {"users": users, "aud": "authenticated"},
        headers={"X-Total-Count": str(total), "Link": ", ".join(links)},
    )


def get_user(ctx: Ctx) -> dict[str, Any]:
    require_admin(ctx)
    user_id = _user_id(ctx)
    with transaction(ctx.services.pool) as cur:
        return store.user_json(cur, _load(cur, user_id))


def create_user(ctx: Ctx) -> dict[str, Any]:
    require_admin(ctx)
    s = ctx.settings
    email, phone, password = text(ctx, "email"), text(ctx, "phone"), ctx.body.get("password")
    if phone:
        raise AuthError(400, "phone_provider_disabled", "Phone logins are disabled")
    if not email:
        raise validation("Cannot create a user without either an email or phone")
    email = _valid_email(email)
    if ctx.body.get("password_hash") and password:
        raise validation("Only a password or a password hash should be provided")
    encrypted = None
    if password:
        if not isinstance(password, str):
            raise validation("password must be a string")
        passwords.check_strength(s, password)
        encrypted = passwords.hash_password(password)
    elif ctx.body.get("password_hash"):
        hashed = str(ctx.body["password_hash"])
        if not hashed.startswith(("$2a$", "$2b$", "$2y$")):
            raise validation("Only bcrypt password hashes are supported")
        encrypted = hashed
    user_id = ctx.body.get("id")
    if user_id is not None:
        try:
            user_id = str(uuid.UUID(str(user_id)))
        except ValueError as exc:
            raise validation("ID must conform to the uuid v4 format") from exc
    banned = _ban_until(ctx.body.get("ban_duration"))
    app_meta = mapping(ctx, "app_metadata") or {}
    with transaction(ctx.services.pool) as cur:
        if store.find_user_by_email(cur, email, lock=True) is not None:
            raise unprocessable("email_exists", DUPLICATE_EMAIL)
        confirmed = bool(ctx.body.get("email_confirm"))
        user = store.create_user(
            cur,
            email=email,
            encrypted_password=encrypted,
            user_metadata=mapping(ctx, "user_metadata"),
            app_metadata=app_meta,
            confirmed=confirmed,
            user_id=user_id,
            role=text(ctx, "role") or "authenticated",
            banned_until=None if banned is ... else banned,
        )
        return store.user_json(cur, user)


def update_user(ctx: Ctx) -> dict[str, Any]:
    require_admin(ctx)
    s = ctx.settings
    user_id = _user_id(ctx)
    with transaction(ctx.services.pool) as cur:
        user = _load(cur, user_id)
        changes: dict[str, Any] = {}
        email = text(ctx, "email")
        if email and email.lower() != (user["email"] or "").lower():
            email = _valid_email(email)
            taken = store.find_user_by_email(cur, email, lock=True)
            if taken is not None and str(taken["id"]) != user_id:
                raise unprocessable("email_exists", DUPLICATE_EMAIL)
            changes["email"] = email
        password = ctx.body.get("password")
        if password is not None:
            if not isinstance(password, str):
                raise validation("password must be a string")
            passwords.check_strength(s, password)
            changes["encrypted_password"] = passwords.hash_password(password)
        if ctx.body.get("email_confirm") is True and user["email_confirmed_at"] is None:
            changes["email_confirmed_at"] = store.now()
        meta = mapping(ctx, "user_metadata")
        if meta is not None:
            changes["raw_user_meta_data"] = {**(user["raw_user_meta_data"] or {}), **meta}
        app = mapping(ctx, "app_metadata")
        if app is not None:
            changes["raw_app_meta_data"] = {**(user["raw_app_meta_data"] or {}), **app}
        if text(ctx, "role"):
            changes["role"] = text(ctx, "role")
        banned = _ban_until(ctx.body.get("ban_duration"))
        if banned is not ...:
            changes["banned_until"] = banned
        if changes:
            user = store.update_user(cur, user_id, **changes)
            if "email" in changes:
                store.set_identity_email(
                    cur, user_id, changes["email"], user["email_confirmed_at"] is not None
                )
            if changes.get("banned_until"):
                cur.execute("delete from auth.sessions where user_id = %s", (user_id,))
        return store.user_json(cur, user)


def delete_user(ctx: Ctx) -> dict[str, Any]:
    require_admin(ctx)
    user_id = _user_id(ctx)
    if ctx.body.get("should_soft_delete"):
        raise validation("Soft deletion is not supported by this server; delete the user")
    with transaction(ctx.services.pool) as cur:
        _load(cur, user_id)
        cur.execute("delete from auth.users where id = %s", (user_id,))
    return {}


def invite(ctx: Ctx) -> dict[str, Any]:
    require_admin(ctx)
    email = _valid_email(text(ctx, "email"))
    with transaction(ctx.services.pool) as cur:
        user = store.find_user_by_email(cur, email, lock=True)
        if user is not None and user["email_confirmed_at"] is not None:
            raise unprocessable("email_exists", DUPLICATE_EMAIL)
        if user is None:
            user = store.create_user(
                cur,
                email=email,
                encrypted_password=None,
                user_metadata=mapping(ctx, "data"),
                invited=True,
            )
        user = flows.send_invite(cur, ctx.settings, ctx.services.mailer, user, referrer(ctx))
        return store.user_json(cur, user)


LINK_TYPES = (
    "signup",
    "invite",
    "magiclink",
    "recovery",
    "email_change_current",
    "email_change_new",
)


def generate_link(ctx: Ctx) -> dict[str, Any]:
    """An email action link without sending the email (auth.admin.generateLink)."""
    require_admin(ctx)
    s = ctx.settings
    kind = text(ctx, "type")
    if kind not in LINK_TYPES:
        raise validation(f"Invalid email action link type requested: {kind}")
    email = _valid_email(text(ctx, "email"))
    redirect = (
        redirect_target(s, text(ctx, "redirect_to") or None)
        if ctx.body.get("redirect_to")
        else referrer(ctx)
    )
    code = store.otp(s.otp_length)
    with transaction(ctx.services.pool) as cur:
        user = store.find_user_by_email(cur, email, lock=True)
        verification = kind
        if kind == "signup":
            password = ctx.body.get("password")
            if user is not None and user["email_confirmed_at"] is not None:
                raise unprocessable("email_exists", DUPLICATE_EMAIL)
            if not isinstance(password, str) or not password:
                raise unprocessable("validation_failed", "Signup requires a valid password")
            passwords.check_strength(s, password)
            if user is None:
                user = store.create_user(
                    cur,
                    email=email,
                    encrypted_password=passwords.hash_password(password),
                    user_metadata=mapping(ctx, "data"),
                )
        elif kind == "invite":
            if user is not None and user["email_confirmed_at"] is not None:
                raise unprocessable("email_exists", DUPLICATE_EMAIL)
            if user is None:
                user = store.create_user(
                    cur,
                    email=email,
                    encrypted_password=None,
                    user_metadata=mapping(ctx, "data"),
                    invited=True,
                )
        elif user is None:
            raise not_found("user_not_found", "User with this email not found")
        if kind in ("email_change_current", "email_change_new"):
            new_email = _valid_email(text(ctx, "new_email"))
            if store.find_user_by_email(cur, new_email, lock=True) is not None:
                raise unprocessable("email_exists", DUPLICATE_EMAIL)
            target = user["email"] if kind == "email_change_current" else new_email
            hashed = store.token_hash(target, code)
            column = (
                "email_change_token_current"
                if kind == "email_change_current"
                else "email_change_token_new"
            )
            user = store.update_user(
                cur,
                user["id"],
                email_change=new_email,
                email_change_sent_at=store.now(),
                email_change_confirm_status=0,
                **{column: hashed},
            )
            store.save_one_time_token(cur, str(user["id"]), column, hashed, target)
            verification = "email_change"
        else:
            column, sent_column, token_type = store.TOKEN_COLUMNS[kind]
            hashed = store.token_hash(user["email"], code)
            extra = {"invited_at": store.now()} if kind == "invite" else {}
            user = store.update_user(
                cur, user["id"], **{column: hashed, sent_column: store.now()}, **extra
            )
            store.save_one_time_token(cur, str(user["id"]), token_type, hashed, user["email"])
        query = urlencode({"token": hashed, "type": verification, "redirect_to": redirect})
        return {
            **store.user_json(cur, user),
            "action_link": f"{s.external_url}/verify?{query}",
            "email_otp": code,
            "hashed_token": hashed,
            "verification_type": verification,
            "redirect_to": redirect,
        }
