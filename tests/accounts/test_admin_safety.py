"""Attacks on the admin set: the last active admin cannot be demoted or deleted, nobody grants
or revokes a role ranked above their own, and two admins acting at the same instant cannot
leave the platform without an admin (real parallel connections)."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from flagship.database import connect
from flagship.testing.harness import api_error, as_user, create_user, grant_roles, query


def only_admins(db, *users):
    """Make `users` the only admins."""
    db.execute(
        "delete from accounts.user_roles where role = 'admin' and not (user_id = any(%s::uuid[]))",
        ([u.id for u in users],),
    )


def ban(db, user):
    db.execute(
        "update auth.users set banned_until = now() + interval '10 years' where id = %s",
        (user.id,),
    )


def admin_ids(db) -> set[str]:
    rows = db.execute("select user_id::text from accounts.user_roles where role = 'admin'")
    return {r["user_id"] for r in rows}


def test_banned_admin_does_not_count_when_demoting_the_last_active_one(db, cast):
    banned = grant_roles(db, create_user(db, username="banned_admin"), "admin")
    only_admins(db, cast.admin, banned)
    ban(db, banned)
    with as_user(db, cast.admin), api_error(db, "role_protected", "PT409"):
        db.execute("select api.accounts_revoke_role(%s, 'admin')", (cast.admin.id,))
    assert cast.admin.id in admin_ids(db)


def test_last_active_admin_cannot_delete_their_account(db, cast):
    banned = grant_roles(db, create_user(db, username="banned_admin"), "admin")
    only_admins(db, cast.admin, banned)
    ban(db, banned)
    with as_user(db, cast.admin), api_error(db, "role_protected", "PT409"):
        db.execute("select api.accounts_delete_my_account('admin_user')")
    assert db.execute("select 1 from auth.users where id = %s", (cast.admin.id,)).fetchone()


def test_admin_cannot_delete_the_last_other_active_admin(db, cast):
    """An admin whose own standing rests on a stale token (banned) removes the last active
    admin: refused."""
    other = grant_roles(db, create_user(db, username="other_admin"), "admin")
    only_admins(db, cast.admin, other)
    ban(db, cast.admin)  # the actor's token still works until it expires
    with as_user(db, cast.admin), api_error(db, "role_protected", "PT409"):
        db.execute("select api.accounts_delete_user(%s, 'takeover')", (other.id,))
    assert other.id in admin_ids(db)


@pytest.fixture
def delegate(db, cast):
    """A moderator whose role was given roles.manage (a delegated role manager)."""
    db.execute(
        "insert into accounts.role_permissions (role, permission)"
        " values ('moderator', 'roles.manage')"
    )
    return cast.moderator


@pytest.mark.parametrize("role", ["admin"])
def test_nobody_grants_a_role_above_their_own_rank(db, cast, delegate, role):
    with as_user(db, delegate), api_error(db, "role_rank_exceeded", "42501"):
        db.execute("select api.accounts_grant_role(%s, %s)", (delegate.id, role))
    with as_user(db, delegate), api_error(db, "role_rank_exceeded", "42501"):
        db.execute("select api.accounts_grant_role(%s, %s)", (cast.member.id, role))
    roles = db.execute("select role from accounts.user_roles where user_id = %s", (delegate.id,))
    assert "admin" not in {r["role"] for r in roles}


def test_nobody_revokes_a_role_above_their_own_rank(db, cast, delegate):
    with as_user(db, delegate), api_error(db, "role_rank_exceeded", "42501"):
        db.execute("select api.accounts_revoke_role(%s, 'admin')", (cast.admin.id,))
    assert cast.admin.id in admin_ids(db)


def test_roles_at_or_below_own_rank_still_work(db, cast, delegate):
    with as_user(db, delegate):
        db.execute("select api.accounts_grant_role(%s, 'author')", (cast.member.id,))
        db.execute("select api.accounts_grant_role(%s, 'moderator')", (cast.member.id,))
        db.execute("select api.accounts_revoke_role(%s, 'author')", (cast.member.id,))


# -- real parallel connections ------------------------------------------------------------
def two_admins(url):
    with connect(url) as db:
        a = grant_roles(db, create_user(db, username="admin_a"), "admin")
        b = grant_roles(db, create_user(db, username="admin_b"), "admin")
        only_admins(db, a, b)
        db.commit()
    return a, b


def race(url, first_sql, first_args, second_sql, second_args, first, second):
    """`first` runs its call and holds its transaction open while `second` runs its call in
    another connection; then `first` commits. Returns the error code `second` got (or None)."""
    outcome: dict = {}
    with connect(url) as c1:
        query(c1, first, first_sql, first_args)

        def other():
            try:
                with connect(url) as c2:
                    c2.execute("set lock_timeout = '20s'")
                    query(c2, second, second_sql, second_args)
                    c2.commit()
                    outcome["code"] = None
            except psycopg.Error as exc:
                outcome["code"] = exc.diag.message_hint or exc.diag.sqlstate

        thread = threading.Thread(target=other)
        thread.start()
        time.sleep(1.0)  # the second call is running (or waiting) while the first is open
        c1.commit()
        thread.join(timeout=60)
    assert "code" in outcome
    return outcome["code"]


def test_two_admins_demoting_each_other_at_once_leave_one(fresh_db):
    a, b = two_admins(fresh_db)
    sql = "select api.accounts_revoke_role(%s, 'admin')"
    code = race(fresh_db, sql, (b.id,), sql, (a.id,), a, b)
    assert code in ("role_protected", "forbidden")
    with connect(fresh_db) as db:
        assert admin_ids(db) == {a.id}


def test_two_admins_deleting_each_other_at_once_leave_one(fresh_db):
    a, b = two_admins(fresh_db)
    sql = "select api.accounts_delete_user(%s, 'race test')"
    code = race(fresh_db, sql, (b.id,), sql, (a.id,), a, b)
    assert code in ("role_protected", "forbidden")
    with connect(fresh_db) as db:
        assert admin_ids(db) == {a.id}


def test_two_admins_leaving_at_once_leave_one(fresh_db):
    a, b = two_admins(fresh_db)
    code = race(
        fresh_db,
        "select api.accounts_delete_my_account('admin_a')",
        None,
        "select api.accounts_delete_my_account('admin_b')",
        None,
        a,
        b,
    )
    assert code == "role_protected"
    with connect(fresh_db) as db:
        assert admin_ids(db) == {b.id}
