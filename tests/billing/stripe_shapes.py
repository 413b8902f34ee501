"""Stripe objects in the shapes Stripe's API returns them, for replaying whole sequences.

Two API versions matter: the current one (2025-03-31 and later: periods on subscription
items, `invoice.parent.subscription_details`, charges that name no invoice, invoice
payments) and 2025-01 (`subscription.current_period_*`, `invoice.subscription`,
`invoice.payment_intent`, `charge.invoice`). `Story` builds one customer's objects and
the events Stripe would send, each a snapshot of the object at that moment.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from fake_stripe import CATALOG, new_id

CURRENT = "2025-03-31.basil"
OLD = "2025-01-27.acacia"
PRO = "price_flagship_pro_monthly"
TEAM = "price_flagship_team_seat"
DAY = 86400


def price(price_id: str, product: str | None = None, amount: int = 1500, **extra) -> dict:
    known = CATALOG.get(price_id)
    product = product or (known[0] if known else "prod_flagship_pro")
    return {
        "id": price_id,
        "object": "price",
        "active": True,
        "currency": "usd",
        "unit_amount": known[1] if known else amount,
        "product": product,
        "recurring": {"interval": known[2] if known else "month", "interval_count": 1},
        "metadata": {"per_seat": "true"} if known and known[3] else {},
        "lookup_key": None,
        "type": "recurring",
        "created": 1_700_000_000,
        **extra,
    }


@dataclass
class Story:
    """One customer's Stripe objects and the events about them, in the order Stripe sent them."""

    user_id: str
    email: str = "payer@example.test"
    version: str = CURRENT
    t: int = 1_800_000_000
    metadata: bool = True  # our checkout writes metadata.user_id; Payment Links do not
    customer: str = field(default_factory=lambda: new_id("cus"))
    sub_id: str = field(default_factory=lambda: new_id("sub"))
    events: list[dict] = field(default_factory=list)
    objects: dict[str, dict] = field(default_factory=dict)  # the latest state of each

    # -- objects ------------------------------------------------------------------------------
    def subscription(self, status: str, items: list[tuple[str, int]], *, start: int) -> dict:
        item_ids = self.objects.get("_item_ids", {})
        data = []
        for price_id, quantity in items:
            item_ids.setdefault(price_id, new_id("si"))
            item = {
                "id": item_ids[price_id],
                "object": "subscription_item",
                "price": price(price_id),
                "quantity": quantity,
            }
            if self.version == CURRENT:
                item |= {"current_period_start": start, "current_period_end": start + 30 * DAY}
            data.append(item)
        self.objects["_item_ids"] = item_ids
        sub = {
            "id": self.sub_id,
            "object": "subscription",
            "customer": self.customer,
            "status": status,
            "cancel_at_period_end": False,
            "cancel_at": None,
            "canceled_at": None,
            "ended_at": None,
            "trial_start": None,
            "trial_end": None,
            "created": self.t,
            "latest_invoice": None,
            "livemode": False,
            "metadata": {"user_id": self.user_id} if self.metadata else {},
            "items": {"object": "list", "data": data, "has_more": False},
        }
        if self.version == OLD:
            sub |= {"current_period_start": start, "current_period_end": start + 30 * DAY}
        return sub

    def invoice(self, inv_id: str, status: str, amount: int, *, at: int, pi: str, reason: str):
        paid = status == "paid"
        inv = {
            "id": inv_id,
            "object": "invoice",
            "customer": self.customer,
            "number": f"FLAG-{inv_id[-6:]}",
            "status": status,
            "billing_reason": reason,
            "currency": "usd",
            "subtotal": amount,
            "total": amount,
            "amount_due": amount,
            "amount_paid": amount if paid else 0,
            "amount_remaining": 0 if paid else amount,
            "attempt_count": 0 if status == "draft" else 1,
            "next_payment_attempt": None,
            "hosted_invoice_url": f"https://invoice.stripe.test/i/{inv_id}",
            "invoice_pdf": f"https://invoice.stripe.test/i/{inv_id}/pdf",
            "period_start": at,
            "period_end": at + 30 * DAY,
            "created": at,
            "livemode": False,
            "status_transitions": {"paid_at": at if paid else None},
            "lines": {
                "object": "list",
                "data": [{"description": "1 × Pro", "amount": amount, "quantity": 1}],
            },
        }
        if self.version == CURRENT:
            inv["parent"] = {
                "type": "subscription_details",
                "subscription_details": {
                    "subscription": self.sub_id,
                    "metadata": {"user_id": self.user_id} if self.metadata else {},
                },
            }
        else:
            inv |= {"subscription": self.sub_id, "payment_intent": pi, "charge": None}
        return inv

    def charge(self, pi: str, inv_id: str, amount: int, refunded: int, *, at: int) -> dict:
        charge = {
            "id": "ch_" + pi[3:],
            "object": "charge",
            "amount": amount,
            "amount_captured": amount,
            "amount_refunded": refunded,
            "refunded": refunded >= amount,
            "captured": True,
            "currency": "usd",
            "customer": self.customer,
            "payment_intent": pi,
            "paid": True,
            "status": "succeeded",
            "livemode": False,
            "created": at,
        }
        if self.version == OLD:
            charge["invoice"] = inv_id  # removed in 2025-03-31
        return charge

    def invoice_payment(self, inv_id: str, pi: str, amount: int, *, at: int) -> dict:
        return {
            "id": new_id("inpay"),
            "object": "invoice_payment",
            "invoice": inv_id,
            "amount_paid": amount,
            "amount_requested": amount,
            "currency": "usd",
            "is_default": True,
            "livemode": False,
            "payment": {"type": "payment_intent", "payment_intent": pi},
            "status": "paid",
            "status_transitions": {"paid_at": at, "canceled_at": None},
            "created": at,
        }

    def session(self) -> dict:
        return {
            "id": new_id("cs_test"),
            "object": "checkout.session",
            "mode": "subscription",
            "customer": self.customer,
            "client_reference_id": self.user_id,
            "customer_details": {"email": self.email},
            "metadata": {"user_id": self.user_id},
            "status": "complete",
            "payment_status": "paid",
            "subscription": self.sub_id,
            "livemode": False,
            "created": self.t,
        }

    # -- events -------------------------------------------------------------------------------
    def emit(self, event_type: str, obj: dict, at: int) -> dict:
        evt = {
            "id": new_id("evt"),
            "object": "event",
            "api_version": self.version,
            "created": at,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
            "data": {"object": copy.deepcopy(obj)},
        }
        self.events.append(evt)
        if obj.get("id"):
            self.objects[obj["id"]] = copy.deepcopy(obj)
        return evt

    def checkout(self, items: list[tuple[str, int]] | None = None) -> str:
        """A checkout as Stripe emits it: five events within the same second. Returns the
        first invoice's id."""
        t, items = self.t, items or [(PRO, 1)]
        inv, pi = new_id("in"), new_id("pi")
        self.emit("checkout.session.completed", self.session(), t)
        self.emit("customer.subscription.created", self.subscription("incomplete", items,
                  start=t), t)  # fmt: skip
        self.emit("invoice.finalized", self.invoice(inv, "open", 1500, at=t, pi=pi,
                  reason="subscription_create"), t)  # fmt: skip
        self.emit("invoice.paid", self.invoice(inv, "paid", 1500, at=t, pi=pi,
                  reason="subscription_create"), t)  # fmt: skip
        self.emit("customer.subscription.updated", self.subscription("active", items, start=t), t)
        if self.version == CURRENT:
            self.emit("invoice_payment.paid", self.invoice_payment(inv, pi, 1500, at=t), t)
        self.objects["_pi:" + inv] = {"pi": pi}
        return inv

    def renewal(self, at: int, *, fail_first: bool = False) -> str:
        inv, pi = new_id("in"), new_id("pi")
        if fail_first:
            self.emit("invoice.payment_failed", self.invoice(inv, "open", 1500, at=at, pi=pi,
                      reason="subscription_cycle"), at)  # fmt: skip
            self.emit("customer.subscription.updated", self.subscription("past_due", [(PRO, 1)],
                      start=at), at)  # fmt: skip
            at += 3600
        self.emit("invoice.paid", self.invoice(inv, "paid", 1500, at=at, pi=pi,
                  reason="subscription_cycle"), at)  # fmt: skip
        if self.version == CURRENT:
            self.emit("invoice_payment.paid", self.invoice_payment(inv, pi, 1500, at=at), at)
        self.emit("customer.subscription.updated", self.subscription("active", [(PRO, 1)],
                  start=at), at)  # fmt: skip
        self.objects["_pi:" + inv] = {"pi": pi}
        return inv

    def refund(self, inv: str, amount: int, at: int) -> dict:
        pi = self.objects["_pi:" + inv]["pi"]
        return self.emit("charge.refunded", self.charge(pi, inv, 1500, amount, at=at), at)

    def cancel(self, at: int) -> None:
        sub = self.subscription("canceled", [(PRO, 1)], start=at)
        sub |= {"canceled_at": at, "ended_at": at}
        self.emit("customer.subscription.deleted", sub, at)

    def lifecycle(self) -> dict[str, Any]:
        """Checkout → renewal → failure and grace → recovery → refund → cancellation."""
        first = self.checkout()
        second = self.renewal(self.t + 30 * DAY)
        third = self.renewal(self.t + 60 * DAY, fail_first=True)
        self.refund(second, 1500, self.t + 61 * DAY)
        self.cancel(self.t + 70 * DAY)
        return {"invoices": [first, second, third]}
