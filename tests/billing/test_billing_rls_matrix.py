"""RLS matrix for every billing object: each role × each object × each action.

Roles: anon, a member without a plan, a Pro subscriber, a team seat holder, the team
owner, an admin and service_role. Outcomes as in the accounts matrix: "yes" (rows visible /
call worked), "no" (allowed to ask, nothing visible or changed), "deny" (42501), or an API
error code.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
import pytest

from flagship.testing.harness import ANY_HINT, User, as_user, create_user, grant_roles, subscribe
from flagship.testing.matrix import REFUSED_OR_READONLY, Matrix

ROLES = ["anon", "member", "subscriber", "seat_holder", "team_owner", "admin", "service_role"]
# every 42501 refusal counts as "deny"; a view that cannot take writes at all (joins,
# aggregates) refuses before any policy ("readonly")
M = Matrix(["billing"], ROLES, denied=ANY_HINT, write_refused=REFUSED_OR_READONLY)
ALL_YES = M.same("yes")
ALL_DENY = M.same("deny")
ADMIN_ONLY = M.cells(
    anon="deny",
    member="no",
    subscriber="no",
    seat_holder="no",
    team_owner="no",
    admin="yes",
    service_role="yes",
)
SUBSCRIBERS = M.cells(
    anon="deny",
    member="no",
    subscriber="yes",
    seat_holder="no",
    team_owner="no",
    admin="yes",
    service_role="yes",
)
TEAM = M.cells(
    anon="deny",
    member="no",
    subscriber="no",
    seat_holder="yes",
    team_owner="yes",
    admin="yes",
    service_role="yes",
)

M.select("billing.products", "true", ALL_YES)
M.select("billing.prices", "true", ALL_YES)
M.select("billing.config", "true", ADMIN_ONLY)
M.select("billing.customers", "user_id = %(subscriber)s", SUBSCRIBERS)
M.select("billing.subscriptions", "user_id = %(subscriber)s", SUBSCRIBERS)
M.select("billing.subscriptions", "id = 'sub_rlsteam'", TEAM, label="team")
M.select("billing.subscription_items", "subscription_id = 'sub_rlspro'", SUBSCRIBERS)
M.select("billing.subscription_items", "subscription_id = 'sub_rlsteam'", TEAM, label="team")
M.select("billing.seats", "subscription_id = 'sub_rlsteam'", TEAM)
M.select("billing.invoices", "user_id = %(subscriber)s", SUBSCRIBERS)
# which payment paid which invoice, and refunds per charge: only the definer functions
M.select("billing.invoice_payments", "true", ALL_DENY)
M.select("billing.charge_refunds", "true", ALL_DENY)
M.select("billing.webhook_events", "true", ADMIN_ONLY)
M.select("billing.entitlements", "user_id = %(subscriber)s", SUBSCRIBERS)
M.select("api.billing_plans", "true", ALL_YES)
M.select("api.billing_subscriptions", "user_id = %(subscriber)s", SUBSCRIBERS)
M.select("api.billing_subscriptions", "id = 'sub_rlsteam'", TEAM, label="team")
M.select("api.billing_seats", "subscription_id = 'sub_rlsteam'", TEAM)
M.select("api.billing_invoices", "id = 'in_rlsinvoice'", SUBSCRIBERS)
M.select(
    "api.billing_my_entitlements",
    "feature = 'pro'",
    M.cells(
        anon="deny",
        member="no",
        subscriber="yes",
        seat_holder="yes",
        team_owner="no",
        admin="no",
        service_role="deny",
    ),
)
M.select("api.billing_admin_overview", "subscription_id = 'sub_rlspro'", SUBSCRIBERS)
M.select("api.billing_admin_events", "true", ADMIN_ONLY)

TABLES = [
    "billing.products",
    "billing.prices",
    "billing.config",
    "billing.customers",
    "billing.subscriptions",
    "billing.subscription_items",
    "billing.seats",
    "billing.invoices",
    "billing.invoice_payments",
    "billing.charge_refunds",
    "billing.webhook_events",
    "billing.entitlements",
]
VIEWS = [
    "api.billing_plans",
    "api.billing_subscriptions",
    "api.billing_seats",
    "api.billing_invoices",
    "api.billing_my_entitlements",
    "api.billing_admin_overview",
    "api.billing_admin_events",
]
M.write(
    "billing.products", "insert", "insert into billing.products (id, name) values ('prod_pwn', 'x')"
)
M.write("billing.products", "update", "update billing.products set features = '{pro}' where true")
M.write("billing.products", "delete", "delete from billing.products where true")
M.write(
    "billing.prices",
    "insert",
    "insert into billing.prices (id, product_id, currency, unit_amount)"
    " values ('price_pwn', 'prod_flagship_pro', 'usd', 0)",
)
M.write("billing.prices", "update", "update billing.prices set unit_amount = 0 where true")
M.write("billing.prices", "delete", "delete from billing.prices where true")
M.write("billing.config", "insert", "insert into billing.config (id) values (true)")
M.write(
    "billing.config", "update", "update billing.config set past_due_grace = '100 years' where true"
)
M.write("billing.config", "delete", "delete from billing.config where true")
M.write(
    "billing.customers",
    "insert",
    "insert into billing.customers (user_id, stripe_customer_id) values (%(member)s, 'cus_pwn')",
)
M.write(
    "billing.customers", "update", "update billing.customers set user_id = %(member)s where true"
)
M.write("billing.customers", "delete", "delete from billing.customers where true")
M.write(
    "billing.subscriptions",
    "insert",
    "insert into billing.subscriptions (id, user_id, customer_id, price_id,"
    " status) values ('sub_pwn', %(member)s, 'cus_rlspro', 'price_flagship_pro_monthly',"
    " 'active')",
)
M.write(
    "billing.subscriptions",
    "update",
    "update billing.subscriptions set status = 'active', user_id = %(member)s where true",
)
M.write("billing.subscriptions", "delete", "delete from billing.subscriptions where true")
M.write(
    "billing.subscription_items",
    "insert",
    "insert into billing.subscription_items (id, subscription_id, price_id)"
    " values ('si_pwn', 'sub_rlspro', 'price_flagship_team_seat')",
)
M.write(
    "billing.subscription_items",
    "update",
    "update billing.subscription_items set quantity = 1000 where true",
)
M.write("billing.subscription_items", "delete", "delete from billing.subscription_items where true")
M.write(
    "billing.invoice_payments",
    "insert",
    "insert into billing.invoice_payments (payment_intent_id, invoice_id)"
    " values ('pi_pwn', 'in_rlsinvoice')",
)
M.write(
    "billing.invoice_payments",
    "update",
    "update billing.invoice_payments set invoice_id = 'in_pwn' where true",
)
M.write("billing.invoice_payments", "delete", "delete from billing.invoice_payments where true")
M.write(
    "billing.charge_refunds",
    "insert",
    "insert into billing.charge_refunds (charge_id, invoice_id, amount_refunded)"
    " values ('ch_pwn', 'in_rlsinvoice', 1500)",
)
M.write(
    "billing.charge_refunds",
    "update",
    "update billing.charge_refunds set amount_refunded = 0 where true",
)
M.write("billing.charge_refunds", "delete", "delete from billing.charge_refunds where true")
M.write(
    "billing.seats",
    "insert",
    "insert into billing.seats (subscription_id, user_id, owner_id)"
    " values ('sub_rlsteam', %(member)s, %(team_owner)s)",
)
M.write("billing.seats", "update", "update billing.seats set user_id = %(member)s where true")
M.write("billing.seats", "delete", "delete from billing.seats where true")
M.write(
    "billing.invoices",
    "insert",
    "insert into billing.invoices (id, customer_id, currency)"
    " values ('in_pwn', 'cus_rlspro', 'usd')",
)
M.write("billing.invoices", "update", "update billing.invoices set status = 'void' where true")
M.write("billing.invoices", "delete", "delete from billing.invoices where true")
M.write(
    "billing.webhook_events",
    "insert",
    "insert into billing.webhook_events (id, type, stripe_created, payload)"
    " values ('evt_pwn', 'x.y', now(), '{}')",
)
M.write(
    "billing.webhook_events",
    "update",
    "update billing.webhook_events set processed_at = null where true",
)
M.write("billing.webhook_events", "delete", "delete from billing.webhook_events where true")
M.write(
    "billing.entitlements",
    "insert",
    "insert into billing.entitlements (user_id, feature) values (%(member)s, 'pro')",
)
M.write(
    "billing.entitlements",
    "update",
    "update billing.entitlements set user_id = %(member)s where true",
)
M.write("billing.entitlements", "delete", "delete from billing.entitlements where true")
for _view, _col in [
    ("api.billing_plans", "price_id"),
    ("api.billing_subscriptions", "status"),
    ("api.billing_seats", "user_id"),
    ("api.billing_invoices", "status"),
    ("api.billing_my_entitlements", "feature"),
    ("api.billing_admin_overview", "status"),
    ("api.billing_admin_events", "outcome"),
]:
    M.write(_view, "insert", f"insert into {_view} default values")
    M.write(_view, "update", f"update {_view} set {_col} = {_col} where true")
    M.write(_view, "delete", f"delete from {_view} where true")

SERVICE_ONLY = M.cells(
    anon="deny",
    member="deny",
    subscriber="deny",
    seat_holder="deny",
    team_owner="deny",
    admin="deny",
    service_role="yes",
)
M.execute(
    "private.user_has_entitlement",
    "select private.user_has_entitlement(%(subscriber)s, 'pro')",
    M.cells(
        anon="deny",
        member="yes",
        subscriber="yes",
        seat_holder="yes",
        team_owner="yes",
        admin="yes",
        service_role="yes",
    ),
)
M.execute(
    "private.billing_sync_entitlements",
    "select private.billing_sync_entitlements(%(member)s, 'x')",
    ALL_DENY,
)
M.execute(
    "private.billing_apply_subscription",
    "select private.billing_apply_subscription('{}', now(), 'x')",
    ALL_DENY,
)
M.execute("private.billing_user_for", "select private.billing_user_for('cus_x', '{}')", ALL_DENY)
M.execute("private.export_billing", "select private.export_billing(%(subscriber)s)", ALL_DENY)
M.execute(
    "billing.record_event",
    'select billing.record_event(\'{"id": "evt_rls1", "type": "product.updated",'
    ' "created": 1, "data": {"object": {"id": "prod_x"}}}\')',
    SERVICE_ONLY,
)
M.execute(
    "billing.process_event",
    "select billing.process_event('evt_rlsnone')",
    M.cells(
        anon="deny",
        member="deny",
        subscriber="deny",
        seat_holder="deny",
        team_owner="deny",
        admin="deny",
        service_role="billing_event_unknown",
    ),
)
M.execute("billing.fail_event", "select billing.fail_event('evt_rlsnone', 'x')", SERVICE_ONLY)
M.execute(
    "billing.link_customer",
    "select billing.link_customer(%(member)s, 'cus_rlsnew', null)",
    SERVICE_ONLY,
)
M.execute("billing.sync_due_entitlements", "select billing.sync_due_entitlements()", SERVICE_ONLY)
M.execute("billing.receipt_data", "select billing.receipt_data('in_rlsinvoice')", SERVICE_ONLY)
M.execute(
    "billing.enqueue_receipt_email",
    "select billing.enqueue_receipt_email('in_rlsinvoice', 'JVBERg==', 'r.pdf')",
    SERVICE_ONLY,
)
M.execute(
    "billing.checkout_context",
    "select billing.checkout_context('price_flagship_pro_monthly')",
    M.cells(
        anon="deny",
        member="yes",
        subscriber="billing_already_subscribed",
        seat_holder="yes",
        team_owner="yes",
        admin="yes",
        service_role="deny",
    ),
)
M.execute(
    "billing.portal_customer",
    "select billing.portal_customer()",
    M.cells(
        anon="deny",
        member="billing_no_customer",
        subscriber="yes",
        seat_holder="billing_no_customer",
        team_owner="yes",
        admin="billing_no_customer",
        service_role="deny",
    ),
)
M.execute(
    "api.billing_assign_seat",
    "select api.billing_assign_seat('sub_rlsteam', %(member)s)",
    M.cells(
        anon="deny",
        member="not_found",
        subscriber="not_found",
        seat_holder="not_found",
        team_owner="yes",
        admin="not_found",
        service_role="deny",
    ),
)
M.execute(
    "api.billing_release_seat",
    "select api.billing_release_seat('sub_rlsteam', %(seat_holder)s)",
    M.cells(
        anon="deny",
        member="not_found",
        subscriber="not_found",
        seat_holder="yes",
        team_owner="yes",
        admin="not_found",
        service_role="deny",
    ),
)


@dataclass
class Scene:
    member: User
    subscriber: User
    seat_holder: User
    team_owner: User
    admin: User

    def get(self, name: str):
        return name if name in ("anon", "service_role") else getattr(self, name)

    def params(self) -> dict[str, str]:
        return {n: getattr(self, n).id for n in ("member", "subscriber", "seat_holder",
                                                 "team_owner", "admin")}  # fmt: skip


@pytest.fixture(scope="module")
def module_scene(module_db) -> Scene:
    return build_scene(module_db)


@pytest.fixture
def db(module_db, module_scene):
    """This module's tests share one scene, built once: each test runs in a savepoint of the
    module's connection that is rolled back afterwards."""
    module_db.execute("savepoint module_test")
    try:
        yield module_db
    finally:
        module_db.execute("rollback to savepoint module_test")


@pytest.fixture
def scene(db, module_scene) -> Scene:
    return module_scene


def build_scene(db) -> Scene:
    """A Pro subscriber, a team of three seats with one holder, an invoice, a webhook event."""
    s = Scene(
        member=create_user(db),
        subscriber=create_user(db),
        seat_holder=create_user(db),
        team_owner=create_user(db),
        admin=grant_roles(db, create_user(db), "admin"),
    )
    p = s.params()
    db.execute(
        "insert into billing.customers (user_id, stripe_customer_id) values"
        " (%(subscriber)s, 'cus_rlspro'), (%(team_owner)s, 'cus_rlsteam')",
        p,
    )
    db.execute(
        "insert into billing.subscriptions (id, user_id, customer_id, price_id, status, quantity)"
        " values ('sub_rlspro', %(subscriber)s, 'cus_rlspro', 'price_flagship_pro_monthly',"
        " 'active', 1), ('sub_rlsteam', %(team_owner)s, 'cus_rlsteam',"
        " 'price_flagship_team_seat', 'active', 3)",
        p,
    )
    db.execute(
        "insert into billing.subscription_items (id, subscription_id, price_id, quantity)"
        " values ('si_rlspro', 'sub_rlspro', 'price_flagship_pro_monthly', 1),"
        " ('si_rlsteam', 'sub_rlsteam', 'price_flagship_team_seat', 3)"
    )
    db.execute(
        "insert into billing.seats (subscription_id, user_id, owner_id)"
        " values ('sub_rlsteam', %(seat_holder)s, %(team_owner)s)",
        p,
    )
    db.execute(
        "insert into billing.invoices (id, user_id, customer_id, subscription_id, status,"
        " currency, amount_paid) values ('in_rlsinvoice', %(subscriber)s, 'cus_rlspro',"
        " 'sub_rlspro', 'paid', 'usd', 1500)",
        p,
    )
    db.execute(
        "insert into billing.webhook_events (id, type, stripe_created, customer_id, payload)"
        " values ('evt_rlsseen', 'invoice.paid', now(), 'cus_rlspro', '{}')"
    )
    db.execute("select private.billing_sync_entitlements(%(subscriber)s, 'rls')", p)
    db.execute("select private.billing_sync_entitlements(%(seat_holder)s, 'rls')", p)
    return s


def test_every_billing_object_is_in_the_matrix(db):
    assert M.uncovered(db) == []
    relations = {
        r["o"]
        for r in db.execute(
            "select n.nspname || '.' || c.relname as o from pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace"
            " where c.relkind in ('r', 'v') and (n.nspname = 'billing'"
            " or (n.nspname = 'api' and c.relname like 'billing%%'))"
        ).fetchall()
    }
    assert relations == set(TABLES) | set(VIEWS)
    # every table and view is read and written by every role
    assert relations <= set(M.objects("select")) and relations <= set(M.objects("write"))


@M.parametrize("select")
def test_select(db, scene, cell):
    cell.check(db, scene.get(cell.role), scene.params())


@M.parametrize("write")
def test_write(db, scene, cell):
    cell.check(db, scene.get(cell.role), scene.params())


@M.parametrize("execute")
def test_execute(db, scene, cell):
    cell.check(db, scene.get(cell.role), scene.params())


def test_seat_beyond_quantity_grants_nothing(db, scene):
    """Seats are assigned oldest first; if the owner lowers the quantity in the portal,
    the newest seats stop granting."""
    p = scene.params()
    db.execute(
        "insert into billing.seats (subscription_id, user_id, owner_id, assigned_at)"
        " values ('sub_rlsteam', %(member)s, %(team_owner)s, now() + interval '1 minute')",
        p,
    )
    check = "select private.user_has_entitlement(%s, 'pro') as e"
    assert db.execute(check, (scene.member.id,)).fetchone()["e"]
    db.execute("update billing.subscription_items set quantity = 1 where id = 'si_rlsteam'")
    assert not db.execute(check, (scene.member.id,)).fetchone()["e"]
    assert db.execute(check, (scene.seat_holder.id,)).fetchone()["e"]
    # the owner holds no seat: paying for a team does not make the owner Pro
    assert not db.execute(check, (scene.team_owner.id,)).fetchone()["e"]
    # the free plan's features are everyone's
    assert db.execute("select private.user_has_entitlement(%s, 'community') as e",
                      (scene.member.id,)).fetchone()["e"]  # fmt: skip


def test_seat_assignment_limits_and_notifications(db, scene):
    p = scene.params()
    extra = [create_user(db) for _ in range(3)]
    with as_user(db, scene.team_owner):
        db.execute("select api.billing_assign_seat('sub_rlsteam', %s)", (extra[0].id,))
        db.execute("select api.billing_assign_seat('sub_rlsteam', %s)", (extra[0].id,))  # again
        db.execute("select api.billing_assign_seat('sub_rlsteam', %s)", (extra[1].id,))
        db.execute("savepoint seats_full")
        with pytest.raises(psycopg.Error) as exc:
            db.execute("select api.billing_assign_seat('sub_rlsteam', %s)", (extra[2].id,))
        assert exc.value.diag.message_hint == "billing_no_seats_left"
        db.execute("rollback to savepoint seats_full")
        db.execute("savepoint pro")
        with pytest.raises(psycopg.Error) as exc:
            db.execute("select api.billing_assign_seat('sub_rlspro', %s)", (extra[2].id,))
        assert exc.value.diag.message_hint == "not_found"
        db.execute("rollback to savepoint pro")
    changes = db.execute(
        "select payload from ops.outbox where topic = 'billing.entitlement_changed'"
        " and payload ->> 'user_id' = %s",
        (extra[0].id,),
    ).fetchall()
    # the team plan gives pro and team, each notified once despite the repeated assignment
    assert sorted((c["payload"]["feature"], c["payload"]["entitled"]) for c in changes) == [
        ("pro", True),
        ("team", True),
    ]
    with as_user(db, scene.seat_holder):  # a holder may leave their own seat
        db.execute("select api.billing_release_seat('sub_rlsteam', %(seat_holder)s)", p)
    assert not db.execute(
        "select private.user_has_entitlement(%(seat_holder)s, 'pro') as e", p
    ).fetchone()["e"]
    actions = [
        r["action"]
        for r in db.execute(
            "select action from ops.audit_log where target_id = %(seat_holder)s order by id", p
        ).fetchall()
    ]
    assert actions == [
        "billing.entitlement_granted",
        "billing.entitlement_granted",
        "billing.seat_released",
        "billing.entitlement_revoked",
        "billing.entitlement_revoked",
    ]


def test_export_includes_billing(db, scene):
    export = db.execute("select private.export_user(%s) as e", (scene.subscriber.id,)).fetchone()[
        "e"
    ]
    assert export["billing"]["customer"]["stripe_customer_id"] == "cus_rlspro"
    assert [s["id"] for s in export["billing"]["subscriptions"]] == ["sub_rlspro"]
    assert [i["id"] for i in export["billing"]["invoices"]] == ["in_rlsinvoice"]


def test_the_subscribe_helper_grants_the_plan(db):
    """flagship.testing.harness.subscribe: how other domains' tests give a user a plan."""
    user = create_user(db)
    check = "select private.user_has_entitlement(%s, 'pro') as e"
    assert not db.execute(check, (user.id,)).fetchone()["e"]
    sub = subscribe(db, user)
    assert db.execute(check, (user.id,)).fetchone()["e"]
    db.execute("update billing.subscriptions set status = 'canceled' where id = %s", (sub,))
    assert not db.execute(check, (user.id,)).fetchone()["e"]
