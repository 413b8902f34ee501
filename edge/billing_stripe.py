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
- `STRIPE_MODE` (`test` or `live`): which events the webhook accepts. The secret key's
  prefix (`sk_live_`/`rk_live_` or `sk_test_`/`rk_test_`) decides when a key is set, and
  must agree with `STRIPE_MODE` if both are given; without either the mode is `test`.
  Events whose `livemode` differs are refused (400 `billing_livemode_mismatch`).

The webhook's rate limits are the edge's (`EDGE_RATE_LIMIT_WEBHOOK`, per verified source;
`EDGE_RATE_LIMIT_WEBHOOK_REFUSED`, per IP for deliveries whose signature fails).
- `SITE_URL`, `BILLING_SUCCESS_URL`, `BILLING_CANCEL_URL`, `BILLING_PORTAL_RETURN_URL`:
  where Stripe sends the user back; never taken from the request (no open redirects).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import stripe

DEFAULT_SITE_URL = "http://127.0.0.1:3000"


@dataclass(frozen=True)
class BillingSettings:
    """Part of EdgeSettings (`edge.billing`); the default is "no payments"."""

    secret_key: str | None = None
    webhook_secret: str | None = None
    webhook_tolerance: int = 300
    api_base: str | None = None
    success_url: str = f"{DEFAULT_SITE_URL}/billing/success?session_id={{CHECKOUT_SESSION_ID}}"
    cancel_url: str = f"{DEFAULT_SITE_URL}/pricing"
    portal_return_url: str = f"{DEFAULT_SITE_URL}/account/billing"
    livemode: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BillingSettings:
        env = os.environ if env is None else env
        site = (env.get("SITE_URL") or DEFAULT_SITE_URL).rstrip("/")
        secret_key = env.get("STRIPE_SECRET_KEY") or None
        return cls(
            secret_key=secret_key,
            livemode=_livemode(secret_key, env.get("STRIPE_MODE")),
            webhook_secret=env.get("STRIPE_WEBHOOK_SECRET") or None,
            webhook_tolerance=int(env.get("STRIPE_WEBHOOK_TOLERANCE") or 300),
            api_base=env.get("STRIPE_API_BASE") or None,
            success_url=env.get("BILLING_SUCCESS_URL")
            or f"{site}/billing/success?session_id={{CHECKOUT_SESSION_ID}}",
            cancel_url=env.get("BILLING_CANCEL_URL") or f"{site}/pricing",
            portal_return_url=env.get("BILLING_PORTAL_RETURN_URL") or f"{site}/account/billing",
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


def _livemode(secret_key: str | None, mode: str | None) -> bool:
    """Live or test, from the key's prefix and/or STRIPE_MODE (they must agree)."""
    if mode is not None and mode not in ("test", "live"):
        raise ValueError(f"STRIPE_MODE must be 'test' or 'live', not {mode!r}")
    from_key = None
    if secret_key:
        prefix = secret_key.split("_", 2)[:2]
        if len(prefix) == 2 and prefix[0] in ("sk", "rk") and prefix[1] in ("test", "live"):
            from_key = prefix[1] == "live"
    if from_key is not None and mode is not None and from_key != (mode == "live"):
        raise ValueError("STRIPE_MODE does not match the mode of STRIPE_SECRET_KEY")
    if from_key is not None:
        return from_key
    return mode == "live"


def as_dict(obj: Any) -> dict[str, Any]:
    """A Stripe object as plain JSON-able data (what the SQL functions take)."""
    if isinstance(obj, stripe.StripeObject):
        return obj.to_dict(for_json=True)
    return dict(obj)
