"""RLS matrix for every accounts object: each role × each object × each action.

Outcomes: "yes" (the owner's rows are visible / the write changed them / the call worked),
"no" (allowed to ask, but nothing of the owner's is visible or changed), "deny" (refused
with 42501: no privilege or a policy violation), or an API error code.
"""

from __future__ import annotations

import pytest

from flagship.testing.harness import ANY_HINT, matrix_outcome

ROLES = ["anon", "member", "owner", "moderator", "admin", "service_role"]


def row(anon, member, owner, moderator, admin, service_role):
    return dict(zip(ROLES, [anon, member, owner, moderator, admin, service_role], strict=True))


ALL_DENY = row(*["deny"] * 6)
# Rows of the owner in each object: `filter` selects them.
SELECT = {
    "accounts.profiles": ("id = %(owner)s", row("no", "yes", "yes", "yes", "yes", "yes")),
    "api.accounts_profiles": ("id = %(owner)s", row("no", "yes", "yes", "yes", "yes", "yes")),
    "accounts.user_roles": ("user_id = %(owner)s", row("no", "yes", "yes", "yes", "yes", "yes")),
    "api.accounts_user_roles": (
        "user_id = %(owner)s",
        row("no", "yes", "yes", "yes", "yes", "yes"),
    ),
    "accounts.settings": ("user_id = %(owner)s", row("deny", "no", "yes", "no", "no", "yes")),
    "accounts.activity": ("actor_id = %(owner)s", row("deny", "no", "yes", "no", "no", "yes")),
    "api.accounts_my_activity": ("true", row("deny", "no", "yes", "no", "no", "yes")),
    "accounts.stats": ("user_id = %(owner)s", row("no", "yes", "yes", "yes", "yes", "yes")),
    "api.accounts_profile_stats": (
        "user_id = %(owner)s",
        row("no", "yes", "yes", "yes", "yes", "yes"),
    ),
    "accounts.roles": ("true", row("yes", "yes", "yes", "yes", "yes", "yes")),
    "accounts.permissions": ("true", row("yes", "yes", "yes", "yes", "yes", "yes")),
    "accounts.role_permissions": ("true", row("yes", "yes", "yes", "yes", "yes", "yes")),
    "api.accounts_roles": ("true", row("yes", "yes", "yes", "yes", "yes", "yes")),
    "accounts.data_providers": ("true", ALL_DENY),
    "ops.audit_log": ("target_id = %(owner)s::text", row("deny", "no", "no", "no", "yes", "yes")),
    "api.ops_audit_log": (
        "target_id = %(owner)s::text",
        row("deny", "no", "no", "no", "yes", "yes"),
    ),
    "ops.outbox": ("true", row("deny", "deny", "deny", "deny", "deny", "yes")),
    "ops.rate_limits": ("true", ALL_DENY),
    "ops.error_codes": ("true", row("yes", "yes", "yes", "yes", "yes", "yes")),
    "api.ops_error_codes": ("true", row("yes", "yes", "yes", "yes", "yes", "yes")),
}

# Writes aimed at the owner's rows. Clients have no write grants on any accounts object:
# every change goes through an RPC.
WRITES = {
    "accounts.profiles": {
        "insert": "insert into accounts.profiles (id, username) values (%(owner)s, 'x_pwned')",
        "update": "update accounts.profiles set bio = 'pwned' where id = %(owner)s",
        "delete": "delete from accounts.profiles where id = %(owner)s",
    },
    "api.accounts_profiles": {
        "insert": "insert into api.accounts_profiles (id, username) values (%(owner)s, 'x_pwned')",
        "update": "update api.accounts_profiles set bio = 'pwned' where id = %(owner)s",
        "delete": "delete from api.accounts_profiles where id = %(owner)s",
    },
    "accounts.user_roles": {
        "insert": "insert into accounts.user_roles (user_id, role) values (%(owner)s, 'admin')",
        "update": "update accounts.user_roles set role = 'admin' where user_id = %(owner)s",
        "delete": "delete from accounts.user_roles where user_id = %(owner)s",
    },
    "accounts.roles": {
        "insert": "insert into accounts.roles (name, description, rank) values ('god', 'x', 99)",
        "update": "update accounts.roles set rank = 0 where name = 'admin'",
        "delete": "delete from accounts.roles where name = 'author'",
    },
    "accounts.role_permissions": {
        "insert": "insert into accounts.role_permissions values ('member', 'roles.manage')",
        "update": "update accounts.role_permissions set role = 'member' where role = 'admin'",
        "delete": "delete from accounts.role_permissions where role = 'admin'",
    },
    "accounts.settings": {
        "insert": "insert into accounts.settings (user_id) values (%(owner)s)",
        "update": "update accounts.settings set prefs = '{}' where user_id = %(owner)s",
        "delete": "delete from accounts.settings where user_id = %(owner)s",
    },
    "accounts.activity": {
        "insert": "insert into accounts.activity (actor_id, verb, object_type, object_id,"
        " activity_day, xp) values (%(owner)s, 'x', 'x', 'x', current_date, 5000)",
        "update": "update accounts.activity set xp = 9999 where actor_id = %(owner)s",
        "delete": "delete from accounts.activity where actor_id = %(owner)s",
    },
    "accounts.stats": {
        "insert": "insert into accounts.stats (user_id, xp) values (gen_random_uuid(), 1)",
        "update": "update accounts.stats set xp = 999999 where user_id = %(owner)s",
        "delete": "delete from accounts.stats where user_id = %(owner)s",
    },
    "ops.audit_log": {
        "insert": "insert into ops.audit_log (action) values ('fake.entry')",
        "update": "update ops.audit_log set reason = 'x' where target_id = %(owner)s::text",
        "delete": "delete from ops.audit_log where target_id = %(owner)s::text",
    },
    "ops.outbox": {
        "insert": "insert into ops.outbox (topic) values ('fake.job')",
        "delete": "delete from ops.outbox",
    },
    "ops.error_codes": {
        "insert": "insert into ops.error_codes values ('fake', 'P0001', 400, 'x')",
        "update": "update ops.error_codes set http_status = 500 where code = 'forbidden'",
        "delete": "delete from ops.error_codes where code = 'forbidden'",
    },
}

# RPCs: a representative call and its outcome per role.
EXECUTE = {
    "api.accounts_update_my_profile": (
        'select api.accounts_update_my_profile(\'{"bio": "hi"}\')',
        row("deny", "yes", "yes", "yes", "yes", "deny"),
    ),
    "api.accounts_set_my_avatar": (
        "select api.accounts_set_my_avatar(null)",
        row("deny", "yes", "yes", "yes", "yes", "deny"),
    ),
    "api.accounts_get_my_settings": (
        "select api.accounts_get_my_settings()",
        row("deny", "yes", "yes", "yes", "yes", "deny"),
    ),
    "api.accounts_update_my_settings": (
        'select api.accounts_update_my_settings(\'{"theme": "dark"}\')',
        row("deny", "yes", "yes", "yes", "yes", "deny"),
    ),
    "api.accounts_get_my_account": (
        "select api.accounts_get_my_account()",
        row("deny", "yes", "yes", "yes", "yes", "deny"),
    ),
    "api.accounts_export_my_data": (
        "select api.accounts_export_my_data()",
        row("deny", "yes", "yes", "yes", "yes", "deny"),
    ),
    "api.accounts_search_users": (
        "select * from api.accounts_search_users(p_query => 'owner_user')",
        # the owner's profile is members-only: anon may search but does not find it
        row("no", "yes", "yes", "yes", "yes", "yes"),
    ),
    "api.accounts_get_user": (
        "select api.accounts_get_user(%(owner)s)",
        row("deny", "deny", "deny", "deny", "yes", "deny"),
    ),
    "api.accounts_grant_role": (
        "select api.accounts_grant_role(%(owner)s, 'author')",
        row("deny", "deny", "deny", "deny", "yes", "deny"),
    ),
    "api.accounts_revoke_role": (
        "select api.accounts_revoke_role(%(owner)s, 'author')",
        row("deny", "deny", "deny", "deny", "role_not_held", "deny"),
    ),
    "api.accounts_delete_my_account": (
        "select api.accounts_delete_my_account('owner_user')",
        row(
            "deny",
            "confirmation_mismatch",
            "yes",
            "confirmation_mismatch",
            "confirmation_mismatch",
            "deny",
        ),
    ),
    "api.accounts_delete_user": (
        "select api.accounts_delete_user(%(owner)s, 'matrix test')",
        row("deny", "deny", "deny", "deny", "yes", "deny"),
    ),
    "accounts.custom_access_token_hook": (
        'select accounts.custom_access_token_hook(\'{"user_id": null, "claims": {}}\')',
        ALL_DENY,
    ),
    "private.record_activity": (
        "select private.record_activity(%(owner)s, 'x.y', 'x', 'x', '{}', 100)",
        ALL_DENY,
    ),
    "private.erase_user": ("select private.erase_user(%(owner)s, 'x')", ALL_DENY),
    "private.audit": ("select private.audit('x.y', 'x', 'x')", ALL_DENY),
    "private.user_settings": ("select private.user_settings(%(owner)s)", ALL_DENY),
    "ops.enqueue": (
        "select ops.enqueue('fake.job', '{}')",
        row("deny", "deny", "deny", "deny", "deny", "yes"),
    ),
}


@pytest.fixture
def scene(db, cast):
    """The owner has data in every accounts object (a settings row, activity, an audit row)."""
    db.execute("insert into accounts.settings (user_id) values (%s)", (cast.owner.id,))
    db.execute(
        "select private.record_activity(%s, 'lesson.completed', 'lesson', 'l1')", (cast.owner.id,)
    )
    db.execute("select private.audit('accounts.role_granted', 'user', %s)", (cast.owner.id,))
    db.execute("select ops.enqueue('test.job', '{}')")
    return cast


# 42501 refusals that count as "deny" in this matrix
DENIED = ANY_HINT


def outcome(db, who, sql, params, *, count_rows=False) -> str:
    return matrix_outcome(db, who, sql, params, count_rows=count_rows, denied=DENIED)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("obj", sorted(SELECT))
def test_select(db, scene, obj, role):
    where, expected = SELECT[obj]
    sql = f"select count(*) as n from {obj} where {where}"
    got = outcome(db, scene.get(role), sql, {"owner": scene.owner.id}, count_rows=True)
    assert got == expected[role]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("obj", "action"), sorted((o, a) for o, actions in WRITES.items() for a in actions)
)
def test_write(db, scene, obj, action, role):
    got = outcome(db, scene.get(role), WRITES[obj][action], {"owner": scene.owner.id})
    assert got in ("deny", "no"), f"{role} could {action} {obj}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("fn", sorted(EXECUTE))
def test_execute(db, scene, fn, role):
    sql, expected = EXECUTE[fn]
    got = outcome(db, scene.get(role), sql, {"owner": scene.owner.id})
    assert got == expected[role]
