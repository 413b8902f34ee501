"""The Stripe webhook: signature checks, exactly-once processing, out-of-order safety,
concurrent duplicate deliveries, and the subscription lifecycle → entitlements."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import fake_stripe
import httpx
import pytest
from billing_support import auth, deliver, new_user, signed
from fake_stripe import event

from edge.app import PREFIX
from flagship.database import connect
from flagship.testing.harness import as_user

URL = f"{PREFIX}/stripe-webhook"


def entitled(conn, user, feature="pro") -> bool:
    return conn.execute(
        "select private.user_has_entitlement(%s, %s) as e", (user.id, feature)
    ).fetchone()["e"]


def sub_row(conn, sub_id):
    return conn.execute("select * from billing.subscriptions where id = %s", (sub_id,)).fetchone()


def outbox(conn, topic, **match):
    rows = conn.execute(
        "select payload, dedupe_key from ops.outbox where topic = %s order by id", (topic,)
    ).fetchall()
    return [r for r in rows if all(r["payload"].get(k) == v for k, v in match.items())]


def link(conn, user, customer_id):
    conn.execute(
        "insert into billing.customers (user_id, stripe_customer_id) values (%s, %s)",
        (user.id, customer_id),
    )


# -- signatures -----------------------------------------------------------------------------
@pytest.fixture
def probe(admin_conn, billing_db):
    """An event for a product update: harmless, and visible if it were ever applied."""
    return event(
        "product.updated",
        {"id": "prod_probe", "object": "product", "name": "Probe", "active": True},
    )


def stored(conn, evt) -> bool:
    return bool(
        conn.execute("select 1 from billing.webhook_events where id = %s", (evt["id"],)).fetchone()
    )


def test_unsigned_delivery_is_refused(stripe_env, client, admin_conn, probe, caplog):
    with caplog.at_level(logging.WARNING, logger="edge.billing.webhook"):
        r = client.post(URL, content=json.dumps(probe), headers={"Content-Type": "text/plain"})
    assert r.status_code == 400
    assert r.json()["code"] == "billing_webhook_signature_invalid"
    assert not stored(admin_conn, probe)
    assert "stripe webhook refused" in caplog.text
    assert fake_stripe.WEBHOOK_SECRET not in caplog.text


def test_wrongly_signed_delivery_is_refused(stripe_env, client, admin_conn, probe, caplog):
    with caplog.at_level(logging.WARNING, logger="edge.billing.webhook"):
        r = deliver(client, probe, secret="whsec_someone_else")
    assert (r.status_code, r.json()["code"]) == (400, "billing_webhook_signature_invalid")
    assert not stored(admin_conn, probe)
    assert fake_stripe.WEBHOOK_SECRET not in caplog.text


def test_tampered_body_is_refused(stripe_env, client, admin_conn, probe):
    body, headers = signed(probe)
    tampered = body.replace('"Probe"', '"Pwned"')
    r = client.post(URL, content=tampered, headers=headers)
    assert (r.status_code, r.json()["code"]) == (400, "billing_webhook_signature_invalid")
    assert not stored(admin_conn, probe)


def test_stale_delivery_outside_tolerance_is_refused(stripe_env, client, admin_conn, probe):
    r = deliver(client, probe, timestamp=int(time.time()) - 301)
    assert (r.status_code, r.json()["code"]) == (400, "billing_webhook_signature_invalid")
    assert not stored(admin_conn, probe)
    # Just inside the window it is accepted.
    assert deliver(client, probe, timestamp=int(time.time()) - 290).status_code == 200


def test_replayed_delivery_is_processed_once(stripe_env, client, admin_conn, probe):
    first = deliver(client, probe)
    assert first.json() == {"received": True, "status": "applied"}
    # A captured delivery replayed (same body, re-signed within tolerance) changes nothing.
    again = deliver(client, probe)
    assert again.json() == {"received": True, "status": "duplicate"}
    row = admin_conn.execute(
        "select deliveries, outcome from billing.webhook_events where id = %s", (probe["id"],)
    ).fetchone()
    assert row == {"deliveries": 2, "outcome": "applied"}


def test_without_webhook_secret_nothing_is_accepted(no_stripe_env, client, admin_conn, probe):
    r = deliver(client, probe)
    assert (r.status_code, r.json()["code"]) == (503, "billing_payments_unavailable")
    assert not stored(admin_conn, probe)


def test_signed_garbage_is_a_400(stripe_env, client):
    body = "not json"
    headers = {"Stripe-Signature": fake_stripe.sign(body)}
    r = client.post(URL, content=body, headers=headers)
    assert (r.status_code, r.json()["code"]) == (400, "billing_event_invalid")
    r = deliver(client, {"id": "evt_x", "object": "event", "type": "x.y", "data": {}})
    assert (r.status_code, r.json()["code"]) == (400, "billing_event_invalid")


# -- unknown customer ------------------------------------------------------------------------
def test_event_for_unknown_customer_is_parked_not_applied(stripe_env, client, admin_conn, caplog):
    sub = stripe_env.subscription("cus_nobody1", status="active")
    evt = event("customer.subscription.updated", sub)
    with caplog.at_level(logging.WARNING, logger="edge.billing.webhook"):
        r = deliver(client, evt)
    # 200: the event is kept (parked on its customer), so Stripe need not resend it
    assert r.status_code == 200
    assert r.json() == {"received": True, "status": "parked"}
    assert "not applied: parked" in caplog.text
    row = admin_conn.execute(
        "select outcome, error, processed_at, parked_on from billing.webhook_events where id = %s",
        (evt["id"],),
    ).fetchone()
    assert row["outcome"] == "parked" and "cus_nobody1" in row["error"]
    assert row["parked_on"] == "customer:cus_nobody1" and row["processed_at"] is None
    assert sub_row(admin_conn, sub["id"]) is None
    # metadata naming a user that does not exist does not help either
    sub2 = stripe_env.subscription("cus_nobody2", user_id="00000000-0000-0000-0000-000000000000")
    assert deliver(client, event("customer.subscription.created", sub2)).json()["status"] == (
        "parked"
    )
    assert sub_row(admin_conn, sub2["id"]) is None


# -- the lifecycle ---------------------------------------------------------------------------
def test_checkout_paid_fail_grace_recover(stripe_env, client, admin_conn, billing_db):
    fake = stripe_env
    user = new_user(billing_db)
    headers = auth(user)
    r = client.post(
        f"{PREFIX}/checkout", json={"price_id": "price_flagship_pro_monthly"}, headers=headers
    )
    assert r.status_code == 200, r.text
    session_id = r.json()["id"]
    customer = admin_conn.execute(
        "select stripe_customer_id from billing.customers where user_id = %s", (user.id,)
    ).fetchone()["stripe_customer_id"]
    assert not entitled(admin_conn, user)

    # Stripe: the session completes, the subscription starts incomplete, the first
    # invoice is paid and the subscription becomes active.
    t0 = int(time.time()) - 1000
    sub = fake.subscription(customer, status="incomplete", user_id=user.id)
    created = event("customer.subscription.created", sub, created=t0)
    session = fake.update(
        session_id, status="complete", payment_status="paid", subscription=sub["id"]
    )
    completed = event("checkout.session.completed", session, created=t0 + 1)
    inv = fake.invoice(customer, sub["id"], status="paid")
    active = fake.update(sub["id"], status="active", latest_invoice=inv["id"])
    updated = event("customer.subscription.updated", active, created=t0 + 2)
    paid = event("invoice.paid", inv, created=t0 + 2)

    for evt in (paid, completed, updated, created):  # out of order
        assert deliver(client, evt).status_code == 200
    row = sub_row(admin_conn, sub["id"])
    assert (row["status"], str(row["user_id"]), row["past_due_since"]) == ("active", user.id, None)
    # ordering mattered, so the subscription was re-read from Stripe (the fake)
    assert fake.calls("GET", f"/v1/subscriptions/{sub['id']}")
    assert entitled(admin_conn, user)
    receipts = outbox(admin_conn, "billing.receipt", invoice_id=inv["id"])
    assert len(receipts) == 1
    granted = outbox(admin_conn, "billing.entitlement_changed", user_id=user.id)
    assert [(g["payload"]["feature"], g["payload"]["entitled"]) for g in granted] == [("pro", True)]
    audit = admin_conn.execute(
        "select action, details from ops.audit_log where target_id = %s and action like"
        " 'billing.%%' order by id",
        (user.id,),
    ).fetchall()
    assert [(a["action"], a["details"]["feature"]) for a in audit] == [
        ("billing.entitlement_granted", "pro")
    ]

    # The renewal fails: past_due, an email with a link to fix the card, access kept
    # during the grace period.
    inv2 = fake.invoice(customer, sub["id"], status="open")
    inv2 = fake.update(inv2["id"], attempt_count=1)
    fake.update(sub["id"], status="past_due", latest_invoice=inv2["id"])
    failed = event("invoice.payment_failed", inv2, created=t0 + 100)
    assert deliver(client, failed).json()["status"] == "applied"
    row = sub_row(admin_conn, sub["id"])
    assert row["status"] == "past_due" and row["past_due_since"] is not None
    assert entitled(admin_conn, user)
    emails = outbox(admin_conn, "email.send", template="payment_failed", user_id=user.id)
    assert len(emails) == 1
    mail = emails[0]["payload"]
    assert mail["to"] == user.email
    assert mail["data"]["hosted_invoice_url"] == inv2["hosted_invoice_url"]
    assert mail["data"]["manage_billing_url"].endswith("/account/billing")
    assert mail["data"]["access_until"]

    # A retry that fails again does not restart the grace period.
    first_failure = row["past_due_since"]
    again = event(
        "invoice.payment_failed", fake.update(inv2["id"], attempt_count=2), created=t0 + 200
    )
    deliver(client, again)
    assert sub_row(admin_conn, sub["id"])["past_due_since"] == first_failure

    # The grace period ends (time moved by editing the row): access drops, and the
    # periodic sync audits and notifies it.
    admin_conn.execute(
        "update billing.subscriptions set past_due_since = now() - interval '3 days 1 minute'"
        " where id = %s",
        (sub["id"],),
    )
    assert not entitled(admin_conn, user)
    assert admin_conn.execute("select billing.sync_due_entitlements() as n").fetchone()["n"] == 1
    assert admin_conn.execute("select billing.sync_due_entitlements() as n").fetchone()["n"] == 0
    lost = outbox(admin_conn, "billing.entitlement_changed", user_id=user.id, entitled=False)
    assert len(lost) == 1

    # The card is fixed: invoice.paid restores access.
    inv2 = fake.update(inv2["id"], status="paid", amount_paid=1500, amount_remaining=0)
    fake.update(sub["id"], status="active")
    assert deliver(client, event("invoice.paid", inv2, created=t0 + 300)).json()["status"] == (
        "applied"
    )
    row = sub_row(admin_conn, sub["id"])
    assert (row["status"], row["past_due_since"]) == ("active", None)
    assert entitled(admin_conn, user)
    assert len(outbox(admin_conn, "billing.receipt", invoice_id=inv2["id"])) == 1
    changes = outbox(admin_conn, "billing.entitlement_changed", user_id=user.id)
    assert [c["payload"]["entitled"] for c in changes] == [True, False, True]

    # Admin view shows every step.
    view = admin_conn.execute(
        "select * from api.billing_admin_overview where subscription_id = %s", (sub["id"],)
    ).fetchone()
    assert view["status"] == "active" and view["owner_entitled"]
    assert view["payment_failures"] == 2 and view["last_failure_at"] is not None
    assert view["last_paid_at"] is not None


def test_payload_only_mode_refuses_older_events(webhook_only_env, client, admin_conn, billing_db):
    """Without an API key nothing is re-read: the per-object created guard alone keeps
    the newest state."""
    fake = fake_stripe.FakeStripe()  # used only to build objects, never served
    user = new_user(billing_db)
    customer = fake.customer(user.id)
    link(admin_conn, user, customer["id"])
    t0 = int(time.time()) - 500
    incomplete = fake.subscription(customer["id"], status="incomplete")
    active = fake.update(incomplete["id"], status="active")
    canceled = fake.update(incomplete["id"], status="canceled", ended_at=t0 + 20)
    created = event("customer.subscription.created", incomplete, created=t0)
    updated = event("customer.subscription.updated", active, created=t0 + 10)
    deleted = event("customer.subscription.deleted", canceled, created=t0 + 20)

    assert deliver(client, updated).json()["status"] == "applied"
    assert deliver(client, created).json()["status"] == "stale"
    assert sub_row(admin_conn, incomplete["id"])["status"] == "active"
    assert entitled(admin_conn, user)
    assert deliver(client, deleted).json()["status"] == "applied"
    assert deliver(client, updated).json()["status"] == "duplicate"
    assert sub_row(admin_conn, incomplete["id"])["status"] == "canceled"
    assert not entitled(admin_conn, user)
    # A genuinely new event older than the deletion is refused too.
    late = event("customer.subscription.updated", active, created=t0 + 15)
    assert deliver(client, late).json()["status"] == "stale"
    assert sub_row(admin_conn, incomplete["id"])["status"] == "canceled"


def test_concurrent_duplicated_out_of_order_deliveries(
    stripe_env, live_edge, admin_conn, billing_db
):
    """A realistic burst — every event delivered three times, shuffled, all at once over
    real connections — ends in the state of the newest event, with side effects once."""
    fake = stripe_env
    user = new_user(billing_db)
    customer = fake.customer(user.id)
    link(admin_conn, user, customer["id"])
    t0 = int(time.time()) - 100
    sub = fake.subscription(customer["id"], status="incomplete", user_id=user.id)
    events = [event("customer.subscription.created", sub, created=t0)]
    inv = fake.invoice(customer["id"], sub["id"], status="paid")
    events.append(event("invoice.finalized", fake.update(inv["id"], status="open"), created=t0 + 1))
    fake.update(inv["id"], status="paid")
    events.append(event("invoice.paid", fake.get(inv["id"]), created=t0 + 2))
    events.append(
        event(
            "customer.subscription.updated", fake.update(sub["id"], status="active"), created=t0 + 2
        )
    )
    deliveries = events * 3
    random.Random(7).shuffle(deliveries)
    barrier = threading.Barrier(len(deliveries))

    def send(evt):
        body, headers = signed(evt)
        barrier.wait(timeout=30)
        return httpx.post(f"{live_edge}/stripe-webhook", content=body, headers=headers, timeout=30)

    with ThreadPoolExecutor(max_workers=len(deliveries)) as pool:
        answers = list(pool.map(send, deliveries))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    statuses = [a.json()["status"] for a in answers]
    assert statuses.count("duplicate") == len(deliveries) - len(events)

    rows = admin_conn.execute(
        "select id, deliveries, processed_at is not null as done from billing.webhook_events"
        " where id = any(%s)",
        ([e["id"] for e in events],),
    ).fetchall()
    assert sorted(r["deliveries"] for r in rows) == [3] * len(events)
    assert all(r["done"] for r in rows)
    assert sub_row(admin_conn, sub["id"])["status"] == "active"
    invoice = admin_conn.execute(
        "select status from billing.invoices where id = %s", (inv["id"],)
    ).fetchone()
    assert invoice["status"] == "paid"
    assert entitled(admin_conn, user)
    assert len(outbox(admin_conn, "billing.receipt", invoice_id=inv["id"])) == 1
    assert len(outbox(admin_conn, "billing.entitlement_changed", user_id=user.id)) == 1
    audits = admin_conn.execute(
        "select count(*) as n from ops.audit_log where target_id = %s"
        " and action = 'billing.entitlement_granted'",
        (user.id,),
    ).fetchone()["n"]
    assert audits == 1


def test_same_event_racing_on_two_connections_is_processed_once(admin_conn, billing_db):
    """The database alone guarantees it: two sessions record and process one event at the
    same moment; the second waits on the event's row lock and then finds it processed."""
    from flagship.database import connect

    user = new_user(billing_db)
    fake = fake_stripe.FakeStripe()
    customer = fake.customer(user.id)
    link(admin_conn, user, customer["id"])
    evt = event("customer.subscription.created", fake.subscription(customer["id"], status="active"))
    barrier = threading.Barrier(2)

    def run():
        with connect(billing_db) as conn:
            conn.execute("set role service_role")
            barrier.wait(timeout=10)
            conn.execute("select billing.record_event(%s::jsonb)", (json.dumps(evt),))
            outcome = conn.execute(
                "select billing.process_event(%s) as o", (evt["id"],)
            ).fetchone()["o"]
            conn.commit()
            return outcome

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(lambda _: run(), range(2)))
    assert outcomes == ["applied", "duplicate"]
    assert len(outbox(admin_conn, "billing.entitlement_changed", user_id=user.id)) == 1


def test_reread_failure_leaves_the_event_for_redelivery(stripe_env, client, admin_conn, billing_db):
    fake = stripe_env
    user = new_user(billing_db)
    customer = fake.customer(user.id)
    link(admin_conn, user, customer["id"])
    evt = event("customer.subscription.updated", fake.subscription(customer["id"], status="active"))
    fake.fail_with = 500
    r = deliver(client, evt)
    # the catalogued status (502), the same on every surface
    catalogued = admin_conn.execute(
        "select http_status from ops.error_codes where code = 'billing_stripe_error'"
    ).fetchone()["http_status"]
    assert (
        (r.status_code, r.json()["code"])
        == (catalogued, "billing_stripe_error")
        == (
            502,
            "billing_stripe_error",
        )
    )
    row = admin_conn.execute(
        "select processed_at, error from billing.webhook_events where id = %s", (evt["id"],)
    ).fetchone()
    assert row["processed_at"] is None and "APIError" in row["error"]
    assert not entitled(admin_conn, user)
    fake.fail_with = None
    assert deliver(client, evt).json()["status"] == "applied"  # Stripe's redelivery
    assert entitled(admin_conn, user)


def test_trial_refund_catalog_and_customer_events(stripe_env, client, admin_conn, billing_db):
    fake = stripe_env
    user = new_user(billing_db)
    customer = fake.customer(user.id)
    link(admin_conn, user, customer["id"])
    t0 = int(time.time()) - 300
    sub = fake.subscription(customer["id"], status="trialing")
    sub = fake.update(sub["id"], trial_end=t0 + 3 * 86400)
    assert (
        deliver(client, event("customer.subscription.trial_will_end", sub, created=t0)).json()[
            "status"
        ]
        == "applied"
    )
    assert entitled(admin_conn, user)
    assert len(outbox(admin_conn, "email.send", template="trial_ending", user_id=user.id)) == 1

    paused = fake.update(sub["id"], status="paused")
    assert (
        deliver(client, event("customer.subscription.paused", paused, created=t0 + 1)).json()[
            "status"
        ]
        == "applied"
    )
    assert not entitled(admin_conn, user)
    resumed = fake.update(sub["id"], status="active")
    deliver(client, event("customer.subscription.resumed", resumed, created=t0 + 2))
    assert entitled(admin_conn, user)

    inv = fake.invoice(customer["id"], sub["id"], status="paid")
    deliver(client, event("invoice.paid", inv, created=t0 + 3))
    charge = {
        "id": "ch_1",
        "object": "charge",
        "customer": customer["id"],
        "invoice": inv["id"],
        "amount_refunded": 500,
        "refunded": False,
    }
    assert (
        deliver(client, event("charge.refunded", charge, created=t0 + 4)).json()["status"]
        == "applied"
    )
    refunded = admin_conn.execute(
        "select amount_refunded from billing.invoices where id = %s", (inv["id"],)
    ).fetchone()["amount_refunded"]
    assert refunded == 500
    assert len(outbox(admin_conn, "email.send", template="refund_issued", user_id=user.id)) == 1

    cust = fake.update(customer["id"], email="new@example.test", name="New Name")
    assert (
        deliver(client, event("customer.updated", cust, created=t0 + 5)).json()["status"]
        == "applied"
    )
    row = admin_conn.execute(
        "select email, name from billing.customers where user_id = %s", (user.id,)
    ).fetchone()
    assert row == {"email": "new@example.test", "name": "New Name"}

    # A price changes at Stripe; an older price event arriving later is refused.
    price = {
        "id": "price_flagship_pro_monthly",
        "object": "price",
        "active": True,
        "currency": "usd",
        "unit_amount": 1900,
        "product": "prod_flagship_pro",
        "recurring": {"interval": "month", "interval_count": 1},
        "metadata": {},
    }
    assert (
        deliver(client, event("price.updated", price, created=t0 + 6)).json()["status"] == "applied"
    )
    old = {**price, "unit_amount": 1700}
    assert deliver(client, event("price.updated", old, created=t0 + 5)).json()["status"] == "stale"
    amount = admin_conn.execute(
        "select unit_amount from api.billing_plans where price_id = %s", (price["id"],)
    ).fetchone()["unit_amount"]
    assert amount == 1900
    admin_conn.execute(
        "update billing.prices set unit_amount = 1500, stripe_event_created = null where id = %s",
        (price["id"],),
    )
    product = {
        "id": "prod_flagship_team",
        "object": "product",
        "name": "Team+",
        "active": True,
        "metadata": {"features": "pro, team, Bad Feature!, labs"},
    }
    deliver(client, event("product.updated", product, created=t0 + 7))
    features = admin_conn.execute(
        "select name, features from billing.products where id = 'prod_flagship_team'"
    ).fetchone()
    assert features == {"name": "Team+", "features": ["labs", "pro", "team"]}
    admin_conn.execute(
        "update billing.products set name = 'Team', features = '{pro,team}',"
        " stripe_event_created = null where id = 'prod_flagship_team'"
    )


def test_checkout_completed_plus_invoice_paid_grants_pro(
    stripe_env, client, admin_conn, billing_db
):
    """Exactly the two events the issue names: the session completes (subscription still
    incomplete at Stripe), then its first invoice is paid."""
    fake = stripe_env
    user = new_user(billing_db)
    r = client.post(f"{PREFIX}/checkout", json={"price_id": "price_flagship_pro_yearly"},
                    headers=auth(user))  # fmt: skip
    assert r.status_code == 200, r.text
    customer = fake.calls("POST", "/v1/customers")[0]
    customer_id = next(
        o["id"] for o in fake.objects.values()
        if o.get("object") == "customer" and o["metadata"] == customer["params"]["metadata"]
    )  # fmt: skip
    sub = fake.subscription(customer_id, "price_flagship_pro_yearly", status="incomplete",
                            user_id=user.id)  # fmt: skip
    session = fake.update(r.json()["id"], status="complete", subscription=sub["id"])
    t0 = int(time.time()) - 60
    assert deliver(client, event("checkout.session.completed", session, created=t0)).json()[
        "status"] == "applied"  # fmt: skip
    assert sub_row(admin_conn, sub["id"])["status"] == "incomplete"
    assert not entitled(admin_conn, user)
    inv = fake.invoice(customer_id, sub["id"], status="paid", amount=15000)
    assert deliver(client, event("invoice.paid", inv, created=t0 + 5)).json()["status"] == (
        "applied"
    )
    assert sub_row(admin_conn, sub["id"])["status"] == "active"
    assert entitled(admin_conn, user)
    with connect(billing_db) as conn, as_user(conn, user):
        mine = conn.execute("select feature from api.billing_my_entitlements").fetchall()
        history = conn.execute("select id, amount_paid from api.billing_invoices").fetchall()
    assert {m["feature"] for m in mine} == {"pro", "community", "free_courses"}
    assert history == [{"id": inv["id"], "amount_paid": 15000}]
