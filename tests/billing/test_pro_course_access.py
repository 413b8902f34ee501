"""Payments × learning: a pro course opens with the subscription and closes after a failed
payment's grace period (issue 7's end-to-end check, across both domains)."""

from __future__ import annotations

import json
import time

from billing_support import auth, deliver, new_user
from fake_stripe import event

from edge.app import PREFIX
from flagship.database import connect
from flagship.testing.harness import api_error, as_user, refresh


def build_pro_course(billing_db) -> tuple[str, str]:
    """A published pro course with one lesson, authored through the learning RPCs."""
    teacher = new_user(billing_db)
    with connect(billing_db) as conn:
        conn.execute(
            "insert into accounts.user_roles (user_id, role) values (%s, 'instructor')",
            (teacher.id,),
        )
        teacher = refresh(conn, teacher)
        with as_user(conn, teacher):
            course = conn.execute(
                "select api.learning_create_course(p_slug => %s, p_title => 'Red team ops',"
                " p_price_tier => 'pro') as c",
                (f"red-team-{teacher.id[:8]}",),
            ).fetchone()["c"]
            module = conn.execute(
                "select api.learning_create_module(%s, 'Tradecraft') as m", (course["id"],)
            ).fetchone()["m"]
            lesson = conn.execute(
                "select api.learning_create_lesson(%s, 'C2 basics', 'article', %s) as l",
                (module, json.dumps({"body_md": "PRO-ONLY body"})),
            ).fetchone()["l"]
            conn.execute("select api.learning_publish_course(%s)", (course["id"],))
        conn.commit()
    return course["id"], str(lesson)


def learner_call(billing_db, learner, sql, params=(), code=None):
    with connect(billing_db) as conn, as_user(conn, learner):
        if code:
            with api_error(conn, code, "PT402"):
                conn.execute(sql, params)
            return None
        row = conn.execute(sql, params).fetchone()
        conn.commit()
        return row


def test_pro_course_follows_the_subscription(stripe_env, client, admin_conn, billing_db):
    fake = stripe_env
    course_id, lesson_id = build_pro_course(billing_db)
    learner = new_user(billing_db)
    enroll = "select api.learning_enroll(%s) as e"
    read = "select api.learning_get_lesson(%s) as l"
    learner_call(billing_db, learner, enroll, (course_id,), code="learning_entitlement_required")

    # Checkout, then Stripe reports the completed session and the paid first invoice.
    r = client.post(
        f"{PREFIX}/checkout", json={"price_id": "price_flagship_pro_monthly"}, headers=auth(learner)
    )
    assert r.status_code == 200, r.text
    customer = admin_conn.execute(
        "select stripe_customer_id from billing.customers where user_id = %s", (learner.id,)
    ).fetchone()["stripe_customer_id"]
    t0 = int(time.time()) - 1000
    sub = fake.update(fake.subscription(customer, status="active", user_id=learner.id)["id"])
    session = fake.update(
        r.json()["id"], status="complete", payment_status="paid", subscription=sub["id"]
    )
    invoice = fake.invoice(customer, sub["id"], status="paid")
    for evt in (
        event("checkout.session.completed", session, created=t0),
        event("invoice.paid", invoice, created=t0 + 1),
    ):
        assert deliver(client, evt).status_code == 200

    learner_call(billing_db, learner, enroll, (course_id,))
    lesson = learner_call(billing_db, learner, read, (lesson_id,))["l"]
    assert lesson["body_md"] == "PRO-ONLY body"

    # The renewal fails: access stays during the grace period ...
    failed = fake.update(fake.invoice(customer, sub["id"], status="open")["id"], attempt_count=1)
    fake.update(sub["id"], status="past_due", latest_invoice=failed["id"])
    assert (
        deliver(client, event("invoice.payment_failed", failed, created=t0 + 100)).json()["status"]
        == "applied"
    )
    assert learner_call(billing_db, learner, read, (lesson_id,))["l"]["body_md"]

    # ... and ends with it (time moved by editing the row, not by sleeping).
    admin_conn.execute(
        "update billing.subscriptions set past_due_since = now() - interval '3 days 1 minute'"
        " where id = %s",
        (sub["id"],),
    )
    learner_call(billing_db, learner, read, (lesson_id,), code="learning_entitlement_required")
    learner_call(
        billing_db,
        learner,
        "select api.learning_complete_lesson(%s)",
        (lesson_id,),
        code="learning_entitlement_required",
    )
    with connect(billing_db) as conn, as_user(conn, learner):
        outline = conn.execute(
            "select api.learning_get_course_outline(p_course_id => %s) as o", (course_id,)
        ).fetchone()["o"]
    assert "PRO-ONLY" not in json.dumps(outline)
