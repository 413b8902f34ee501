"""API-key scopes: every api object declares what a key needs; a key token without it is
refused (scope_missing) at PostgREST's pre-request step and again inside definer RPCs; a
revoked or expired key stops at once, also for tokens already exchanged from it."""

from __future__ import annotations

import json

import pytest
from psycopg import sql
from scopekit import (
    api_objects,
    call_sql,
    create_key,
    declarations,
    hint,
    key_claims,
    outcome,
)

from flagship.database import as_caller
from flagship.testing.harness import User, create_user, refresh


@pytest.fixture
def owner(db) -> User:
    user = create_user(db, username="scope_owner")
    return user


@pytest.fixture
def keys(db, owner):
    """key_for(scopes) → the claims of an exchanged token for a new key of `owner`."""

    def key_for(*scopes: str, who: User | None = None) -> dict:
        who = who or owner
        return key_claims(who, create_key(db, who, list(scopes)))

    return key_for


def test_every_api_object_has_a_declared_scope(db):
    objects = {o.name: o.kind for o in api_objects(db)}
    declared = declarations(db)
    missing = sorted(set(objects) - set(declared))
    assert not missing, f"api objects without a row in accounts.api_object_scopes: {missing}"
    stale = sorted(set(declared) - set(objects))
    assert not stale, f"declarations for objects that do not exist: {stale}"
    wrong_kind = sorted(o for o, d in declared.items() if d["kind"] != objects[o])
    assert not wrong_kind, wrong_kind


def needed_scope(decl: dict, method: str) -> str | None:
    if decl["access"] != "scope":
        return None
    if decl["kind"] == "view" and method not in ("GET", "HEAD"):
        return decl["write_scope"]
    return decl["scope"]


def test_walk_every_api_object_through_the_pre_request_check(db, keys):
    """For each object: a key without its scope → scope_missing naming the scope; a key with
    it → not the scope refusal; session-only → refused to a key holding every scope."""
    declared = declarations(db)
    every = [r["scope"] for r in db.execute("select scope from accounts.api_scopes")]
    tokens = {scope: keys(scope) for scope in every}
    all_scopes = keys(*every)
    checked = 0
    for obj in api_objects(db):
        decl = declared[obj.name]
        methods = ("POST",) if obj.kind == "function" else ("GET", "PATCH")
        for method in methods:
            scope = needed_scope(decl, method)
            if decl["access"] == "any_key" and method == "GET":
                err = outcome(db, tokens["billing:read"], None, path=obj.path, method=method)
                assert err is None, (obj.name, err)
                continue
            if scope is None:
                err = outcome(db, all_scopes, None, path=obj.path, method=method)
                assert hint(err) == "scope_missing", (obj.name, method, err)
                details = json.loads(err.diag.message_detail)
                assert details == {"object": obj.name, "scope": None}
                continue
            other = "billing:read" if scope != "billing:read" else "profile:read"
            err = outcome(db, tokens[other], None, path=obj.path, method=method)
            assert hint(err) == "scope_missing", (obj.name, method, err)
            details = json.loads(err.diag.message_detail)
            assert details == {"object": obj.name, "scope": scope}, details
            assert err.sqlstate == "42501"
            # With the scope, the pre-request check passes and the call itself runs.
            statement = call_sql(obj) if method == "GET" or obj.kind == "function" else None
            err = outcome(db, tokens[scope], statement, path=obj.path, method=method)
            assert hint(err) != "scope_missing", (obj.name, err)
            checked += 1
    assert checked > 150


def test_paths_as_hosted_postgrest_and_the_gateway_send_them(db, keys):
    token = keys("ctf:scores:read")
    for path in ("/rpc/ctf_get_scoreboard", "/rest/v1/rpc/ctf_get_scoreboard", "/ctf_teams"):
        assert outcome(db, token, None, path=path, method="GET") is None, path
    for path in ("/rest/v1/rpc/ctf_submit", "/", "/rpc", "/rpc/no_such_function", "/ctf_teams/x"):
        assert hint(outcome(db, token, None, path=path, method="POST")) == "scope_missing", path
    # Sessions, anon and service_role are not scoped.
    for claims in ({"role": "anon"}, {"role": "service_role"}):
        assert outcome(db, claims, None, path="/rpc/ctf_submit") is None


def test_undeclared_objects_are_refused_to_keys(db, keys, owner):
    db.execute(
        "create function api.zz_undeclared() returns int language sql as 'select 1';"
        " grant execute on function api.zz_undeclared() to authenticated"
    )
    token = keys(*[r["scope"] for r in db.execute("select scope from accounts.api_scopes")])
    err = outcome(db, token, "select api.zz_undeclared()", path="/rpc/zz_undeclared")
    assert hint(err) == "scope_missing"
    assert json.loads(err.diag.message_detail) == {"object": "api.zz_undeclared", "scope": None}
    assert (
        outcome(db, owner.claims, "select api.zz_undeclared()", path="/rpc/zz_undeclared") is None
    )


def test_definer_rpcs_check_the_scope_however_they_are_reached(db, keys):
    """Without a request path (SQL run directly), every definer RPC refuses a key token
    lacking its scope: the check inside require_user / require_scope."""
    declared = declarations(db)
    token = keys("billing:read")
    unchecked = []
    for obj in api_objects(db):
        decl = declared[obj.name]
        if obj.kind != "function" or not obj.definer or decl["scope"] == "billing:read":
            continue
        err = outcome(db, token, call_sql(obj))
        if hint(err) != "scope_missing":
            unchecked.append((obj.name, hint(err) or (err and err.sqlstate)))
    assert not unchecked, f"definer RPCs that do not check the key's scope: {unchecked}"


def test_original_attacks_are_refused(db, keys, owner):
    """A learning:courses:read key could update the profile, create a CTF team, start a
    conversation and delete the account; an admin's ctf:scores:read key could grant roles."""
    reader = keys("learning:courses:read")
    other = create_user(db, username="scope_other")
    attacks = [
        (
            "/rpc/accounts_update_my_profile",
            "select api.accounts_update_my_profile(%s::jsonb)",
            (json.dumps({"display_name": "pwned"}),),
        ),
        ("/rpc/ctf_create_team", "select api.ctf_create_team(gen_random_uuid(), 'pwned')", None),
        (
            "/rpc/community_start_conversation",
            "select api.community_start_conversation(array[%s::uuid], 'hello')",
            (other.id,),
        ),
        (
            "/rpc/accounts_delete_my_account",
            "select api.accounts_delete_my_account('scope_owner')",
            None,
        ),
    ]
    for path, statement, params in attacks:
        for via in (path, ""):  # through PostgREST, and SQL reaching the definer directly
            err = outcome(db, reader, statement, path=via, params=params)
            assert hint(err) == "scope_missing", (path, via, err)
    profile = db.execute(
        "select display_name from accounts.profiles where id = %s", (owner.id,)
    ).fetchone()
    assert profile["display_name"] != "pwned"
    assert db.execute("select 1 from auth.users where id = %s", (owner.id,)).fetchone()
    # With the right scope the same key shape works (the refusal is the scope, nothing else).
    writer = keys("profile:write")
    ok = outcome(
        db,
        writer,
        "select api.accounts_update_my_profile(%s::jsonb)",
        path="/rpc/accounts_update_my_profile",
        params=(json.dumps({"display_name": "Ada"}),),
    )
    assert ok is None, ok

    admin = create_user(db, username="scope_admin")
    db.execute("insert into accounts.user_roles (user_id, role) values (%s, 'admin')", (admin.id,))
    admin = refresh(db, admin)
    scores = keys("ctf:scores:read", who=admin)
    grant = "select api.accounts_grant_role(%s, 'admin', 'via key')"
    for via in ("/rpc/accounts_grant_role", ""):
        err = outcome(db, scores, grant, path=via, params=(other.id,))
        assert hint(err) == "scope_missing", (via, err)
    assert not db.execute(
        "select 1 from accounts.user_roles where user_id = %s and role = 'admin'", (other.id,)
    ).fetchone()
    # Even a key holding every scope cannot grant roles: session only.
    every = keys(
        *[r["scope"] for r in db.execute("select scope from accounts.api_scopes")], who=admin
    )
    assert hint(outcome(db, every, grant, path="", params=(other.id,))) == "scope_missing"
    assert (
        outcome(db, admin.claims, grant, path="/rpc/accounts_grant_role", params=(other.id,))
        is None
    )


def test_revoked_or_expired_key_stops_at_once_for_exchanged_tokens(db, owner):
    for stop in ("revoke", "expire"):
        key = create_key(db, owner, ["ctf:scores:read", "profile:read"])
        token = key_claims(owner, key)  # exchanged before the key stops
        read = sql.SQL("select api.accounts_get_my_account()")
        assert outcome(db, token, read, path="/rpc/accounts_get_my_account") is None
        if stop == "revoke":
            with as_caller(db, owner.claims):
                db.execute("select api.accounts_revoke_api_key(%s)", (key["id"],))
            code = "edge_api_key_revoked"
        else:
            db.execute(
                "update accounts.api_keys set expires_at = now() - interval '1 second'"
                " where id = %s",
                (key["id"],),
            )
            code = "edge_api_key_expired"
        for path in ("/rpc/ctf_get_scoreboard", "/ctf_teams", "/functions/v1/me", ""):
            err = outcome(db, token, read if path == "" else None, path=path, method="GET")
            assert hint(err) == code, (stop, path, err)
            assert err.sqlstate == "42501"


def test_a_deleted_key_or_a_forged_key_id_is_refused(db, owner, keys):
    token = keys("ctf:scores:read")
    forged = {**token, "api_key_id": "00000000-0000-4000-8000-000000000000"}
    assert hint(outcome(db, forged, None, path="/ctf_teams", method="GET")) == (
        "edge_api_key_invalid"
    )
    other = create_user(db, username="scope_thief")
    stolen = {**token, "sub": other.id}  # a key id presented for another user
    assert hint(outcome(db, stolen, None, path="/ctf_teams", method="GET")) == (
        "edge_api_key_invalid"
    )
    assert hint(outcome(db, {**token, "api_key_id": "x"}, None, path="/ctf_teams")) == (
        "edge_api_key_invalid"
    )


def test_as_caller_runs_the_pre_request_function_the_database_names(db_url):
    """as_caller reads pgrst.db_pre_request from the authenticator role, as PostgREST does;
    where none is set (or the function does not exist there) it runs none."""
    from flagship.database import connect, pre_request_function

    with connect(db_url) as conn:
        assert pre_request_function(conn) == "private.pre_request"
    with connect(db_url) as conn:
        conn.execute("alter role authenticator reset pgrst.db_pre_request")
        assert pre_request_function(conn) is None
        conn.rollback()
    with connect(db_url) as conn:
        conn.execute("alter role authenticator set pgrst.db_pre_request = 'private.no_such_fn'")
        assert pre_request_function(conn) is None
        conn.rollback()


def test_an_api_function_calling_another_needs_both_scopes(db, keys):
    """api.ctf_get_ctftime_feed calls api.ctf_get_scoreboard; an api function that calls a
    session-only one must not lend it its own scope."""
    db.execute(
        "create function api.zz_outer() returns void language plpgsql security definer"
        " set search_path = '' as $$ begin perform api.accounts_delete_my_account('x'); end $$;"
        " grant execute on function api.zz_outer() to authenticated;"
        " insert into accounts.api_object_scopes (object, kind, access, scope)"
        " values ('api.zz_outer', 'function', 'scope', 'profile:read')"
    )
    token = keys("profile:read")
    err = outcome(db, token, "select api.zz_outer()", path="/rpc/zz_outer")
    assert hint(err) == "scope_missing"
    assert json.loads(err.diag.message_detail) == {
        "object": "api.accounts_delete_my_account",
        "scope": None,
    }


def test_every_api_view_checks_the_key_scope_however_it_is_read(db, keys):
    """The pre-request step sees only a request's top-level object; each view's own WHERE
    (private.key_may_read) refuses a key lacking the view's read scope when it is read from
    SQL, inside a function, or embedded (`select=*,other_view(*)`) — and lets it with it."""
    declared = declarations(db)
    other = keys("billing:read")
    by_scope: dict[str, dict] = {}
    unchecked, blocked = [], []
    for obj in api_objects(db):
        if obj.kind != "view":
            continue
        decl = declared[obj.name]
        read = f"select * from {obj.name} limit 1"
        if decl["access"] == "any_key":
            if outcome(db, other, read, method="GET") is not None:
                blocked.append(obj.name)
            continue
        if decl["scope"] != "billing:read":
            err = outcome(db, other, read, method="GET")
            if hint(err) != "scope_missing":
                unchecked.append((obj.name, hint(err) or (err and err.diag.sqlstate)))
        if decl["access"] == "scope":
            if decl["scope"] not in by_scope:
                by_scope[decl["scope"]] = keys(decl["scope"])
            token = by_scope[decl["scope"]]
            err = outcome(db, token, read, method="GET")
            if hint(err) == "scope_missing":
                blocked.append(obj.name)
    assert not unchecked, f"api views a key reads without their scope: {unchecked}"
    assert not blocked, f"api views refused to a key that holds their scope: {blocked}"


def test_an_embedded_view_needs_its_own_scope(db, keys):
    """What embedding runs: the top-level view joined with another one. The key holds the
    first view's scope only, so the second one refuses it (and names itself)."""
    declared = declarations(db)
    assert declared["api.ctf_teams"]["scope"] != declared["api.ctf_submissions"]["scope"]
    token = keys(declared["api.ctf_teams"]["scope"])
    alone = "select t.id from api.ctf_teams as t limit 1"
    assert outcome(db, token, alone, path="/ctf_teams", method="GET") is None
    embedded = (
        "select (select count(*) from api.ctf_teams) as teams,"
        " (select count(*) from api.ctf_submissions) as submissions"
    )
    err = outcome(db, token, embedded, path="/ctf_teams", method="GET")
    assert hint(err) == "scope_missing"
    assert json.loads(err.diag.message_detail)["object"] == "api.ctf_submissions"
