"""RLS matrix for every accounts object: each role × each object × each action.

Outcomes: "yes" (the owner's rows are visible / the write changed them / the call worked),
"no" (allowed to ask, but nothing of the owner's is visible or changed), "deny" (refused
with 42501: no privilege or a policy violation), or an API error code.
"""

from __future__ import annotations

import pytest

from flagship.testing.harness import ANY_HINT, rpc
from flagship.testing.matrix import Matrix

ROLES = ["anon", "member", "owner", "moderator", "admin", "service_role"]
# every 42501 refusal counts as "deny" in this matrix
M = Matrix(["accounts", "ops"], ROLES, denied=ANY_HINT)
ALL_DENY = M.same("deny")
# Rows of the owner in each object: `where` selects them.
M.select(
    "accounts.profiles",
    "id = %(owner)s",
    M.cells(anon="no", member="yes", owner="yes", moderator="yes", admin="yes", service_role="yes"),
)
M.select(
    "api.accounts_profiles",
    "id = %(owner)s",
    M.cells(anon="no", member="yes", owner="yes", moderator="yes", admin="yes", service_role="yes"),
)
M.select(
    "accounts.user_roles",
    "user_id = %(owner)s",
    M.cells(anon="no", member="yes", owner="yes", moderator="yes", admin="yes", service_role="yes"),
)
M.select(
    "api.accounts_user_roles",
    "user_id = %(owner)s",
    M.cells(anon="no", member="yes", owner="yes", moderator="yes", admin="yes", service_role="yes"),
)
M.select(
    "accounts.settings",
    "user_id = %(owner)s",
    M.cells(anon="deny", member="no", owner="yes", moderator="no", admin="no", service_role="yes"),
)
M.select(
    "accounts.activity",
    "actor_id = %(owner)s",
    M.cells(anon="deny", member="no", owner="yes", moderator="no", admin="no", service_role="yes"),
)
M.select(
    "api.accounts_my_activity",
    "true",
    M.cells(anon="deny", member="no", owner="yes", moderator="no", admin="no", service_role="yes"),
)
M.select(
    "accounts.stats",
    "user_id = %(owner)s",
    M.cells(anon="no", member="yes", owner="yes", moderator="yes", admin="yes", service_role="yes"),
)
M.select(
    "api.accounts_profile_stats",
    "user_id = %(owner)s",
    M.cells(anon="no", member="yes", owner="yes", moderator="yes", admin="yes", service_role="yes"),
)
M.select("accounts.roles", "true", M.same("yes"))
M.select("accounts.permissions", "true", M.same("yes"))
M.select("accounts.role_permissions", "true", M.same("yes"))
M.select("api.accounts_roles", "true", M.same("yes"))
M.select("accounts.data_providers", "true", ALL_DENY)
M.select(
    "ops.audit_log",
    "target_id = %(owner)s::text",
    M.cells(anon="deny", member="no", owner="no", moderator="no", admin="yes", service_role="yes"),
)
M.select(
    "api.ops_audit_log",
    "target_id = %(owner)s::text",
    M.cells(anon="deny", member="no", owner="no", moderator="no", admin="yes", service_role="yes"),
)
M.select(
    "ops.outbox",
    "true",
    M.cells(
        anon="deny", member="deny", owner="deny", moderator="deny", admin="deny", service_role="yes"
    ),
)
M.select("ops.rate_limits", "true", ALL_DENY)
M.select("ops.error_codes", "true", M.same("yes"))
M.select("api.ops_error_codes", "true", M.same("yes"))

# API keys, contact emails and the edge's ops tables.
M.select(
    "accounts.api_keys",
    "owner_id = %(owner)s",
    M.cells(anon="deny", member="no", owner="yes", moderator="no", admin="yes", service_role="yes"),
)
M.select(
    "api.accounts_api_keys",
    "owner_id = %(owner)s",
    M.cells(anon="deny", member="no", owner="yes", moderator="no", admin="yes", service_role="yes"),
)
M.select("accounts.api_scopes", "true", M.same("yes"))
M.select("api.accounts_api_scopes", "true", M.same("yes"))
M.select(
    "accounts.contact_emails",
    "user_id = %(owner)s",
    M.cells(anon="deny", member="no", owner="yes", moderator="no", admin="no", service_role="yes"),
)
M.select("accounts.email_verifications", "user_id = %(owner)s", M.same("deny"))
M.select(
    "ops.mailbox",
    "true",
    M.cells(
        anon="deny", member="deny", owner="deny", moderator="deny", admin="deny", service_role="yes"
    ),
)
M.select(
    "ops.email_suppressions",
    "true",
    M.cells(
        anon="deny", member="deny", owner="deny", moderator="deny", admin="deny", service_role="yes"
    ),
)
M.select(
    "ops.webhook_receipts",
    "true",
    M.cells(
        anon="deny", member="deny", owner="deny", moderator="deny", admin="deny", service_role="yes"
    ),
)
M.select("ops.schedules", "true", M.same("deny"))

# What an API key needs per api object (public reference data), and the render targets
# (read by the definer render functions only).
M.select("accounts.api_object_scopes", "true", M.same("yes"))
M.select("api.accounts_api_object_scopes", "true", M.same("yes"))
M.select("ops.render_targets", "true", M.same("deny"))

# The event catalogue is public; newsletter campaigns and recipients are admins' (the
# events matrix covers their api views and RPCs).
M.select("ops.event_types", "topic = 'ctf.solve'", M.same("yes"))
M.select(
    "ops.newsletter_campaigns",
    "true",
    M.cells(anon="deny", member="no", owner="no", moderator="no", admin="yes", service_role="yes"),
)
M.select(
    "ops.newsletter_recipients",
    "true",
    M.cells(anon="deny", member="no", owner="no", moderator="no", admin="yes", service_role="yes"),
)
M.write("ops.event_types", "delete", "delete from ops.event_types", M.same("deny"))
# The declared result shapes of the api functions are public reference data; only
# migrations write them (ops.declare_result_shape).
M.select("ops.api_result_shapes", "object = 'api.accounts_get_my_settings'", M.same("yes"))
M.write(
    "ops.api_result_shapes",
    "update",
    "update ops.api_result_shapes set shape = '{}'",
    M.same("deny"),
)
M.write(
    "ops.api_result_shapes",
    "insert",
    "insert into ops.api_result_shapes (object, shape) values ('api.x', '{}')",
    M.same("deny"),
)
M.write(
    "ops.newsletter_campaigns",
    "insert",
    "insert into ops.newsletter_campaigns (subject, body, audience) values ('x', 'y', '{}')",
    M.same("deny"),
)
M.write(
    "ops.newsletter_recipients",
    "update",
    "update ops.newsletter_recipients set status = 'sent'",
    M.same("deny") | {"service_role": "yes"},
)

# Look-alike data for username checks: read by definer functions only.
M.select("accounts.confusables", "true", M.same("deny"))
M.select("accounts.reserved_names", "true", M.same("deny"))

# Writes aimed at the owner's rows. Clients have no write grants on any accounts object:
# every change goes through an RPC.
M.write(
    "accounts.profiles",
    "insert",
    "insert into accounts.profiles (id, username) values (%(owner)s, 'x_pwned')",
)
M.write(
    "accounts.profiles", "update", "update accounts.profiles set bio = 'pwned' where id = %(owner)s"
)
M.write("accounts.profiles", "delete", "delete from accounts.profiles where id = %(owner)s")
M.write(
    "api.accounts_profiles",
    "insert",
    "insert into api.accounts_profiles (id, username) values (%(owner)s, 'x_pwned')",
)
M.write(
    "api.accounts_profiles",
    "update",
    "update api.accounts_profiles set bio = 'pwned' where id = %(owner)s",
)
M.write("api.accounts_profiles", "delete", "delete from api.accounts_profiles where id = %(owner)s")
M.write(
    "accounts.user_roles",
    "insert",
    "insert into accounts.user_roles (user_id, role) values (%(owner)s, 'admin')",
)
M.write(
    "accounts.user_roles",
    "update",
    "update accounts.user_roles set role = 'admin' where user_id = %(owner)s",
)
M.write(
    "accounts.user_roles", "delete", "delete from accounts.user_roles where user_id = %(owner)s"
)
M.write(
    "accounts.roles",
    "insert",
    "insert into accounts.roles (name, description, rank) values ('god', 'x', 99)",
)
M.write("accounts.roles", "update", "update accounts.roles set rank = 0 where name = 'admin'")
M.write("accounts.roles", "delete", "delete from accounts.roles where name = 'author'")
M.write(
    "accounts.role_permissions",
    "insert",
    "insert into accounts.role_permissions values ('member', 'roles.manage')",
)
M.write(
    "accounts.role_permissions",
    "update",
    "update accounts.role_permissions set role = 'member' where role = 'admin'",
)
M.write(
    "accounts.role_permissions",
    "delete",
    "delete from accounts.role_permissions where role = 'admin'",
)
M.write("accounts.settings", "insert", "insert into accounts.settings (user_id) values (%(owner)s)")
M.write(
    "accounts.settings",
    "update",
    "update accounts.settings set prefs = '{}' where user_id = %(owner)s",
)
M.write("accounts.settings", "delete", "delete from accounts.settings where user_id = %(owner)s")
M.write(
    "accounts.activity",
    "insert",
    "insert into accounts.activity (actor_id, verb, object_type, object_id,"
    " activity_day, xp) values (%(owner)s, 'x', 'x', 'x', current_date, 5000)",
)
M.write(
    "accounts.activity",
    "update",
    "update accounts.activity set xp = 9999 where actor_id = %(owner)s",
)
M.write("accounts.activity", "delete", "delete from accounts.activity where actor_id = %(owner)s")
M.write(
    "accounts.stats",
    "insert",
    "insert into accounts.stats (user_id, xp) values (gen_random_uuid(), 1)",
)
M.write(
    "accounts.stats", "update", "update accounts.stats set xp = 999999 where user_id = %(owner)s"
)
M.write("accounts.stats", "delete", "delete from accounts.stats where user_id = %(owner)s")
M.write("ops.audit_log", "insert", "insert into ops.audit_log (action) values ('fake.entry')")
M.write(
    "ops.audit_log",
    "update",
    "update ops.audit_log set reason = 'x' where target_id = %(owner)s::text",
)
M.write("ops.audit_log", "delete", "delete from ops.audit_log where target_id = %(owner)s::text")
M.write("ops.outbox", "insert", "insert into ops.outbox (topic) values ('fake.job')")
M.write("ops.outbox", "delete", "delete from ops.outbox")
M.write(
    "ops.error_codes", "insert", "insert into ops.error_codes values ('fake', 'P0001', 400, 'x')"
)
M.write(
    "ops.error_codes",
    "update",
    "update ops.error_codes set http_status = 500 where code = 'forbidden'",
)
M.write("ops.error_codes", "delete", "delete from ops.error_codes where code = 'forbidden'")

M.write(
    "accounts.api_keys",
    "insert",
    "insert into accounts.api_keys (owner_id, name, prefix, digest, scopes) values"
    " (%(owner)s, 'x', 'fsk_00000000', repeat('0', 64), '{ctf:challenges:write}')",
    M.same("deny"),
)
M.write(
    "accounts.api_keys",
    "update",
    "update accounts.api_keys set revoked_at = null, scopes = '{ctf:challenges:write}'"
    " where owner_id = %(owner)s",
    M.same("deny"),
)
M.write(
    "accounts.api_keys",
    "delete",
    "delete from accounts.api_keys where owner_id = %(owner)s",
    M.same("deny"),
)
M.write(
    "api.accounts_api_keys",
    "update",
    "update api.accounts_api_keys set name = 'x' where owner_id = %(owner)s",
    M.same("deny"),
)
M.write(
    "api.accounts_api_keys",
    "delete",
    "delete from api.accounts_api_keys where owner_id = %(owner)s",
    M.same("deny"),
)
M.write(
    "accounts.api_scopes",
    "insert",
    "insert into accounts.api_scopes values ('admin:all:write', 'x')",
    M.same("deny"),
)
M.write("accounts.api_scopes", "delete", "delete from accounts.api_scopes", M.same("deny"))
M.write(
    "accounts.contact_emails",
    "insert",
    "insert into accounts.contact_emails (user_id, email, verified_at)"
    " values (%(member)s, 'attacker@example.test', now())",
    M.same("deny"),
)
M.write(
    "accounts.contact_emails",
    "update",
    "update accounts.contact_emails set email = 'attacker@example.test' where user_id = %(owner)s",
    M.same("deny"),
)
M.write(
    "accounts.contact_emails",
    "delete",
    "delete from accounts.contact_emails where user_id = %(owner)s",
    M.same("deny"),
)
M.write(
    "accounts.email_verifications",
    "insert",
    "insert into accounts.email_verifications (user_id, email, token_digest, expires_at)"
    " values (%(owner)s, 'attacker@example.test', repeat('1', 64), now() + interval '1 day')",
    M.same("deny"),
)
M.write(
    "accounts.email_verifications",
    "update",
    "update accounts.email_verifications set email = 'attacker@example.test'"
    " where user_id = %(owner)s",
    M.same("deny"),
)
M.write(
    "accounts.email_verifications",
    "delete",
    "delete from accounts.email_verifications where user_id = %(owner)s",
    M.same("deny"),
)
M.write(
    "ops.mailbox",
    "insert",
    "insert into ops.mailbox (idempotency_key, to_address, from_address, subject, html,"
    " text_body) values ('matrix', 'a@example.test', 'b@example.test', 's', 'h', 't')",
    M.cells(
        anon="deny", member="deny", owner="deny", moderator="deny", admin="deny", service_role="yes"
    ),
)
M.write("ops.mailbox", "delete", "delete from ops.mailbox", M.same("deny"))
M.write(
    "ops.email_suppressions",
    "insert",
    "insert into ops.email_suppressions (email, reason) values ('victim@example.test', 'manual')",
    M.cells(
        anon="deny", member="deny", owner="deny", moderator="deny", admin="deny", service_role="yes"
    ),
)
M.write("ops.email_suppressions", "delete", "delete from ops.email_suppressions", M.same("deny"))
M.write(
    "ops.webhook_receipts",
    "insert",
    "insert into ops.webhook_receipts (source, webhook_id) values ('resend', 'msg_matrix')",
    M.cells(
        anon="deny", member="deny", owner="deny", moderator="deny", admin="deny", service_role="yes"
    ),
)
M.write(
    "ops.webhook_receipts",
    "delete",
    "delete from ops.webhook_receipts",
    M.cells(
        anon="deny", member="deny", owner="deny", moderator="deny", admin="deny", service_role="yes"
    ),
)
M.write("ops.schedules", "update", "update ops.schedules set enabled = false", M.same("deny"))
M.write("ops.schedules", "delete", "delete from ops.schedules", M.same("deny"))

M.write(
    "accounts.api_object_scopes",
    "insert",
    "insert into accounts.api_object_scopes (object, kind, access)"
    " values ('api.accounts_delete_user', 'function', 'any_key')",
    M.same("deny"),
)
M.write(
    "accounts.api_object_scopes",
    "update",
    "update accounts.api_object_scopes set access = 'any_key', scope = null",
    M.same("deny"),
)
M.write(
    "accounts.api_object_scopes", "delete", "delete from accounts.api_object_scopes", M.same("deny")
)
M.write(
    "ops.render_targets",
    "update",
    "update ops.render_targets set html_column = source_column",
    M.same("deny"),
)
M.write("ops.render_targets", "delete", "delete from ops.render_targets", M.same("deny"))

M.write("accounts.confusables", "delete", "delete from accounts.confusables", M.same("deny"))
M.write("accounts.reserved_names", "delete", "delete from accounts.reserved_names", M.same("deny"))

# RPCs: a representative call and its outcome per role.
M.execute(
    "api.accounts_update_my_profile",
    'select api.accounts_update_my_profile(\'{"bio": "hi"}\')',
    M.cells(
        anon="deny", member="yes", owner="yes", moderator="yes", admin="yes", service_role="deny"
    ),
)
M.execute(
    "api.accounts_set_my_avatar",
    "select api.accounts_set_my_avatar(null)",
    M.cells(
        anon="deny", member="yes", owner="yes", moderator="yes", admin="yes", service_role="deny"
    ),
)
M.execute(
    "api.accounts_get_my_settings",
    "select api.accounts_get_my_settings()",
    M.cells(
        anon="deny", member="yes", owner="yes", moderator="yes", admin="yes", service_role="deny"
    ),
)
M.execute(
    "api.accounts_update_my_settings",
    'select api.accounts_update_my_settings(\'{"theme": "dark"}\')',
    M.cells(
        anon="deny", member="yes", owner="yes", moderator="yes", admin="yes", service_role="deny"
    ),
)
M.execute(
    "api.accounts_get_my_account",
    "select api.accounts_get_my_account()",
    M.cells(
        anon="deny", member="yes", owner="yes", moderator="yes", admin="yes", service_role="deny"
    ),
)
M.execute(
    "api.accounts_export_my_data",
    "select api.accounts_export_my_data()",
    M.cells(
        anon="deny", member="yes", owner="yes", moderator="yes", admin="yes", service_role="deny"
    ),
)
M.execute(
    "api.accounts_search_users",
    "select * from api.accounts_search_users(p_query => 'owner_user')",
    M.cells(anon="no", member="yes", owner="yes", moderator="yes", admin="yes", service_role="yes"),
)
M.execute(
    "api.accounts_get_user",
    "select api.accounts_get_user(%(owner)s)",
    M.cells(
        anon="deny", member="deny", owner="deny", moderator="deny", admin="yes", service_role="deny"
    ),
)
M.execute(
    "api.accounts_grant_role",
    "select api.accounts_grant_role(%(owner)s, 'author')",
    M.cells(
        anon="deny", member="deny", owner="deny", moderator="deny", admin="yes", service_role="deny"
    ),
)
M.execute(
    "api.accounts_revoke_role",
    "select api.accounts_revoke_role(%(owner)s, 'author')",
    M.cells(
        anon="deny",
        member="deny",
        owner="deny",
        moderator="deny",
        admin="role_not_held",
        service_role="deny",
    ),
)
M.execute(
    "api.accounts_delete_my_account",
    "select api.accounts_delete_my_account('owner_user')",
    M.cells(
        anon="deny",
        member="confirmation_mismatch",
        owner="yes",
        moderator="confirmation_mismatch",
        admin="confirmation_mismatch",
        service_role="deny",
    ),
)
M.execute(
    "api.accounts_delete_user",
    "select api.accounts_delete_user(%(owner)s, 'matrix test')",
    M.cells(
        anon="deny", member="deny", owner="deny", moderator="deny", admin="yes", service_role="deny"
    ),
)
M.execute(
    "accounts.custom_access_token_hook",
    'select accounts.custom_access_token_hook(\'{"user_id": null, "claims": {}}\')',
    ALL_DENY,
)
M.execute(
    "private.record_activity",
    "select private.record_activity(%(owner)s, 'x.y', 'x', 'x', '{}', 100)",
    ALL_DENY,
)
M.execute("private.erase_user", "select private.erase_user(%(owner)s, 'x')", ALL_DENY)
M.execute("private.audit", "select private.audit('x.y', 'x', 'x')", ALL_DENY)
M.execute("private.user_settings", "select private.user_settings(%(owner)s)", ALL_DENY)
M.execute(
    "ops.enqueue",
    "select ops.enqueue('fake.job', '{}')",
    M.cells(
        anon="deny", member="deny", owner="deny", moderator="deny", admin="deny", service_role="yes"
    ),
)


M.execute(
    "api.accounts_create_api_key",
    "select api.accounts_create_api_key('matrix', array['profile:read'])",
    M.cells(
        anon="deny", member="yes", owner="yes", moderator="yes", admin="yes", service_role="deny"
    ),
)
M.execute(
    "api.accounts_revoke_api_key",
    "select api.accounts_revoke_api_key(%(api_key)s)",
    M.cells(
        anon="deny",
        member="not_found",
        owner="yes",
        moderator="not_found",
        admin="yes",
        service_role="deny",
    ),
)
M.execute(
    "api.accounts_rotate_api_key",
    "select api.accounts_rotate_api_key(%(api_key)s)",
    M.cells(
        anon="deny",
        member="not_found",
        owner="yes",
        moderator="not_found",
        admin="yes",
        service_role="deny",
    ),
)
M.execute(
    "api.accounts_request_contact_email_change",
    "select api.accounts_request_contact_email_change('matrix@example.test')",
    M.cells(
        anon="deny", member="yes", owner="yes", moderator="yes", admin="yes", service_role="deny"
    ),
)
M.execute(
    "api.accounts_confirm_contact_email_change",
    "select api.accounts_confirm_contact_email_change(%(email_token)s)",
    M.cells(
        anon="deny",
        member="edge_email_token_invalid",
        owner="yes",
        moderator="edge_email_token_invalid",
        admin="edge_email_token_invalid",
        service_role="deny",
    ),
)


@pytest.fixture(scope="module")
def scene(module_db, module_cast):
    """The owner has data in every accounts object (a settings row, activity, an audit row,
    an API key, a contact email and a pending change of it) and the ops tables have rows.
    Built once for the module; every cell rolls back what it does."""
    db, cast = module_db, module_cast
    owner = cast.owner.id
    db.execute("insert into accounts.settings (user_id) values (%s)", (owner,))
    db.execute("select private.record_activity(%s, 'lesson.completed', 'lesson', 'l1')", (owner,))
    db.execute("select private.audit('accounts.role_granted', 'user', %s)", (owner,))
    db.execute("select ops.enqueue('test.job', '{}')")
    db.execute(
        "with c as (insert into ops.newsletter_campaigns (subject, body, audience)"
        " values ('Matrix', 'Body', '{\"kind\": \"everyone\"}') returning id)"
        " insert into ops.newsletter_recipients (campaign_id, email, chunk)"
        " select id, 'matrix@example.test', 0 from c"
    )
    key = rpc(db, cast.owner, "accounts_create_api_key", p_name="ci", p_scopes=["profile:read"])
    db.execute(
        "insert into accounts.contact_emails (user_id, email, verified_at)"
        " values (%s, 'owner-contact@example.test', now())",
        (owner,),
    )
    rpc(db, cast.owner, "accounts_request_contact_email_change", p_email="owner-new@example.test")
    token = db.execute(
        "select payload -> 'data' ->> 'token' as t from ops.outbox"
        " where payload ->> 'template' = 'verify_email' and payload ->> 'to' = %s",
        ("owner-new@example.test",),
    ).fetchone()["t"]
    db.execute(
        "insert into ops.mailbox (idempotency_key, to_address, from_address, subject, html,"
        " text_body) values ('scene', %s, 'noreply@example.test', 'Hi', '<p>Hi</p>', 'Hi')",
        (cast.owner.email,),
    )
    db.execute(
        "insert into ops.email_suppressions (email, reason) values ('gone@example.test', 'bounced')"
    )
    db.execute("insert into ops.webhook_receipts (source, webhook_id) values ('resend', 'msg_1')")
    params = {
        "owner": owner,
        "member": cast.member.id,
        "api_key": key["id"],
        "email_token": token,
    }
    return cast, params


@M.parametrize("select")
def test_select(module_db, scene, cell):
    cast, params = scene
    cell.check(module_db, cast.get(cell.role), params)


@M.parametrize("write")
def test_write(module_db, scene, cell):
    cast, params = scene
    cell.check(module_db, cast.get(cell.role), params)


@M.parametrize("execute")
def test_execute(module_db, scene, cell):
    cast, params = scene
    cell.check(module_db, cast.get(cell.role), params)


def test_matrix_covers_every_accounts_object(db):
    assert M.uncovered(db) == []
