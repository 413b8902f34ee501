"""Checkout and the billing portal against the fake Stripe; the embedded default without."""

from __future__ import annotations

import time

import pytest
from billing_support import auth, new_user, token_for

from edge.app import PREFIX
from flagship.database import connect
from flagship.testing.harness import as_user

CHECKOUT = f"{PREFIX}/checkout"
PORTAL = f"{PREFIX}/billing-portal"
PRO = "price_flagship_pro_monthly"
ERROR_KEYS = {"code", "message", "details", "request_id"}


def error(r, status, code):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == ERROR_KEYS and body["code"] == code
    return body


# -- embedded default ------------------------------------------------------------------------
def test_without_stripe_pricing_reads_and_checkout_is_unavailable(
    no_stripe_env, client, admin_conn, billing_db
):
    with connect(billing_db) as conn, as_user(conn, "anon"):
        plans = conn.execute(
            "select price_id, unit_amount, currency, per_seat from api.billing_plans"
        )
        rows = {r["price_id"]: r for r in plans.fetchall()}
    assert rows[PRO]["unit_amount"] == 1500 and rows[PRO]["currency"] == "usd"
    assert rows["price_flagship_team_seat"]["per_seat"] is True
    assert {"price_flagship_free", "price_flagship_pro_yearly"} <= set(rows)

    user = new_user(billing_db)
    error(
        client.post(CHECKOUT, json={"price_id": PRO}, headers=auth(user)),
        503,
        "billing_payments_unavailable",
    )
    error(client.post(PORTAL, headers=auth(user)), 503, "billing_payments_unavailable")


# -- caller ----------------------------------------------------------------------------------
def test_checkout_needs_a_valid_user_token(stripe_env, client, billing_db):
    """The shared edge authentication decides (codes documented in docs/edge.md)."""
    user = new_user(billing_db)
    error(client.post(CHECKOUT, json={"price_id": PRO}), 401, "not_authenticated")
    cases = [
        (token_for(user, exp=int(time.time()) - 10), "edge_token_expired"),
        (token_for(user)[:-4] + "AAAA", "edge_token_invalid"),
        (token_for(user, role="anon", aud="authenticated"), None),
    ]
    for token, code in cases:
        r = client.post(
            CHECKOUT, json={"price_id": PRO}, headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status_code == 401, r.text
        assert set(r.json()) == ERROR_KEYS
        if code:
            assert r.json()["code"] == code
    assert stripe_env.requests == []


def test_checkout_for_someone_else_is_refused(stripe_env, client, billing_db, caplog):
    user, other = new_user(billing_db), new_user(billing_db)
    r = client.post(CHECKOUT, json={"price_id": PRO, "user_id": other.id}, headers=auth(user))
    error(r, 403, "forbidden")
    assert stripe_env.requests == []
    assert "asked for another user" in caplog.text
    # naming oneself is fine
    r = client.post(CHECKOUT, json={"price_id": PRO, "user_id": user.id}, headers=auth(user))
    assert r.status_code == 200, r.text


# -- catalog checks --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"price_id": "price_unknown_thing"}, 400, "billing_price_unknown"),
        ({"price_id": "price_flagship_free"}, 400, "billing_price_unknown"),
        ({"price_id": PRO, "expected_unit_amount": 100}, 400, "billing_price_mismatch"),
        ({"price_id": PRO, "currency": "eur"}, 400, "billing_price_mismatch"),
        ({"price_id": PRO, "quantity": 3}, 400, "invalid_argument"),
        ({"price_id": "price_flagship_team_seat", "quantity": 0}, 422, "invalid_argument"),
        ({"price_id": "not a price"}, 422, "invalid_argument"),
        ({"price_id": PRO, "unit_amount": 1}, 422, "invalid_argument"),
    ],
)
def test_checkout_rejects_what_the_catalog_does_not_sell(
    stripe_env, client, billing_db, admin_conn, body, status, code
):
    user = new_user(billing_db)
    error(client.post(CHECKOUT, json=body, headers=auth(user)), status, code)
    assert stripe_env.calls("POST", "/v1/checkout/sessions") == []
    assert (
        admin_conn.execute(
            "select count(*) as n from billing.customers where user_id = %s", (user.id,)
        ).fetchone()["n"]
        == 0
    )


def test_checkout_refuses_when_stripe_price_differs_from_catalog(
    stripe_env, client, billing_db, caplog
):
    stripe_env.update(PRO, unit_amount=999)
    user = new_user(billing_db)
    body = error(
        client.post(CHECKOUT, json={"price_id": PRO}, headers=auth(user)),
        409,
        "billing_price_changed",
    )
    assert body["details"] == {"price_id": PRO}
    assert stripe_env.calls("POST", "/v1/checkout/sessions") == []
    assert "differs from Stripe" in caplog.text


# -- the happy path --------------------------------------------------------------------------
def test_checkout_creates_customer_once_and_a_session(stripe_env, client, billing_db, admin_conn):
    fake = stripe_env
    user = new_user(billing_db)
    r = client.post(
        CHECKOUT,
        json={"price_id": PRO, "expected_unit_amount": 1500, "currency": "USD"},
        headers=auth(user),
    )
    assert r.status_code == 200, r.text
    session = r.json()
    assert session["url"].startswith("https://checkout.stripe.test/")

    [customer_call] = fake.calls("POST", "/v1/customers")
    assert customer_call["idempotency_key"] == f"flagship-customer-{user.id}"
    assert customer_call["params"]["metadata"] == {"user_id": user.id}
    assert customer_call["params"]["email"] == user.email
    linked = admin_conn.execute(
        "select stripe_customer_id from billing.customers where user_id = %s", (user.id,)
    ).fetchone()["stripe_customer_id"]

    [call] = fake.calls("POST", "/v1/checkout/sessions")
    p = call["params"]
    assert p["customer"] == linked
    assert p["client_reference_id"] == user.id
    assert p["mode"] == "subscription"
    assert p["line_items"] == [{"price": PRO, "quantity": "1"}]
    assert p["success_url"].startswith("https://app.flagship.test/billing/success")
    assert p["cancel_url"] == "https://app.flagship.test/pricing"
    assert p["subscription_data"]["metadata"] == {"user_id": user.id}
    assert call["idempotency_key"].startswith("flagship-checkout-")

    # A double click: the same session again (Stripe idempotency), no second customer.
    again = client.post(CHECKOUT, json={"price_id": PRO}, headers=auth(user))
    assert again.json()["id"] == session["id"]
    assert len(fake.calls("POST", "/v1/customers")) == 1
    # A deliberate new attempt (its own Idempotency-Key) opens a new session.
    other = client.post(
        CHECKOUT, json={"price_id": PRO}, headers={**auth(user), "Idempotency-Key": "attempt-0002"}
    )
    assert other.json()["id"] != session["id"]
    error(
        client.post(
            CHECKOUT, json={"price_id": PRO}, headers={**auth(user), "Idempotency-Key": "bad key!"}
        ),
        400,
        "invalid_argument",
    )


def test_team_checkout_buys_seats(stripe_env, client, billing_db):
    user = new_user(billing_db)
    r = client.post(
        CHECKOUT, json={"price_id": "price_flagship_team_seat", "quantity": 5}, headers=auth(user)
    )
    assert r.status_code == 200, r.text
    [call] = stripe_env.calls("POST", "/v1/checkout/sessions")
    assert call["params"]["line_items"] == [{"price": "price_flagship_team_seat", "quantity": "5"}]


def test_an_existing_subscriber_goes_to_the_portal_instead(
    stripe_env, client, billing_db, admin_conn
):
    user = new_user(billing_db)
    admin_conn.execute(
        "insert into billing.customers (user_id, stripe_customer_id) values (%s, 'cus_subbed1')",
        (user.id,),
    )
    admin_conn.execute(
        "insert into billing.subscriptions (id, user_id, customer_id, price_id, status)"
        " values ('sub_subbed1', %s, 'cus_subbed1', %s, 'active')",
        (user.id, PRO),
    )
    admin_conn.execute(
        "insert into billing.subscription_items (id, subscription_id, price_id)"
        " values ('si_subbed1', 'sub_subbed1', %s)",
        (PRO,),
    )
    error(
        client.post(CHECKOUT, json={"price_id": "price_flagship_pro_yearly"}, headers=auth(user)),
        409,
        "billing_already_subscribed",
    )
    r = client.post(PORTAL, headers=auth(user))
    assert r.status_code == 200, r.text
    assert r.json()["url"].startswith("https://billing.stripe.test/")
    [call] = stripe_env.calls("POST", "/v1/billing_portal/sessions")
    assert call["params"] == {
        "customer": "cus_subbed1",
        "return_url": "https://app.flagship.test/account/billing",
    }


def test_portal_without_customer_is_404(stripe_env, client, billing_db):
    user = new_user(billing_db)
    error(client.post(PORTAL, headers=auth(user)), 404, "billing_no_customer")
    error(client.post(PORTAL), 401, "not_authenticated")


def test_stripe_outage_is_a_502_in_the_error_shape(stripe_env, client, billing_db):
    stripe_env.fail_with = 500
    user = new_user(billing_db)
    body = error(
        client.post(CHECKOUT, json={"price_id": PRO}, headers=auth(user)),
        502,
        "billing_stripe_error",
    )
    assert "sk_test" not in str(body)
