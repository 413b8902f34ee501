"""Checkout and the customer portal: `POST /functions/v1/checkout`, `/billing-portal`.

The rules (which prices are for sale, quantities, amounts, one subscription per plan) are
in SQL (`billing.checkout_context`, run as the caller); this module only talks to Stripe.
"""

from __future__ import annotations

import hashlib
import re
import time
from typing import Annotated, Any
from uuid import UUID

import psycopg
import stripe
from fastapi import APIRouter, Depends, Header
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from edge import dberrors
from edge.auth.deps import CurrentCaller
from edge.db import Database
from edge.deps import Billing, Db
from edge.errors import ApiError, ErrorBody
from flagship.logs import logger

log = logger("edge.billing")
router = APIRouter(tags=["billing"])
SERVICE_ROLE = {"role": "service_role"}
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{8,100}$")
# Without a client key, identical requests within this window reuse one session (a
# double-click opens one checkout, not two).
IDEMPOTENCY_WINDOW = 600


def unavailable() -> ApiError:
    return ApiError(
        503,
        "billing_payments_unavailable",
        "Payments are not configured on this deployment.",
    )


def sql_error(exc: psycopg.Error) -> ApiError:
    """A SQL API error (code in the hint) as the edge's error shape (edge.dberrors)."""
    mapped = dberrors.to_api_error(exc, anonymous=False)  # billing callers are signed in
    if mapped is None:
        raise exc
    return mapped


def stripe_failed(exc: stripe.StripeError, what: str) -> ApiError:
    # Stripe's messages carry no secrets; the key is never part of them.
    log.error(
        "stripe call failed", call=what, error=type(exc).__name__, reason=exc.user_message or ""
    )
    return ApiError(502, "billing_stripe_error", "The payment provider did not answer; try again.")


class CheckoutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    price_id: str = Field(pattern=r"^price_[A-Za-z0-9_]{1,120}$")
    quantity: int | None = Field(default=None, ge=1, le=1000, description="Seats (team)")
    user_id: UUID | None = Field(default=None, description="If given, must be the caller")
    expected_unit_amount: int | None = Field(
        default=None, ge=0, description="The amount the pricing page showed (minor unit)"
    )
    currency: str | None = Field(default=None, pattern=r"^[A-Za-z]{3}$")


class CheckoutSession(BaseModel):
    id: str
    url: str


class PortalSession(BaseModel):
    url: str


async def signed_in_user(caller: CurrentCaller) -> dict[str, Any]:
    """Billing acts for a person: a user's own access token, never an integration's API key."""
    if caller.api_key_id is not None:
        raise ApiError(403, "forbidden", "Checkout and the billing portal need a user's session.")
    return caller.claims


Claims = Annotated[dict[str, Any], Depends(signed_in_user)]
ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorBody} for s in (400, 401, 403, 404, 409, 502, 503)
}


@router.post(
    "/checkout",
    summary="Open a Stripe Checkout Session for the signed-in user",
    responses=ERRORS,
)
async def checkout(
    body: CheckoutRequest,
    claims: Claims,
    db: Db,
    settings: Billing,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> CheckoutSession:
    user_id = claims["sub"]
    if body.user_id is not None and str(body.user_id) != user_id:
        log.warning("checkout refused: asked for another user", user_id=user_id)
        raise ApiError(403, "forbidden", "You can only open a checkout for yourself.")
    if idempotency_key is not None and not IDEMPOTENCY_KEY.match(idempotency_key):
        raise ApiError(400, "invalid_argument", "Idempotency-Key: 8-100 letters, digits, - or _.")
    if not settings.payments_enabled:
        raise unavailable()
    try:
        async with db.caller(claims, path="/functions/v1/checkout") as conn:
            cursor = await conn.execute(
                "select billing.checkout_context(%s, %s, %s, %s) as c",
                (body.price_id, body.quantity, body.expected_unit_amount, body.currency),
            )
            ctx = (await cursor.fetchone())["c"]
    except psycopg.Error as exc:
        error = sql_error(exc)
        log.info("checkout refused", user_id=user_id, code=error.code)
        raise error from exc
    price = ctx["price"]
    client = settings.client()
    # The Stripe SDK blocks: its calls go to the thread pool.
    try:
        # The catalog must agree with Stripe's own price before anyone is charged.
        live = await run_in_threadpool(client.v1.prices.retrieve, price["id"])
        if (
            live.unit_amount != price["unit_amount"]
            or live.currency != price["currency"]
            or not live.active
        ):
            log.error("catalog price differs from Stripe's; checkout refused", price=price["id"])
            raise ApiError(
                409,
                "billing_price_changed",
                "This price changed; reload the pricing page.",
                {"price_id": price["id"]},
            )
        customer_id = ctx["customer_id"] or await create_customer(db, client, user_id, ctx["email"])
        if idempotency_key is None:
            salt = str(int(time.time()) // IDEMPOTENCY_WINDOW)
        else:
            salt = "key:" + idempotency_key
        digest = hashlib.sha256(
            f"{user_id}|{price['id']}|{ctx['quantity']}|{customer_id}|{salt}".encode()
        ).hexdigest()[:40]
        session = await run_in_threadpool(
            client.v1.checkout.sessions.create,
            params={
                "mode": "subscription",
                "customer": customer_id,
                "client_reference_id": user_id,
                "line_items": [{"price": price["id"], "quantity": ctx["quantity"]}],
                "success_url": settings.success_url,
                "cancel_url": settings.cancel_url,
                "metadata": {"user_id": user_id, "price_id": price["id"]},
                "subscription_data": {"metadata": {"user_id": user_id}},
            },
            options={"idempotency_key": f"flagship-checkout-{digest}"},
        )
    except stripe.StripeError as exc:
        raise stripe_failed(exc, "checkout") from exc
    log.info("checkout session opened", session=session.id, user_id=user_id, price=price["id"])
    return CheckoutSession(id=session.id, url=session.url)


async def create_customer(
    db: Database, client: stripe.StripeClient, user_id: str, email: str | None
) -> str:
    """Create the user's Stripe customer (idempotent per user) and link it."""
    params: dict[str, Any] = {"metadata": {"user_id": user_id}}
    if email:
        params["email"] = email
    customer = await run_in_threadpool(
        client.v1.customers.create,
        params=params,
        options={"idempotency_key": f"flagship-customer-{user_id}"},
    )
    # Service role, the named exception: clients cannot write billing.customers.
    async with db.caller(SERVICE_ROLE, path="/functions/v1/checkout") as conn:
        cursor = await conn.execute(
            "select billing.link_customer(%s, %s, %s) as c", (user_id, customer.id, email)
        )
        return (await cursor.fetchone())["c"]


@router.post(
    "/billing-portal",
    summary="Open the Stripe customer portal for the signed-in user",
    responses=ERRORS,
)
async def billing_portal(claims: Claims, db: Db, settings: Billing) -> PortalSession:
    if not settings.payments_enabled:
        raise unavailable()
    try:
        async with db.caller(claims, path="/functions/v1/billing-portal") as conn:
            cursor = await conn.execute("select billing.portal_customer() as c")
            customer_id = (await cursor.fetchone())["c"]
    except psycopg.Error as exc:
        raise sql_error(exc) from exc
    try:
        session = await run_in_threadpool(
            settings.client().v1.billing_portal.sessions.create,
            params={"customer": customer_id, "return_url": settings.portal_return_url},
        )
    except stripe.StripeError as exc:
        raise stripe_failed(exc, "billing portal") from exc
    return PortalSession(url=session.url)
