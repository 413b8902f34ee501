"""Supabase Auth's Send Email Hook: verify, render, send, answer as Auth expects.

Auth posts `{user, email_data}` signed per Standard Webhooks with SEND_EMAIL_HOOK_SECRET
(`v1,whsec_…`) and waits up to 5 s for 200 `{}`. Failures answer the error shape *and*
Supabase's `{"error": {"http_code", "message"}}`, so both readers understand them. Auth
emails ignore unsubscribes and suppressions (a user must be able to sign in); the send is
idempotent per webhook id and recipient, so Auth's retries never send twice.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError

from edge.auth import webhooks
from edge.auth.deps import as_service
from edge.client import client_ip_of
from edge.deps import Db, Limiter, Settings
from edge.errors import ApiError, ErrorBody
from edge.middleware import request_id_of
from edge.ratelimit import limit_signed
from flagship.logs import logger
from mail import mailer

router = APIRouter(tags=["webhooks"])
log = logger("edge.email_hook")
ACTIONS = {
    "signup": "auth_signup",
    "magiclink": "auth_magiclink",
    "recovery": "auth_recovery",
    "email_change": "auth_email_change",
    "invite": "auth_invite",
    "reauthentication": "auth_reauthentication",
}


class HookUser(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    email: str | None = None
    new_email: str | None = None
    user_metadata: dict[str, Any] | None = None


class EmailData(BaseModel):
    model_config = ConfigDict(extra="allow")
    token: str | None = None
    token_hash: str | None = None
    redirect_to: str | None = None
    email_action_type: str
    site_url: str | None = None
    token_new: str | None = None
    token_hash_new: str | None = None


class HookPayload(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "user": {"id": "0d4f2a9e-1c3b-4e5f-8a7b-9c0d1e2f3a4b", "email": "a@b.test"},
                    "email_data": {
                        "token": "123456",  # nosec B105
                        "token_hash": "pkce_abc",  # nosec B105
                        "redirect_to": "http://127.0.0.1:3000/welcome",
                        "email_action_type": "signup",
                        "site_url": "http://127.0.0.1:3000",
                    },
                }
            ]
        },
    )
    user: HookUser
    email_data: EmailData


def hook_error(request: Request, status: int, code: str, message: str) -> JSONResponse:
    body = ErrorBody(code=code, message=message, request_id=request_id_of(request.scope))
    return JSONResponse(
        {**body.model_dump(), "error": {"http_code": status, "message": message}},
        status_code=status,
    )


def verify_link(settings, data: EmailData, token_hash: str | None) -> str:
    query = urlencode(
        {
            "token": token_hash or "",
            "type": data.email_action_type,
            "redirect_to": data.redirect_to or settings.site_url,
        }
    )
    return f"{settings.supabase_url}/auth/v1/verify?{query}"


def messages(settings, payload: HookPayload) -> list[mailer.Message]:
    data, user = payload.email_data, payload.user
    template = ACTIONS.get(data.email_action_type)
    if template is None:
        raise ApiError(
            400, "invalid_argument", f"Unknown email_action_type {data.email_action_type!r}."
        )
    name = (user.user_metadata or {}).get("display_name") or (user.user_metadata or {}).get(
        "username"
    )
    base = {"name": name, "action_label": "Continue"}
    if data.email_action_type == "email_change" and user.new_email:
        # Secure email change: Supabase pairs token_hash_new with the current address and
        # token_hash with the new one (kept for compatibility; see their hook docs).
        out = []
        if user.email and data.token_hash_new:
            out.append(
                mailer.Message(
                    template,
                    user.email,
                    {
                        **base,
                        "token": data.token_new,
                        "new_email": user.new_email,
                        "action_url": verify_link(settings, data, data.token_hash_new),
                    },
                )
            )
        out.append(
            mailer.Message(
                template,
                user.new_email,
                {
                    **base,
                    "token": data.token,
                    "new_email": user.new_email,
                    "action_url": verify_link(settings, data, data.token_hash),
                },
            )
        )
        return out
    if not user.email:
        raise ApiError(400, "invalid_argument", "The user has no email address.")
    action_url = (
        None
        if template == "auth_reauthentication"
        else verify_link(settings, data, data.token_hash)
    )
    return [
        mailer.Message(
            template, user.email, {**base, "token": data.token, "action_url": action_url}
        )
    ]


@router.post(
    "/auth-email-hook",
    summary="Supabase Auth Send Email Hook",
    description=(
        "Configure in config.toml as `[auth.hook.send_email]` with `uri` pointing here and "
        '`secrets = "v1,whsec_..."` (SEND_EMAIL_HOOK_SECRET). Answers 200 `{}`.'
    ),
    responses={
        401: {"model": ErrorBody, "description": "Bad signature or stale timestamp"},
        503: {"model": ErrorBody, "description": "Hook secret not configured"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": HookPayload.model_json_schema()}},
        }
    },
)
async def send_email_hook(request: Request, db: Db, settings: Settings, limiter: Limiter) -> dict:
    if not settings.send_email_hook_secret:
        return hook_error(
            request, 503, "edge_hook_not_configured", "SEND_EMAIL_HOOK_SECRET is not set."
        )
    body = await request.body()
    try:
        delivery = webhooks.verify(
            settings.send_email_hook_secret, request.headers, body, settings.webhook_tolerance
        )
    except ApiError as error:
        log.warning(
            "auth email hook refused", code=error.code, request_id=request_id_of(request.scope)
        )
        refused: ApiError | None = error
    else:
        refused = None
    try:
        limit_signed(
            limiter, settings, "auth-email-hook", client_ip_of(request.scope), refused is None
        )
    except ApiError as limited:
        return hook_error(request, limited.status, limited.code, limited.message)
    if refused is not None:
        return hook_error(request, refused.status, refused.code, refused.message)
    try:
        payload = HookPayload.model_validate_json(body)
        outgoing = messages(settings, payload)
    except ValidationError:
        return hook_error(request, 400, "invalid_argument", "The hook payload is malformed.")
    except ApiError as error:
        return hook_error(request, error.status, error.code, error.message)

    try:
        async with as_service(request, db) as conn:
            for n, message in enumerate(outgoing):
                await mailer.send_async(conn, message, f"auth-hook-{delivery.id}-{n}", settings)
    except Exception as exc:
        log.error(
            "auth email hook send failed",
            error=type(exc).__name__,
            request_id=request_id_of(request.scope),
        )
        return hook_error(request, 500, "edge_email_send_failed", "The email could not be sent.")
    log.info(
        "auth email sent",
        action=payload.email_data.email_action_type,
        user_id=payload.user.id,
        count=len(outgoing),
    )
    return {}
