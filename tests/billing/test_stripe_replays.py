"""Replays of Stripe event sequences against the running edge: one test per defect found
by replaying realistic traffic, then whole lifecycles delivered in order, shuffled,
duplicated and concurrently, with and without STRIPE_SECRET_KEY, which must all end in the
same state.

Events are built in the shapes Stripe sends (tests/billing/stripe_shapes.py) and signed by
the official `stripe` library (fake_stripe.sign)."""

from __future__ import annotations

import itertools
import json
import random
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import fake_stripe
import httpx
import pytest
from billing_support import deliver, new_user, signed
from stripe_shapes import CURRENT, DAY, OLD, PRO, TEAM, Story, price

from edge.app import PREFIX, create_app
from edge.billing_stripe import BillingSettings
from flagship.database import connect
from flagship.testing.harness import api_error, as_user
from flagship.testing.servers import serve_asgi

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

URL = f"{PREFIX}/stripe-webhook"
T0 = int(time.time()) - 100 * DAY


def story(billing_db, **kwargs) -> tuple[Story, object]:
    user = new_user(billing_db)
    return Story(user_id=user.id, email=user.email, t=T0, **kwargs), user


def entitled(conn, user_id, feature="pro") -> bool:
    return conn.execute(
        "select private.user_has_entitlement(%s, %s) as e", (user_id, feature)
    ).fetchone()["e"]


def state(conn, s: Story) -> dict:
    """Everything the mirror holds about one story, comparable across replays."""
    sub = conn.execute(
        "select status, price_id, quantity from billing.subscriptions where id = %s",
        (s.sub_id,),
    ).fetchone()
    items = conn.execute(
        "select price_id, quantity from billing.subscription_items where subscription_id = %s"
        " order by price_id",
        (s.sub_id,),
    ).fetchall()
    invoices = conn.execute(
        "select id, status, amount_paid, amount_refunded from billing.invoices"
        " where customer_id = %s order by id",
        (s.customer,),
    ).fetchall()
    customer = conn.execute(
        "select user_id::text, email from billing.customers where stripe_customer_id = %s",
        (s.customer,),
    ).fetchone()
    jobs = conn.execute(
        "select topic, payload ->> 'template' as template, count(*)::int as n from ops.outbox"
        " where topic in ('billing.receipt', 'email.send')"
        " and (payload ->> 'user_id' = %s or payload ->> 'invoice_id' in"
        " (select id from billing.invoices where customer_id = %s))"
        " group by 1, 2 order by 1, 2",
        (s.user_id, s.customer),
    ).fetchall()
    parked = conn.execute(
        "select count(*)::int as n from billing.webhook_events"
        " where customer_id = %s and processed_at is null",
        (s.customer,),
    ).fetchone()["n"]
    return {
        "subscription": sub,
        "items": items,
        "invoices": [{k: v for k, v in i.items() if k != "id"} for i in invoices],
        "customer": customer,
        "pro": entitled(conn, s.user_id),
        "jobs": jobs,
        "unprocessed": parked,
    }


def outcomes(client, events) -> list[str]:
    answers = []
    for evt in events:
        r = deliver(client, evt)
        assert r.status_code == 200, r.text
        answers.append(r.json()["status"])
    return answers


# -- 1. refunds on current API versions -----------------------------------------------------
def test_refund_on_current_api_version_is_recorded_webhook_only(
    webhook_only_env, client, admin_conn, billing_db
):
    """A current charge.refunded names no invoice: the invoice payment learnt from
    invoice_payment.paid matches it, in either delivery order."""
    for refund_first in (False, True):
        s, _ = story(billing_db)
        inv = s.checkout()
        refund = s.refund(inv, 500, T0 + 3600)
        assert "invoice" not in refund["data"]["object"]
        events = [e for e in s.events if e is not refund]
        if refund_first:
            events.insert(0, refund)
        else:
            events.append(refund)
        answers = outcomes(client, events)
        if refund_first:
            assert answers[0] == "parked"  # waits for the payment's invoice, then applies
        row = admin_conn.execute(
            "select amount_refunded from billing.invoices where id = %s", (inv,)
        ).fetchone()
        assert row["amount_refunded"] == 500
        st = state(admin_conn, s)
        assert {"topic": "email.send", "template": "refund_issued", "n": 1} in st["jobs"]
        assert st["unprocessed"] == 0


def test_refund_on_current_api_version_is_resolved_by_a_reread(
    stripe_env, client, admin_conn, billing_db
):
    """With the secret key, the edge asks Stripe which invoice the payment intent paid."""
    s, _ = story(billing_db)
    inv = s.checkout()
    # Stripe's state: the invoice payment exists there, but its event was never delivered
    pay = next(e for e in s.events if e["type"] == "invoice_payment.paid")
    s.events.remove(pay)
    stripe_env.objects[pay["data"]["object"]["id"]] = pay["data"]["object"]
    for obj_id, obj in s.objects.items():
        if not obj_id.startswith("_"):
            stripe_env.objects[obj_id] = obj
    outcomes(client, s.events)
    refund = s.refund(inv, 1500, T0 + 3600)
    assert outcomes(client, [refund]) == ["applied"]
    assert stripe_env.calls("GET", "/v1/invoice_payments")
    row = admin_conn.execute(
        "select amount_refunded from billing.invoices where id = %s", (inv,)
    ).fetchone()
    assert row["amount_refunded"] == 1500


def test_refunds_on_the_old_api_version_and_partial_refunds_add_up(
    webhook_only_env, client, admin_conn, billing_db
):
    s, _ = story(billing_db, version=OLD)
    inv = s.checkout()
    first = s.refund(inv, 300, T0 + 100)
    second = s.refund(inv, 800, T0 + 200)  # the same charge, refunded further
    assert first["data"]["object"]["invoice"] == inv
    # delivered out of order: the charge's refunded total only grows
    outcomes(client, [*s.events[:-2], second, first])
    row = admin_conn.execute(
        "select amount_refunded from billing.invoices where id = %s", (inv,)
    ).fetchone()
    assert row["amount_refunded"] == 800


# -- 2. every subscription item counts ------------------------------------------------------
def test_pro_that_is_not_the_first_item_grants_pro(webhook_only_env, client, admin_conn,
                                                    billing_db):  # fmt: skip
    s, user = story(billing_db)
    addon = "price_addon_stickers"  # not in the catalog
    outcomes(client, [s.emit("checkout.session.completed", s.session(), T0)])
    sub = s.subscription("active", [(addon, 1), (PRO, 1)], start=T0)
    assert outcomes(client, [s.emit("customer.subscription.created", sub, T0)]) == ["applied"]
    assert entitled(admin_conn, user.id)
    row = admin_conn.execute(
        "select price_id from billing.subscriptions where id = %s", (s.sub_id,)
    ).fetchone()
    assert row["price_id"] == PRO  # the plan shown is the known item
    # the Pro item is removed, the unknown add-on stays: Pro goes
    sub = s.subscription("active", [(addon, 1)], start=T0)
    assert outcomes(client, [s.emit("customer.subscription.updated", sub, T0 + 60)]) == ["applied"]
    assert not entitled(admin_conn, user.id)
    items = admin_conn.execute(
        "select price_id from billing.subscription_items where subscription_id = %s",
        (s.sub_id,),
    ).fetchall()
    assert [i["price_id"] for i in items] == [addon]
    with connect(billing_db) as conn, as_user(conn, user):
        mine = conn.execute(
            "select product_id, items from api.billing_subscriptions where id = %s",
            (s.sub_id,),
        ).fetchone()
    assert mine["product_id"] is None
    assert mine["items"] == [{"price_id": addon, "product_id": None, "quantity": 1}]


def test_team_seats_count_from_the_per_seat_item_beside_pro(
    webhook_only_env, client, admin_conn, billing_db
):
    s, owner = story(billing_db)
    outcomes(client, [s.emit("checkout.session.completed", s.session(), T0)])
    sub = s.subscription("active", [(PRO, 1), (TEAM, 2)], start=T0)
    outcomes(client, [s.emit("customer.subscription.created", sub, T0)])
    members = [new_user(billing_db) for _ in range(3)]
    with connect(billing_db) as conn, as_user(conn, owner):
        for m in members[:2]:
            conn.execute("select api.billing_assign_seat(%s, %s)", (s.sub_id, m.id))
        with api_error(conn, "billing_no_seats_left"):
            conn.execute("select api.billing_assign_seat(%s, %s)", (s.sub_id, members[2].id))
        conn.commit()
    assert entitled(admin_conn, owner.id)  # the owner's own Pro item
    assert all(entitled(admin_conn, m.id) for m in members[:2])


# -- 3. events of the same second, without STRIPE_SECRET_KEY --------------------------------
def test_same_second_checkout_settles_in_every_delivery_order(
    webhook_only_env, client, admin_conn, billing_db
):
    """Stripe emits a checkout's events within one second; every one of the 120 delivery
    orders of the five must end active, Pro, paid, with one receipt."""
    base, _ = story(billing_db, metadata=False)
    base.checkout()
    core = [e for e in base.events if e["type"] != "invoice_payment.paid"]
    assert len(core) == 5 and len({e["created"] for e in core}) == 1
    finals = set()
    for order in itertools.permutations(range(5)):
        s, _ = story(billing_db, metadata=False)
        s.checkout()
        events = [e for e in s.events if e["type"] != "invoice_payment.paid"]
        outcomes(client, [events[i] for i in order])
        st = state(admin_conn, s)
        assert st["subscription"]["status"] == "active", (order, st)
        assert st["pro"], order
        assert [i["status"] for i in st["invoices"]] == ["paid"], order
        assert {"topic": "billing.receipt", "template": None, "n": 1} in st["jobs"], order
        assert st["unprocessed"] == 0, order
        finals.add(json.dumps({k: v for k, v in st.items() if k != "customer"}, default=str))
    assert len(finals) == 1


# -- 4. and 10. events for a customer not known yet ------------------------------------------
def test_events_before_checkout_are_parked_then_applied(
    webhook_only_env, client, admin_conn, billing_db
):
    """A Payment Link subscription (no metadata.user_id): its subscription, invoice and
    customer events arrive before checkout.session.completed links the customer."""
    s, user = story(billing_db, metadata=False)
    inv = s.checkout()
    checkout = s.events[0]
    customer = {"id": s.customer, "object": "customer", "email": "billing@corp.test",
                "name": "Ada Payer", "created": T0}  # fmt: skip
    early = [*s.events[1:], s.emit("customer.updated", customer, T0)]
    answers = dict(zip([e["type"] for e in early], outcomes(client, early), strict=True))
    # the invoice payment only says which invoice a payment paid: it needs no customer
    assert answers.pop("invoice_payment.paid") == "applied"
    assert set(answers.values()) == {"parked"}
    assert not entitled(admin_conn, user.id)
    # the checkout links the customer; everything parked applies, in Stripe's order
    assert outcomes(client, [checkout]) == ["applied"]
    st = state(admin_conn, s)
    assert st["subscription"]["status"] == "active" and st["pro"]
    assert [i["status"] for i in st["invoices"]] == ["paid"]
    assert {"topic": "billing.receipt", "template": None, "n": 1} in st["jobs"]
    assert st["unprocessed"] == 0
    # the customer.* email is authoritative over the checkout's
    assert st["customer"] == {"user_id": user.id, "email": "billing@corp.test"}
    events = admin_conn.execute(
        "select outcome from billing.webhook_events where customer_id = %s", (s.customer,)
    ).fetchall()
    assert {e["outcome"] for e in events} == {"applied"}
    assert inv


def test_checkout_email_is_merged_into_a_customer_linked_earlier(
    webhook_only_env, client, admin_conn, billing_db
):
    """A subscription event with metadata.user_id links the customer (no email known) before
    checkout.session.completed: the checkout's email is kept, not dropped."""
    s, user = story(billing_db)
    s.checkout()
    checkout, rest = s.events[0], s.events[1:]
    outcomes(client, [*rest, checkout])
    row = admin_conn.execute(
        "select email from billing.customers where stripe_customer_id = %s", (s.customer,)
    ).fetchone()
    assert row["email"] == user.email


# -- 5. a price that arrives after its subscription -----------------------------------------
def test_price_created_later_grants_without_another_subscription_event(
    webhook_only_env, client, admin_conn, billing_db
):
    s, user = story(billing_db)
    new_price = fake_stripe.new_id("price")
    outcomes(client, [s.emit("checkout.session.completed", s.session(), T0)])
    sub = s.subscription("active", [(new_price, 1)], start=T0)
    assert outcomes(client, [s.emit("customer.subscription.created", sub, T0)]) == ["applied"]
    assert not entitled(admin_conn, user.id)
    product = {"id": "prod_flagship_pro_plus", "object": "product", "name": "Pro Plus",
               "active": True, "metadata": {"features": "pro"}, "created": T0}  # fmt: skip
    price_evt = s.emit("price.created", price(new_price, product["id"], 2500), T0 + 10)
    # the price names a product the catalog does not know yet: parked on the product
    assert outcomes(client, [price_evt]) == ["parked"]
    assert outcomes(client, [s.emit("product.created", product, T0 + 5)]) == ["applied"]
    assert entitled(admin_conn, user.id)
    row = admin_conn.execute(
        "select price_id from billing.subscriptions where id = %s", (s.sub_id,)
    ).fetchone()
    assert row["price_id"] == new_price
    assert state(admin_conn, s)["unprocessed"] == 0


# -- 6. lookup keys move between prices ------------------------------------------------------
def test_a_real_price_may_take_a_seeded_lookup_key(
    webhook_only_env, client, admin_conn, billing_db
):
    s, _ = story(billing_db)
    real = fake_stripe.new_id("price")
    evt = s.emit("price.created", price(real, "prod_flagship_pro", 1500, lookup_key="pro_monthly"),
                 T0)  # fmt: skip
    assert outcomes(client, [evt]) == ["applied"]
    assert outcomes(client, [evt]) == ["duplicate"]  # a redelivery is a 200, not a 500
    keys = {
        r["id"]: r["lookup_key"]
        for r in admin_conn.execute(
            "select id, lookup_key from billing.prices where id in (%s, %s)", (real, PRO)
        ).fetchall()
    }
    assert keys == {real: "pro_monthly", PRO: None}
    # an older event of the seeded price does not take the key back
    old = s.emit("price.updated", price(PRO, lookup_key="pro_monthly"), T0 - 60)
    assert outcomes(client, [old]) == ["applied"]
    holder = admin_conn.execute(
        "select id from billing.prices where lookup_key = 'pro_monthly'"
    ).fetchall()
    assert [h["id"] for h in holder] == [real]


# -- 7. livemode -----------------------------------------------------------------------------
def test_events_of_the_other_mode_are_refused(webhook_only_env, client, admin_conn, billing_db):
    s, _ = story(billing_db)
    evt = s.emit("checkout.session.completed", s.session(), T0)
    evt["livemode"] = True
    r = deliver(client, evt)
    assert r.status_code == 400
    assert r.json()["code"] == "billing_livemode_mismatch"
    assert r.json()["details"] == {"livemode": True, "configured_mode": "test"}
    stored = admin_conn.execute(
        "select count(*)::int as n from billing.webhook_events where id = %s", (evt["id"],)
    ).fetchone()["n"]
    assert stored == 0


def test_a_live_deployment_refuses_test_events(monkeypatch, billing_app_url, billing_db):
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", fake_stripe.WEBHOOK_SECRET)
    monkeypatch.setenv("STRIPE_MODE", "live")
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    s, _ = story(billing_db)
    with TestClient(create_app(database_url=billing_app_url)) as live:
        r = deliver(live, s.emit("checkout.session.completed", s.session(), T0))
    assert (r.status_code, r.json()["code"]) == (400, "billing_livemode_mismatch")


def test_the_mode_comes_from_the_key_and_must_agree():
    assert BillingSettings.from_env({"STRIPE_SECRET_KEY": "sk_live_x"}).livemode
    assert not BillingSettings.from_env({"STRIPE_SECRET_KEY": "rk_test_x"}).livemode
    assert BillingSettings.from_env({"STRIPE_MODE": "live"}).livemode
    assert not BillingSettings.from_env({}).livemode
    with pytest.raises(ValueError, match="does not match"):
        BillingSettings.from_env({"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_MODE": "live"})
    with pytest.raises(ValueError, match="STRIPE_MODE"):
        BillingSettings.from_env({"STRIPE_MODE": "production"})


# -- 8. webhook rate limits ------------------------------------------------------------------
def test_signed_deliveries_are_not_limited_per_ip(monkeypatch, billing_app_url, billing_db):
    """A renewal burst from Stripe's few addresses passes a tight per-IP limit; the webhook
    is limited per verified source, and failed signatures per IP."""
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", fake_stripe.WEBHOOK_SECRET)
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    monkeypatch.setenv("EDGE_RATE_LIMIT_IP", "5/60")
    monkeypatch.setenv("EDGE_RATE_LIMIT_WEBHOOK", "30/60")
    monkeypatch.setenv("EDGE_RATE_LIMIT_WEBHOOK_REFUSED", "3/60")
    with TestClient(create_app(database_url=billing_app_url)) as edge:
        burst = [
            {**Story(user_id="x").session(), "id": fake_stripe.new_id("cs_test")} for _ in range(30)
        ]
        codes = [
            deliver(edge, fake_stripe.event("checkout.session.completed", obj)).status_code
            for obj in burst
        ]
        assert codes == [200] * 30  # far beyond the 5/min per-IP limit
        over = deliver(edge, fake_stripe.event("checkout.session.completed", burst[0]))
        assert (over.status_code, over.json()["code"]) == (429, "rate_limited")
        # unsigned attempts: 400 until the per-IP refusal limit, then 429
        bad = [
            edge.post(URL, content="{}", headers={"Stripe-Signature": "t=1,v1=00"}).status_code
            for _ in range(4)
        ]
        assert bad == [400, 400, 400, 429]
        # the rest of the edge keeps its per-IP limit
        health = [edge.get(f"{PREFIX}/me").status_code for _ in range(6)]
        assert health[-1] == 429


# -- 9. the user's own grace deadline --------------------------------------------------------
def test_a_subscriber_sees_their_own_grace_deadline(
    webhook_only_env, client, admin_conn, billing_db
):
    s, user = story(billing_db)
    s.t = int(time.time()) - 3600
    s.checkout()
    at = int(time.time()) - 60
    s.emit("invoice.payment_failed", s.invoice(fake_stripe.new_id("in"), "open", 1500, at=at,
           pi=fake_stripe.new_id("pi"), reason="subscription_cycle"), at)  # fmt: skip
    s.emit("customer.subscription.updated", s.subscription("past_due", [(PRO, 1)], start=at), at)
    outcomes(client, s.events)
    with connect(billing_db) as conn, as_user(conn, user):
        mine = conn.execute(
            "select status, past_due_since, grace_ends_at from api.billing_subscriptions"
        ).fetchone()
    assert mine["status"] == "past_due"
    assert mine["grace_ends_at"] is not None
    assert (mine["grace_ends_at"] - mine["past_due_since"]).days == 3


# -- whole lifecycles: every delivery pattern ends in the same state ---------------------------
def replay(pattern: str, events: list[dict], rng: random.Random) -> list[dict]:
    if pattern == "in_order":
        return list(events)
    if pattern == "reversed":
        return list(reversed(events))
    if pattern == "shuffled":
        return rng.sample(events, len(events))
    if pattern == "duplicated":
        return rng.sample(events * 2, len(events) * 2)
    raise AssertionError(pattern)


@pytest.mark.parametrize("mode", ["webhook_only", "with_key"])
def test_lifecycle_ends_the_same_however_it_is_delivered(
    mode, request, admin_conn, billing_db, billing_app_url, monkeypatch
):
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", fake_stripe.WEBHOOK_SECRET)
    fake = None
    if mode == "with_key":
        fake = request.getfixturevalue("fake")
        monkeypatch.setenv("STRIPE_SECRET_KEY", fake.api_key)
        monkeypatch.setenv("STRIPE_API_BASE", fake.url)
    else:
        monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    rng = random.Random(18)
    finals = {}
    with TestClient(create_app(database_url=billing_app_url)) as client:
        for pattern in ("in_order", "reversed", "shuffled", "duplicated", "concurrent"):
            for version in (CURRENT, OLD):
                s, _ = story(billing_db, version=version, metadata=pattern != "reversed")
                s.lifecycle()
                if fake is not None:  # Stripe's current state, for re-reads
                    for obj_id, obj in s.objects.items():
                        if not obj_id.startswith("_"):
                            fake.objects[obj_id] = obj
                if pattern == "concurrent":
                    deliver_concurrently(billing_app_url, s.events * 2)
                else:
                    outcomes(client, replay(pattern, s.events, rng))
                st = state(admin_conn, s)
                assert st["unprocessed"] == 0, (pattern, version)
                finals[(pattern, version)] = st
    expected = {
        "subscription": {"status": "canceled", "price_id": PRO, "quantity": 1},
        "items": [{"price_id": PRO, "quantity": 1}],
        "pro": False,
    }
    for key, st in finals.items():
        assert {k: st[k] for k in expected} == expected, key
        assert sorted(
            (i["status"], i["amount_paid"], i["amount_refunded"]) for i in st["invoices"]
        ) == [
            ("paid", 1500, 0),
            ("paid", 1500, 0),
            ("paid", 1500, 1500),
        ], key
        receipts = [j for j in st["jobs"] if j["topic"] == "billing.receipt"]
        assert receipts == [{"topic": "billing.receipt", "template": None, "n": 3}], key
    # A payment-failure email depends on order by design: once the recovery is applied, a
    # late failure event is stale and warns nobody. Everything else is the same.
    comparable = {
        key: json.dumps(
            {
                **{k: v for k, v in st.items() if k not in ("customer", "jobs")},
                "jobs": [j for j in st["jobs"] if j["template"] != "payment_failed"],
            },
            default=str,
        )
        for key, st in finals.items()
    }
    assert len(set(comparable.values())) == 1, comparable


def deliver_concurrently(app_url: str, events: list[dict]) -> None:
    """Every event, from 8 threads at once, to a real uvicorn edge."""
    with (
        serve_asgi(create_app(database_url=app_url), name="edge-test") as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):

        def send(evt):
            body, headers = signed(evt)
            return http.post(URL, content=body, headers=headers).status_code

        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(send, random.Random(7).sample(events, len(events))))
    assert set(codes) == {200}, codes
