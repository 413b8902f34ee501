"""`POST /functions/v1/stripe-webhook`: verified, stored once, applied once, in order.

1. The signature is checked with the official library (`stripe.Webhook.construct_event`,
   endpoint secret, tolerance window). Unsigned, wrongly signed and stale deliveries are
   400 `billing_webhook_signature_invalid` and never touch the database.
2. `billing.record_event` stores the event keyed by its id. A replay or redelivery of a
   processed event answers 200 at once.
3. Where ordering matters (subscriptions, invoices, checkout sessions), the current object
   is re-read from Stripe and passed along, so the state applied is never older than the
   event; `billing.process_event` applies it exactly once (row lock on the event) and
   refuses anything older than what was applied to the object already.
4. The answer is 2xx as soon as the database has the result; emails and receipt PDFs are
   outbox jobs for the worker. An event naming a customer, product or payment the mirror
   does not know yet is parked (200 `parked`) and applied when that arrives.
5. An event whose `livemode` is not this deployment's mode is refused (400
   `billing_livemode_mismatch`, nothing stored): a test endpoint never applies live money.
6. Deliveries are rate-limited per verified source, not per IP (edge.ratelimit.limit_signed).
   A Stripe outage during a re-read answers 502 `billing_stripe_error` (as catalogued), so
   Stripe redelivers.

Database calls run as service_role: the named exception to "act as the caller", since a
webhook has no user. Every write happens inside the billing.* SQL functions.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
import stripe
from fastapi import APIRouter, Request
from psycopg.types.json import Jsonb
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from edge.billing_stripe import BillingSettings, as_dict
from edge.client import client_ip_of
from edge.db import Database
from edge.deps import Billing, Db, Limiter, Settings
from edge.errors import ApiError, ErrorBody
from edge.middleware import request_id_of
from edge.ratelimit import limit_signed
from flagship.logs import logger

log = logger("edge.billing.webhook")
router = APIRouter(tags=["billing"])
SERVICE_ROLE = {"role": "service_role"}
MAX_BODY = 1024 * 1024  # Stripe events are far smaller
NOT_APPLIED = {"parked", "customer_conflict", "invalid"}


class WebhookAnswer(BaseModel):
    received: bool = True
    status: str


def reread(settings: BillingSettings, event: dict[str, Any]) -> dict[str, Any]:
    """Current versions of the objects whose ordering matters, from Stripe."""
    if not settings.payments_enabled:
        return {}
    obj = event["data"]["object"]
    kind = obj.get("object")
    client = settings.client()
    fresh: dict[str, Any] = {}

    def ref(value: Any) -> str | None:
        return value.get("id") if isinstance(value, dict) else value

    def fetch(name: str, object_id: str | None) -> None:
        if not object_id:
            return
        service = client.v1.subscriptions if name == "subscription" else client.v1.invoices
        try:
            fresh[name] = as_dict(service.retrieve(object_id))
        except stripe.InvalidRequestError as exc:
            if exc.http_status != 404:
                raise
            log.info("gone at Stripe; using the snapshot", object=name, object_id=object_id)

    if kind == "subscription":
        fetch("subscription", obj.get("id"))
    elif kind == "invoice":
        fetch("invoice", obj.get("id"))
        invoice = fresh.get("invoice", obj)
        parent = (invoice.get("parent") or {}).get("subscription_details") or {}
        fetch("subscription", ref(invoice.get("subscription")) or parent.get("subscription"))
    elif kind == "checkout.session":
        fetch("subscription", ref(obj.get("subscription")))
    elif kind == "charge" and not obj.get("invoice") and ref(obj.get("payment_intent")):
        # Since API version 2025-03-31 a charge names no invoice: ask which invoice payment
        # its payment intent made.
        payments = client.v1.invoice_payments.list(
            params={
                "payment": {"type": "payment_intent", "payment_intent": ref(obj["payment_intent"])},
                "limit": 1,
            }
        )
        if payments.data:
            fresh["invoice_payment"] = as_dict(payments.data[0])
    return fresh


async def handle(
    db: Database, settings: BillingSettings, event: dict[str, Any], rid: str | None
) -> WebhookAnswer:
    """Store the event, re-read its object from Stripe (the SDK blocks: thread pool), apply."""
    event_id, event_type = event.get("id"), event.get("type")
    try:
        async with db.caller(SERVICE_ROLE, path="/functions/v1/stripe-webhook") as conn:
            cursor = await conn.execute("select billing.record_event(%s) as s", (Jsonb(event),))
            stored = (await cursor.fetchone())["s"]
    except psycopg.Error as exc:
        if exc.diag.message_hint == "billing_event_invalid":
            log.warning("malformed Stripe event refused", request_id=rid)
            raise ApiError(400, "billing_event_invalid", "The event is malformed.") from exc
        raise
    if stored == "processed":
        log.info(
            "stripe event already processed; delivery ignored",
            event_id=event_id,
            event_type=event_type,
        )
        return WebhookAnswer(status="duplicate")
    try:
        fresh = await run_in_threadpool(reread, settings, event)
        async with db.caller(SERVICE_ROLE, path="/functions/v1/stripe-webhook") as conn:
            cursor = await conn.execute(
                "select billing.process_event(%s, %s) as o", (event_id, Jsonb(fresh))
            )
            outcome = (await cursor.fetchone())["o"]
    except (stripe.StripeError, psycopg.Error) as exc:
        reason = f"{type(exc).__name__}: {str(exc).strip()[:500]}"
        log.error(
            "stripe event failed",
            event_id=event_id,
            event_type=event_type,
            reason=reason,
            request_id=rid,
        )
        async with db.caller(SERVICE_ROLE) as conn:
            await conn.execute("select billing.fail_event(%s, %s)", (event_id, reason))
        # Non-2xx: Stripe redelivers later, and the stored event is processed then.
        raise ApiError(
            502 if isinstance(exc, stripe.StripeError) else 500,
            "billing_stripe_error" if isinstance(exc, stripe.StripeError) else "internal_error",
            "The event could not be processed yet; it will be retried.",
        ) from exc
    if outcome in NOT_APPLIED:
        log.warning(f"stripe event stored but not applied: {outcome}", event_id=event_id,
                    event_type=event_type)  # fmt: skip
    else:
        log.info("stripe event applied", event_id=event_id, event_type=event_type, outcome=outcome)
    return WebhookAnswer(status=outcome)


@router.post(
    "/stripe-webhook",
    summary="Stripe webhook endpoint (signed with the endpoint secret)",
    responses={s: {"model": ErrorBody} for s in (400, 413, 429, 500, 502, 503)},
)
async def stripe_webhook(
    request: Request, db: Db, settings: Billing, edge: Settings, limiter: Limiter
) -> WebhookAnswer:
    rid = request_id_of(request.scope)
    if not settings.webhook_secret:
        raise ApiError(
            503, "billing_payments_unavailable", "Payments are not configured on this deployment."
        )
    payload = await request.body()
    if len(payload) > MAX_BODY:
        raise ApiError(413, "payload_too_large", "The event is too large.")
    try:
        stripe.Webhook.construct_event(
            payload,
            request.headers.get("stripe-signature"),
            settings.webhook_secret,
            tolerance=settings.webhook_tolerance,
        )
        event = json.loads(payload)
    except stripe.SignatureVerificationError as exc:
        # The library's reason (missing header, no match, outside tolerance): no secrets.
        log.warning("stripe webhook refused", reason=str(exc.user_message or exc), request_id=rid)
        limit_signed(limiter, edge, "stripe", client_ip_of(request.scope), verified=False)
        raise ApiError(
            400, "billing_webhook_signature_invalid", "The Stripe signature is not valid."
        ) from exc
    except ValueError as exc:
        log.warning("stripe webhook refused: not a Stripe event", request_id=rid)
        raise ApiError(400, "billing_event_invalid", "The body is not a Stripe event.") from exc
    limit_signed(limiter, edge, "stripe", client_ip_of(request.scope), verified=True)
    if not isinstance(event, dict):
        raise ApiError(400, "billing_event_invalid", "The body is not a Stripe event.")
    if bool(event.get("livemode")) != settings.livemode:
        mode = "live" if settings.livemode else "test"
        log.error(
            "stripe webhook refused: livemode mismatch",
            event_id=event.get("id"),
            livemode=bool(event.get("livemode")),
            configured_mode=mode,
            request_id=rid,
        )
        raise ApiError(
            400,
            "billing_livemode_mismatch",
            f"This deployment takes {mode}-mode Stripe events only.",
            {"livemode": bool(event.get("livemode")), "configured_mode": mode},
        )
    return await handle(db, settings, event, rid)
