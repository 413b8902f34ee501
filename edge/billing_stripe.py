"""Stripe settings and the one place the edge builds a Stripe client.

Environment (all optional; the embedded default has no Stripe at all):

- `STRIPE_SECRET_KEY`: enables checkout, the billing portal and re-reading objects during
  webhook processing. Without it checkout/portal answer 503 `billing_payments_unavailable`
  and the pricing views still read.
- `STRIPE_WEBHOOK_SECRET` (`whsec_...`): the endpoint secret; without it the webhook answers
  503 `billing_payments_unavailable` (nothing unsigned is ever accepted).
- `STRIPE_WEBHOOK_TOLERANCE`: seconds a signature timestamp may be old (default 300, as
  Stripe's libraries use).
- `STRIPE_API_BASE`: where the `stripe` library sends API calls (tests: a local fake).
- `SITE_URL`, `BILLING_SUCCESS_URL`, `BILLING_CANCEL_URL`, `BILLING_PORTAL_RETURN_URL`:
  where Stripe sends the user back; never taken from the request (no open redirects).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import stripe
from fastapi import Request

DEFAULT_SITE_URL = "http://127.0.0.1:3000"


@dataclass(frozen=True)
class BillingSettings:
    secret_key: str | None
    webhook_secret: str | None
    webhook_tolerance: int
    api_base: str | None
    success_url: str
    cancel_url: str
    portal_return_url: str

    @classmethod
    def from_env(cls) -> BillingSettings:
        site = (os.environ.get("SITE_URL") or DEFAULT_SITE_URL).rstrip("/")
        return cls(
            secret_key=os.environ.get("STRIPE_SECRET_KEY") or None,
            webhook_secret=os.environ.get("STRIPE_WEBHOOK_SECRET") or None,
            webhook_tolerance=int(os.environ.get("STRIPE_WEBHOOK_TOLERANCE") or 300),
            api_base=os.environ.get("STRIPE_API_BASE") or None,
            success_url=os.environ.get("BILLING_SUCCESS_URL")
            or f"{site}/billing/success?session_id={{CHECKOUT_SESSION_ID}}",
            cancel_url=os.environ.get("BILLING_CANCEL_URL") or f"{site}/pricing",
            portal_return_url=os.environ.get("BILLING_PORTAL_RETURN_URL")
            or f"{site}/account/billing",
        )

    @property
    def payments_enabled(self) -> bool:
        return self.secret_key is not None

    def client(self) -> stripe.StripeClient:
        """A client for this deployment's account (raises if payments are not configured)."""
        if self.secret_key is None:
            raise RuntimeError("STRIPE_SECRET_KEY is not set")
        base = {"api": self.api_base} if self.api_base else None
        return stripe.StripeClient(self.secret_key, base_addresses=base, max_network_retries=2)


def billing_settings(request: Request) -> BillingSettings:
    """FastAPI dependency: the settings read when the app was built."""
    settings = getattr(request.app.state, "billing", None)
    if settings is None:
        settings = request.app.state.billing = BillingSettings.from_env()
    return settings


def as_dict(obj: Any) -> dict[str, Any]:
    """A Stripe object as plain JSON-able data (what the SQL functions take)."""
    if isinstance(obj, stripe.StripeObject):
        return obj.to_dict(for_json=True)
    return dict(obj)
