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

from flagship.testing.harness import ANY_HINT, User, as_user, create_user, matrix_outcome, refresh

ROLES = ["anon", "member", "subscriber", "seat_holder", "team_owner", "admin", "service_role"]


def row(anon, member, subscriber, seat_holder, team_owner, admin, service_role):
    values = [anon, member, subscriber, seat_holder, team_owner, admin, service_role]
    return dict(zip(ROLES, values, strict=True))


ALL_YES = row(*["yes"] * 7)
ALL_DENY = row(*["deny"] * 7)
ADMIN_ONLY = row("deny", "no", "no", "no", "no", "yes", "yes")
SUBSCRIBERS = row("deny", "no", "yes", "no", "no", "yes", "yes")
TEAM = row("deny", "no", "no", "yes", "yes", "yes", "yes")

SELECT = {
    "billing.products": ("true", ALL_YES),
    "billing.prices": ("true", ALL_YES),
    "billing.config": ("true", ADMIN_ONLY),
    "billing.customers": ("user_id = %(subscriber)s", SUBSCRIBERS),
    "billing.subscriptions": ("user_id = %(subscriber)s", SUBSCRIBERS),
    "billing.subscriptions (team)": ("id = 'sub_rlsteam'", TEAM),
    "billing.seats": ("subscription_id = 'sub_rlsteam'", TEAM),
    "billing.invoices": ("user_id = %(subscriber)s", SUBSCRIBERS),
    "billing.webhook_events": ("true", ADMIN_ONLY),
    "billing.entitlements": ("user_id = %(subscriber)s", SUBSCRIBERS),
    "api.billing_plans": ("true", ALL_YES),
    "api.billing_subscriptions": ("user_id = %(subscriber)s", SUBSCRIBERS),
    "api.billing_subscriptions (team)": ("id = 'sub_rlsteam'", TEAM),
    "api.billing_seats": ("subscription_id = 'sub_rlsteam'", TEAM),
    "api.billing_invoices": ("id = 'in_rlsinvoice'", SUBSCRIBERS),
    "api.billing_my_entitlements": (
        "feature = 'pro'",
        row("deny", "no", "yes", "yes", "no", "no", "deny"),
    ),
    "api.billing_admin_overview": ("subscription_id = 'sub_rlspro'", SUBSCRIBERS),
    "api.billing_admin_events": ("true", ADMIN_ONLY),
}

TABLES = [
    "billing.products",
    "billing.prices",
    "billing.config",
    "billing.customers",
    "billing.subscriptions",
    "billing.seats",
    "billing.invoices",
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
WRITES = {
    "billing.products": {
        "insert": "insert into billing.products (id, name) values ('prod_pwn', 'x')",
        "update": "update billing.products set features = '{pro}' where true",
        "delete": "delete from billing.products where true",
    },
    "billing.prices": {
        "insert": "insert into billing.prices (id, product_id, currency, unit_amount)"
        " values ('price_pwn', 'prod_flagship_pro', 'usd', 0)",
        "update": "update billing.prices set unit_amount = 0 where true",
        "delete": "delete from billing.prices where true",
    },
    "billing.config": {
        "insert": "insert into billing.config (id) values (true)",
        "update": "update billing.config set past_due_grace = '100 years' where true",
        "delete": "delete from billing.config where true",
    },
    "billing.customers": {
        "insert": "insert into billing.customers (user_id, stripe_customer_id)"
        " values (%(member)s, 'cus_pwn')",
        "update": "update billing.customers set user_id = %(member)s where true",
        "delete": "delete from billing.customers where true",
    },
    "billing.subscriptions": {
        "insert": "insert into billing.subscriptions (id, user_id, customer_id, price_id,"
        " status) values ('sub_pwn', %(member)s, 'cus_rlspro', 'price_flagship_pro_monthly',"
        " 'active')",
        "update": "update billing.subscriptions set status = 'active', user_id = %(member)s"
        " where true",
        "delete": "delete from billing.subscriptions where true",
    },
    "billing.seats": {
        "insert": "insert into billing.seats (subscription_id, user_id, owner_id)"
        " values ('sub_rlsteam', %(member)s, %(team_owner)s)",
        "update": "update billing.seats set user_id = %(member)s where true",
        "delete": "delete from billing.seats where true",
    },
    "billing.invoices": {
        "insert": "insert into billing.invoices (id, customer_id, currency)"
        " values ('in_pwn', 'cus_rlspro', 'usd')",
        "update": "update billing.invoices set status = 'void' where true",
        "delete": "delete from billing.invoices where true",
    },
    "billing.webhook_events": {
        "insert": "insert into billing.webhook_events (id, type, stripe_created, payload)"
        " values ('evt_pwn', 'x.y', now(), '{}')",
        "update": "update billing.webhook_events set processed_at = null where true",
        "delete": "delete from billing.webhook_events where true",
    },
    "billing.entitlements": {
        "insert": "insert into billing.entitlements (user_id, feature) values (%(member)s, 'pro')",
        "update": "update billing.entitlements set user_id = %(member)s where true",
        "delete": "delete from billing.entitlements where true",
    },
    **{
        view: {
            "insert": f"insert into {view} default values",
            "update": f"update {view} set {col} = {col} where true",
            "delete": f"delete from {view} where true",
        }
        for view, col in [
            ("api.billing_plans", "price_id"),
            ("api.billing_subscriptions", "status"),
            ("api.billing_seats", "user_id"),
            ("api.billing_invoices", "status"),
            ("api.billing_my_entitlements", "feature"),
            ("api.billing_admin_overview", "status"),
            ("api.billing_admin_events", "outcome"),
        ]
    },
}

SERVICE_ONLY = row("deny", "deny", "deny", "deny", "deny", "deny", "yes")
EXECUTE = {
    "private.user_has_entitlement": (
        "select private.user_has_entitlement(%(subscriber)s, 'pro')",
        row("deny", "yes", "yes", "yes", "yes", "yes", "yes"),
    ),
    "private.billing_sync_entitlements": (
        "select private.billing_sync_entitlements(%(member)s, 'x')",
        ALL_DENY,
    ),
    "private.billing_apply_subscription": (
        "select private.billing_apply_subscription('{}', now(), 'x')",
        ALL_DENY,
    ),
    "private.billing_user_for": ("select private.billing_user_for('cus_x', '{}')", ALL_DENY),
    "private.export_billing": ("select private.export_billing(%(subscriber)s)", ALL_DENY),
    "billing.record_event": (
        'select billing.record_event(\'{"id": "evt_rls1", "type": "product.updated",'
        ' "created": 1, "data": {"object": {"id": "prod_x"}}}\')',
        SERVICE_ONLY,
    ),
    "billing.process_event": (
        "select billing.process_event('evt_rlsnone')",
        row("deny", "deny", "deny", "deny", "deny", "deny", "billing_event_unknown"),
    ),
    "billing.fail_event": ("select billing.fail_event('evt_rlsnone', 'x')", SERVICE_ONLY),
    "billing.link_customer": (
        "select billing.link_customer(%(member)s, 'cus_rlsnew', null)",
        SERVICE_ONLY,
    ),
    "billing.sync_due_entitlements": ("select billing.sync_due_entitlements()", SERVICE_ONLY),
    "billing.receipt_data": ("select billing.receipt_data('in_rlsinvoice')", SERVICE_ONLY),
    "billing.enqueue_receipt_email": (
        "select billing.enqueue_receipt_email('in_rlsinvoice', 'JVBERg==', 'r.pdf')",
        SERVICE_ONLY,
    ),
    "billing.checkout_context": (
        "select billing.checkout_context('price_flagship_pro_monthly')",
        row("deny", "yes", "billing_already_subscribed", "yes", "yes", "yes", "deny"),
    ),
    "billing.portal_customer": (
        "select billing.portal_customer()",
        row(
            "deny",
            "billing_no_customer",
            "yes",
            "billing_no_customer",
            "yes",
            "billing_no_customer",
            "deny",
        ),
    ),
    "api.billing_assign_seat": (
        "select api.billing_assign_seat('sub_rlsteam', %(member)s)",
        row("deny", "not_found", "not_found", "not_found", "yes", "not_found", "deny"),
    ),
    "api.billing_release_seat": (
        "select api.billing_release_seat('sub_rlsteam', %(seat_holder)s)",
        row("deny", "not_found", "not_found", "yes", "yes", "not_found", "deny"),
    ),
}


def grant_roles(db, user: User, *roles: str) -> User:
    for role in roles:
        db.execute(
            "insert into accounts.user_roles (user_id, role) values (%s, %s)", (user.id, role)
        )
    return refresh(db, user)


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


@pytest.fixture
def scene(db) -> Scene:
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


# 42501 refusals that count as "deny" in this matrix
DENIED = ANY_HINT


def outcome(db, who, sql, params, *, count_rows=False) -> str:
    return matrix_outcome(db, who, sql, params, count_rows=count_rows, denied=DENIED)


def test_every_billing_object_is_in_the_matrix(db):
    found = {
        r["o"]
        for r in db.execute(
            "select n.nspname || '.' || c.relname as o from pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace"
            " where c.relkind in ('r', 'v') and (n.nspname = 'billing'"
            " or (n.nspname = 'api' and (c.relname like '%%billing%%'"
            " or c.relname = 'billing_my_entitlements')))"
        ).fetchall()
    }
    assert found == set(TABLES) | set(VIEWS)
    assert found <= {k.split(" ")[0] for k in SELECT} and found <= set(WRITES)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("obj", sorted(SELECT))
def test_select(db, scene, obj, role):
    where, expected = SELECT[obj]
    table = obj.split(" ")[0]
    sql = f"select count(*) as n from {table} where {where}"
    got = outcome(db, scene.get(role), sql, scene.params(), count_rows=True)
    assert got == expected[role]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("obj", "action"), sorted((o, a) for o, actions in WRITES.items() for a in actions)
)
def test_write(db, scene, obj, action, role):
    got = outcome(db, scene.get(role), WRITES[obj][action], scene.params())
    # A view that cannot take writes at all (joins, aggregates) refuses before any policy.
    assert got in ("deny", "no", "readonly"), f"{role} could {action} {obj}: {got}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("fn", sorted(EXECUTE))
def test_execute(db, scene, fn, role):
    sql, expected = EXECUTE[fn]
    got = outcome(db, scene.get(role), sql, scene.params())
    assert got == expected[role]


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
    db.execute("update billing.subscriptions set quantity = 1 where id = 'sub_rlsteam'")
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
