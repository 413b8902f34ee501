"""A local fake of the Stripe API for tests: the real `stripe` library talks to it.

A threaded HTTP server on 127.0.0.1 implementing the endpoints the edge uses: customers
(create, retrieve), checkout sessions, billing portal sessions, and retrieving
subscriptions, invoices and prices. Objects live in memory; tests shape them (as Stripe's
own state would change) and build events from their current state, signed exactly as
Stripe signs webhooks (`t=<ts>,v1=<hex hmac-sha256 of "t.payload">`).
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import stripe

API_KEY = "sk_test_fake_flagship"
WEBHOOK_SECRET = "whsec_test_fake_flagship"
API_VERSION = "2025-03-31.basil"

CATALOG = {
    "price_flagship_pro_monthly": ("prod_flagship_pro", 1500, "month", False),
    "price_flagship_pro_yearly": ("prod_flagship_pro", 15000, "year", False),
    "price_flagship_team_seat": ("prod_flagship_team", 1200, "month", True),
}
_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}_{int(time.time() * 1000):x}{next(_ids):06d}"


def sign(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe would send for `payload`, made by the official
    library (`WebhookSignature.generate_signature_header`, its helper for tests)."""
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp)


def decode_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding (`a[b][0][c]=v`) back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt_is_index = not last and parts[i + 1].isdigit()
            if isinstance(node, list):
                index = int(part)
                while len(node) <= index:
                    node.append({} if not nxt_is_index else [])
                if last:
                    node[index] = value
                else:
                    node = node[index]
            else:
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, [] if nxt_is_index else {})
    return root


class FakeStripe:
    """The fake's state, and the server that serves it."""

    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.objects: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.idempotent: dict[str, tuple[str, dict, int, dict]] = {}
        self.fail_with: int | None = None  # answer every request with this status
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        for price_id, (product, amount, interval, per_seat) in CATALOG.items():
            self.objects[price_id] = {
                "id": price_id,
                "object": "price",
                "active": True,
                "currency": "usd",
                "unit_amount": amount,
                "product": product,
                "recurring": {"interval": interval, "interval_count": 1},
                "metadata": {"per_seat": "true"} if per_seat else {},
                "created": int(time.time()) - 86400,
            }

    # -- server ------------------------------------------------------------------------------
    def start(self) -> FakeStripe:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._serve(self, "GET")

            def do_POST(self) -> None:
                fake._serve(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def _serve(self, h: BaseHTTPRequestHandler, method: str) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length).decode() if length else ""
        params = decode_form(body) if body else {}
        path, _, query = h.path.partition("?")
        if method == "GET" and query:
            params = decode_form(query)
        key = h.headers.get("Idempotency-Key")
        with self.lock:
            self.requests.append(
                {"method": method, "path": path, "params": params, "idempotency_key": key}
            )
            if h.headers.get("Authorization") != f"Bearer {self.api_key}":
                status, answer = 401, error("invalid_request_error", "Invalid API Key provided")
            elif self.fail_with is not None:
                status, answer = self.fail_with, error("api_error", "fake outage")
            elif method == "POST" and key and key in self.idempotent:
                seen_path, seen_params, status, answer = self.idempotent[key]
                if (seen_path, seen_params) != (path, params):
                    status, answer = (
                        400,
                        error(
                            "idempotency_error",
                            "Idempotency keys can only be reused with the same parameters",
                        ),
                    )
            else:
                status, answer = self._route(method, path, params)
                if method == "POST" and key and status < 500:
                    self.idempotent[key] = (path, params, status, answer)
        data = json.dumps(answer).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.send_header("Request-Id", new_id("req"))
        h.end_headers()
        h.wfile.write(data)

    def _route(self, method: str, path: str, params: dict) -> tuple[int, dict]:
        if method == "POST" and path == "/v1/customers":
            obj = {
                "id": new_id("cus"),
                "object": "customer",
                "email": params.get("email"),
                "name": params.get("name"),
                "metadata": params.get("metadata", {}),
                "created": int(time.time()),
            }
            self.objects[obj["id"]] = obj
            return 200, obj
        if method == "POST" and path == "/v1/checkout/sessions":
            sid = new_id("cs_test")
            obj = {
                "id": sid,
                "object": "checkout.session",
                "url": f"https://checkout.stripe.test/c/pay/{sid}",
                "mode": params.get("mode"),
                "customer": params.get("customer"),
                "client_reference_id": params.get("client_reference_id"),
                "metadata": params.get("metadata", {}),
                "line_items": params.get("line_items", []),
                "success_url": params.get("success_url"),
                "cancel_url": params.get("cancel_url"),
                "status": "open",
                "payment_status": "unpaid",
                "subscription": None,
                "created": int(time.time()),
            }
            self.objects[sid] = obj
            return 200, obj
        if method == "POST" and path == "/v1/billing_portal/sessions":
            sid = new_id("bps")
            obj = {
                "id": sid,
                "object": "billing_portal.session",
                "url": f"https://billing.stripe.test/p/session/{sid}",
                "customer": params.get("customer"),
                "return_url": params.get("return_url"),
            }
            return 200, obj
        if method == "GET" and path == "/v1/invoice_payments":
            # GET /v1/invoice_payments?payment[type]=payment_intent&payment[payment_intent]=pi_
            wanted = (params.get("payment") or {}).get("payment_intent")
            found = [
                copy.deepcopy(o)
                for o in self.objects.values()
                if o.get("object") == "invoice_payment"
                and (o.get("payment") or {}).get("payment_intent") == wanted
            ]
            return 200, {
                "object": "list",
                "url": "/v1/invoice_payments",
                "has_more": False,
                "data": found[: int(params.get("limit") or 10)],
            }
        match = re.fullmatch(r"/v1/(customers|subscriptions|invoices|prices)/([A-Za-z0-9_]+)", path)
        if method == "GET" and match:
            obj = self.objects.get(match[2])
            if obj is None:
                return 404, error(
                    "invalid_request_error",
                    f"No such object: '{match[2]}'",
                    code="resource_missing",
                )
            return 200, copy.deepcopy(obj)
        return 404, error("invalid_request_error", f"Unrecognized request URL ({method}: {path})")

    # -- state the tests shape ---------------------------------------------------------------
    def customer(self, user_id: str, email: str = "user@example.test") -> dict:
        with self.lock:
            obj = {
                "id": new_id("cus"),
                "object": "customer",
                "email": email,
                "name": None,
                "metadata": {"user_id": user_id},
                "created": int(time.time()),
            }
            self.objects[obj["id"]] = obj
            return copy.deepcopy(obj)

    def subscription(
        self,
        customer: str,
        price: str = "price_flagship_pro_monthly",
        *,
        status: str = "active",
        quantity: int = 1,
        user_id: str | None = None,
        sub_id: str | None = None,
    ) -> dict:
        now = int(time.time())
        with self.lock:
            sid = sub_id or new_id("sub")
            obj = {
                "id": sid,
                "object": "subscription",
                "customer": customer,
                "status": status,
                "cancel_at_period_end": False,
                "cancel_at": None,
                "canceled_at": None,
                "ended_at": None,
                "trial_start": None,
                "trial_end": None,
                "created": now,
                "latest_invoice": None,
                "metadata": {"user_id": user_id} if user_id else {},
                "items": {
                    "object": "list",
                    "data": [
                        {
                            "id": new_id("si"),
                            "object": "subscription_item",
                            "price": copy.deepcopy(self.objects[price]),
                            "quantity": quantity,
                            "current_period_start": now,
                            "current_period_end": now + 30 * 86400,
                        }
                    ],
                },
            }
            self.objects[sid] = obj
            return copy.deepcopy(obj)

    def invoice(
        self,
        customer: str,
        subscription: str | None,
        *,
        status: str = "open",
        amount: int = 1500,
        currency: str = "usd",
    ) -> dict:
        now = int(time.time())
        with self.lock:
            iid = new_id("in")
            obj = {
                "id": iid,
                "object": "invoice",
                "customer": customer,
                "number": f"FLAG-{next(_ids):04d}",
                "status": status,
                "billing_reason": "subscription_create",
                "currency": currency,
                "subtotal": amount,
                "total": amount,
                "amount_due": amount,
                "amount_paid": amount if status == "paid" else 0,
                "amount_remaining": 0 if status == "paid" else amount,
                "attempt_count": 0,
                "next_payment_attempt": None,
                "hosted_invoice_url": f"https://invoice.stripe.test/i/{iid}",
                "invoice_pdf": f"https://invoice.stripe.test/i/{iid}/pdf",
                "period_start": now,
                "period_end": now + 30 * 86400,
                "created": now,
                "status_transitions": {"paid_at": now if status == "paid" else None},
                "parent": {
                    "type": "subscription_details",
                    "subscription_details": {"subscription": subscription, "metadata": {}},
                }
                if subscription
                else None,
                "lines": {
                    "object": "list",
                    "data": [
                        {
                            "description": "1 × Pro (at $15.00 / month)",
                            "amount": amount,
                            "quantity": 1,
                        }
                    ],
                },
            }
            self.objects[iid] = obj
            return copy.deepcopy(obj)

    def invoice_payment(self, invoice: str, payment_intent: str, amount: int = 1500) -> dict:
        """An invoice payment (API 2025-03-31+): which payment intent paid the invoice."""
        with self.lock:
            obj = {
                "id": new_id("inpay"),
                "object": "invoice_payment",
                "invoice": invoice,
                "amount_paid": amount,
                "amount_requested": amount,
                "currency": "usd",
                "is_default": True,
                "livemode": False,
                "payment": {"type": "payment_intent", "payment_intent": payment_intent},
                "status": "paid",
                "status_transitions": {"paid_at": int(time.time()), "canceled_at": None},
                "created": int(time.time()),
            }
            self.objects[obj["id"]] = obj
            return copy.deepcopy(obj)

    def update(self, object_id: str, **changes: Any) -> dict:
        """Change an object as Stripe would (top-level fields)."""
        with self.lock:
            self.objects[object_id].update(changes)
            return copy.deepcopy(self.objects[object_id])

    def get(self, object_id: str) -> dict:
        with self.lock:
            return copy.deepcopy(self.objects[object_id])

    def calls(self, method: str, path: str) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["method"] == method and r["path"] == path]


def event(
    event_type: str, obj: dict, *, created: int | None = None, event_id: str | None = None
) -> dict:
    """A Stripe event whose data.object is a snapshot of `obj` now."""
    return {
        "id": event_id or new_id("evt"),
        "object": "event",
        "api_version": API_VERSION,
        "created": int(time.time()) if created is None else created,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "data": {"object": copy.deepcopy(obj)},
    }


def error(kind: str, message: str, code: str | None = None) -> dict:
    body: dict[str, Any] = {"type": kind, "message": message}
    if code:
        body["code"] = code
    return {"error": body}
