"""Roles: the access token hook, grant/revoke by admins only, audit rows, protections."""

import json

import pytest

from flagship.testing.harness import api_error, as_user, create_user, refresh


def audit_rows(db, action, target):
    return db.execute(
        "select * from ops.audit_log where action = %s and target_id = %s", (action, target)
    ).fetchall()


def test_hook_puts_roles_in_claims_and_keeps_required_claims(db, cast):
    claims = cast.admin.claims
    assert claims["user_roles"] == ["member", "admin"]
    for required in ("iss", "aud", "exp", "iat", "sub", "role", "aal", "session_id", "email"):
        assert required in claims


def test_hook_is_only_for_supabase_auth_admin(db, cast):
    event = json.dumps({"user_id": cast.member.id, "claims": {}})
    for who in ("anon", cast.member, "service_role"):
        with as_user(db, who), api_error(db, None, "42501"):
            db.execute("select accounts.custom_access_token_hook(%s)", (event,))


def test_admin_grants_and_revokes_with_audit(db, cast):
    with as_user(db, cast.admin):
        db.execute("select api.accounts_grant_role(%s, 'author', 'writes well')", (cast.member.id,))
        db.execute("select api.accounts_grant_role(%s, 'author')", (cast.member.id,))  # idempotent
    assert refresh(db, cast.member).claims["user_roles"] == ["member", "author"]
    rows = audit_rows(db, "accounts.role_granted", cast.member.id)
    assert len(rows) == 1
    assert rows[0]["actor_id"] is not None and str(rows[0]["actor_id"]) == cast.admin.id
    assert rows[0]["reason"] == "writes well" and rows[0]["details"] == {"role": "author"}
    with as_user(db, cast.admin):
        db.execute("select api.accounts_revoke_role(%s, 'author', 'left')", (cast.member.id,))
        with api_error(db, "role_not_held", "PT404"):
            db.execute("select api.accounts_revoke_role(%s, 'author')", (cast.member.id,))
    assert len(audit_rows(db, "accounts.role_revoked", cast.member.id)) == 1


@pytest.mark.parametrize("who", ["member", "moderator", "instructor", "owner"])
def test_non_admins_cannot_grant_themselves_roles(db, cast, who):
    user = cast.get(who)
    with as_user(db, user), api_error(db, "forbidden", "42501"):
        db.execute("select api.accounts_grant_role(%s, 'admin')", (user.id,))
    roles = db.execute("select role from accounts.user_roles where user_id = %s", (user.id,))
    assert "admin" not in {r["role"] for r in roles}
    with as_user(db, user), api_error(db, None, "42501"):
        db.execute(
            "insert into accounts.user_roles (user_id, role) values (%s, 'admin')", (user.id,)
        )


def test_anon_cannot_call_admin_rpcs(db, cast):
    with as_user(db, "anon"), api_error(db, None, "42501"):
        db.execute("select api.accounts_grant_role(%s, 'admin')", (cast.member.id,))


def test_stale_token_does_not_keep_revoked_power(db, cast):
    stale = cast.admin  # claims still say admin
    db.execute("delete from accounts.user_roles where user_id = %s and role = 'admin'", (stale.id,))
    with as_user(db, stale), api_error(db, "forbidden", "42501"):
        db.execute("select api.accounts_grant_role(%s, 'author')", (cast.member.id,))


@pytest.mark.parametrize(
    ("args", "code", "state"),
    [
        (("{member}", "wizard"), "role_unknown", "22023"),
        (("00000000-0000-4000-8000-00000000dead", "author"), "user_not_found", "PT404"),
        (("{member}", None), "invalid_argument", "22023"),
    ],
)
def test_grant_role_bad_input(db, cast, args, code, state):
    user_id = args[0].replace("{member}", cast.member.id)
    with as_user(db, cast.admin), api_error(db, code, state):
        db.execute("select api.accounts_grant_role(%s, %s)", (user_id, args[1]))


def test_member_role_and_last_admin_are_protected(db, cast):
    db.execute(
        "delete from accounts.user_roles where role = 'admin' and user_id <> %s", (cast.admin.id,)
    )
    with as_user(db, cast.admin):
        with api_error(db, "role_protected", "PT409"):
            db.execute("select api.accounts_revoke_role(%s, 'member')", (cast.member.id,))
        with api_error(db, "role_protected", "PT409"):
            db.execute("select api.accounts_revoke_role(%s, 'admin')", (cast.admin.id,))


def test_roles_are_badges_on_visible_profiles(db, cast):
    with as_user(db, "anon"):
        rows = db.execute(
            "select * from api.accounts_user_roles where user_id = %s", (cast.moderator.id,)
        )
        assert rows.fetchall() == []  # profile visibility 'members' by default
    with as_user(db, cast.member):
        rows = db.execute(
            "select role from api.accounts_user_roles where user_id = %s", (cast.moderator.id,)
        )
        assert {r["role"] for r in rows} == {"member", "moderator"}


def test_roles_catalogue_is_public(db):
    with as_user(db, "anon"):
        roles = {r["name"]: r for r in db.execute("select * from api.accounts_roles")}
    assert set(roles) == {"member", "author", "instructor", "moderator", "admin"}
    assert "roles.manage" in roles["admin"]["permissions"]


def test_new_user_claims_come_from_tables(db):
    user = create_user(db, metadata={"roles": ["admin"], "user_roles": ["admin"]})
    assert user.claims["user_roles"] == ["member"]
