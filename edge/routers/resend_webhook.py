"""Resend delivery webhooks (signed by Svix): bounces and complaints feed the suppression list.

Verified with RESEND_WEBHOOK_SECRET (`whsec_…`); a stale timestamp is refused and a replayed
`svix-id` is acknowledged without acting twice (ops.webhook_receipts). Only permanent
bounces suppress; transient ones are left to Resend's retries.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict

from edge.auth import webhooks
from edge.auth.deps import as_service
from edge.client import client_ip_of
from edge.deps import Db, Limiter, Settings
from edge.errors import ApiError, ErrorBody
from edge.middleware import request_id_of
from edge.ratelimit import limit_signed
from flagship.logs import logger

router = APIRouter(tags=["webhooks"])
log = logger("edge.resend_webhook")


class WebhookAck(BaseModel):
    status: str
    suppressed: list[str] = []
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "processed", "suppressed": ["a@b.test"]}]}
    )


class ResendEvent(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "email.bounced",
                    "created_at": "2026-11-24T10:00:00.000Z",
                    "data": {
                        "email_id": "4ef9a417-02e9-4d39-ad75-9611e0fcc33c",
                        "to": ["a@b.test"],
                        "bounce": {"type": "Permanent", "message": "mailbox does not exist"},
                    },
                }
            ]
        },
    )
    type: str
    data: dict[str, Any] = {}


def suppressions_for(event: dict[str, Any]) -> tuple[str | None, list[str]]:
    kind = event.get("type")
    data = event.get("data") or {}
    to = data.get("to") or []
    addresses = [a.lower() for a in ([to] if isinstance(to, str) else to) if isinstance(a, str)]
    if kind == "email.complained":
        return "complained", addresses
    if kind == "email.bounced":
        bounce = data.get("bounce") or {}
        if str(bounce.get("type", "")).lower() == "transient":
            return None, []
        return "bounced", addresses
    return None, []


@router.post(
    "/resend-webhook",
    summary="Resend delivery events (bounced, complained → suppression list)",
    responses={
        401: {"model": ErrorBody, "description": "Bad signature or stale timestamp"},
        429: {"model": ErrorBody, "description": "Too many deliveries (per source or per IP)"},
        503: {"model": ErrorBody, "description": "RESEND_WEBHOOK_SECRET is not set"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ResendEvent.model_json_schema()}},
        }
    },
)
async def resend_webhook(
    request: Request, db: Db, settings: Settings, limiter: Limiter
) -> WebhookAck:
    if not settings.resend_webhook_secret:
        raise ApiError(503, "edge_webhook_not_configured", "RESEND_WEBHOOK_SECRET is not set.")
    body = await request.body()
    try:
        delivery = webhooks.verify(
            settings.resend_webhook_secret, request.headers, body, settings.webhook_tolerance
        )
    except ApiError as error:
        log.warning(
            "resend webhook refused", code=error.code, request_id=request_id_of(request.scope)
        )
        limit_signed(limiter, settings, "resend", client_ip_of(request.scope), verified=False)
        raise
    limit_signed(limiter, settings, "resend", client_ip_of(request.scope), verified=True)
    try:
        event = json.loads(body)
        ResendEvent.model_validate(event)
    except ValueError as exc:
        raise ApiError(400, "invalid_argument", "The event is not valid JSON.") from exc
    reason, addresses = suppressions_for(event)

    async def record() -> bool:
        async with as_service(request, db) as conn:
            cursor = await conn.execute(
                "insert into ops.webhook_receipts (source, webhook_id, event_type)"
                " values ('resend', %s, %s) on conflict do nothing returning 1",
                (delivery.id, str(event.get("type"))[:100]),
            )
            if await cursor.fetchone() is None:
                return False
            for address in addresses:
                await conn.execute(
                    "insert into ops.email_suppressions (email, category, reason, details)"
                    " values (%s, '*', %s, %s::jsonb)"
                    " on conflict (email, category) do update set reason = excluded.reason,"
                    " details = excluded.details",
                    (
                        address,
                        reason,
                        json.dumps({"event": event.get("type"), "webhook_id": delivery.id}),
                    ),
                )
            return True

    if not await record():
        log.info("resend webhook replayed; ignored", webhook_id=delivery.id)
        return WebhookAck(status="duplicate")
    log.info("resend webhook", event_type=event.get("type"), suppressed=len(addresses))
    return WebhookAck(status="processed", suppressed=addresses)
