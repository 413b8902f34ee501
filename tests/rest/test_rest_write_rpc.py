"""/rest/v1 writes, RPC, errors and request context, against PostgREST's documentation."""

from __future__ import annotations

import time

import httpx
import jwt
import psycopg

from flagship import config

REP = {"Prefer": "return=representation"}


def test_insert_return_preferences(rest):
    r = rest.post("/notes", json={"body": "minimal"})
    assert r.status_code == 201 and r.content == b""
    r = rest.post("/notes", json={"body": "headers"}, headers={"Prefer": "return=headers-only"})
    assert r.status_code == 201
    assert r.headers["location"].startswith("/notes?id=eq.")
    r = rest.post(
        "/notes",
        json=[{"body": "r1"}, {"body": "r2"}],
        headers=REP,
        params={"select": "body,stamp"},
    )
    assert r.status_code == 201
    assert r.json() == [
        {"body": "r1", "stamp": "default-stamp"},
        {"body": "r2", "stamp": "default-stamp"},
    ]
    assert r.headers["preference-applied"] == "return=representation"


def test_insert_keys_columns_and_missing_default(rest):
    rows = [{"body": "m1", "stamp": "given"}, {"body": "m2"}]
    r = rest.post("/notes", json=rows, headers=REP)
    assert r.status_code == 400
    assert r.json()["code"] == "PGRST102" and r.json()["message"] == "All object keys must match"
    r = rest.post(
        "/notes", json=rows, headers=REP, params={"select": "body,stamp", "columns": "body,stamp"}
    )
    assert r.json() == [{"body": "m1", "stamp": "given"}, {"body": "m2", "stamp": None}]
    r = rest.post(
        "/notes",
        json=[{"body": "d1"}, {"body": "d2"}],
        params={"select": "stamp", "columns": "body,stamp"},
        headers={"Prefer": "return=representation,missing=default"},
    )
    assert r.json() == [{"stamp": "default-stamp"}, {"stamp": "default-stamp"}]
    r = rest.post(
        "/notes",
        json=[{"body": "d3"}, {"body": "d4", "stamp": "x"}],
        params={"columns": "body,stamp"},
        headers={"Prefer": "return=representation,missing=default"},
    )
    assert r.status_code == 400 and r.json()["code"] == "PGRST127"


def test_csv_and_form_bodies(rest):
    csv_body = 'body,stamp\ncsv1,NULL\n"csv, two",s2\n'
    r = rest.post(
        "/notes",
        content=csv_body.encode(),
        params={"select": "body,stamp"},
        headers={"Content-Type": "text/csv", **REP},
    )
    assert r.status_code == 201, r.text
    assert r.json() == [{"body": "csv1", "stamp": None}, {"body": "csv, two", "stamp": "s2"}]
    r = rest.post(
        "/rpc/add",
        content=b"a=4&b=5",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200 and r.json() == 9
    r = rest.post("/notes", content=b"<note/>", headers={"Content-Type": "text/xml"})
    assert r.status_code == 400
    assert r.json()["message"] == "Content-Type not acceptable: text/xml"


def test_upsert_merge_and_ignore(rest):
    rest.post("/notes", json={"id": 900, "body": "up1"})
    r = rest.post(
        "/notes",
        json={"id": 900, "body": "up2"},
        headers={"Prefer": "return=representation,resolution=merge-duplicates"},
    )
    assert r.status_code == 201 and r.json()[0]["body"] == "up2"
    r = rest.post(
        "/notes",
        json={"id": 900, "body": "up3"},
        headers={"Prefer": "return=representation,resolution=ignore-duplicates"},
    )
    assert r.json() == []
    r = rest.post(
        "/notes",
        json={"id": 901, "body": "up2"},
        params={"on_conflict": "body"},
        headers={"Prefer": "return=representation,resolution=merge-duplicates"},
    )
    # The conflict on body merged every given column into the existing row, id included.
    assert r.json() == [{"id": 901, "body": "up2", "stamp": "default-stamp"}]
    assert rest.get("/notes", params={"id": "eq.900"}).json() == []
    r = rest.put("/notes", params={"id": "eq.902"}, json={"id": 902, "body": "put"}, headers=REP)
    assert r.status_code == 201 and r.json()[0]["body"] == "put"
    r = rest.put("/notes", params={"id": "eq.903"}, json={"id": 904, "body": "x"})
    assert r.status_code == 400 and r.json()["code"] == "PGRST115"


def test_conflict_status_and_body(rest):
    rest.post("/notes", json={"id": 950, "body": "dup"})
    r = rest.post("/notes", json={"id": 951, "body": "dup"})
    assert r.status_code == 409
    body = r.json()
    assert body["code"] == "23505"
    assert "duplicate key value violates unique constraint" in body["message"]
    assert "already exists" in body["details"]


def test_update_and_delete(rest):
    rest.post("/notes", json={"id": 960, "body": "before"})
    r = rest.patch("/notes", params={"id": "eq.960"}, json={"body": "after"})
    assert r.status_code == 204
    r = rest.patch("/notes", params={"id": "eq.960"}, json={"stamp": "s"}, headers=REP)
    assert r.status_code == 200 and r.json() == [{"id": 960, "body": "after", "stamp": "s"}]
    r = rest.delete("/notes", params={"id": "eq.960"}, headers=REP)
    assert r.status_code == 200 and r.json()[0]["id"] == 960
    r = rest.delete("/notes", params={"id": "eq.960"})
    assert r.status_code == 204


def test_update_or_delete_without_filter_is_refused_as_safeupdate(rest):
    for method, verb in (("PATCH", "UPDATE"), ("DELETE", "DELETE")):
        r = rest.request(method, "/notes", json={"body": "all"} if method == "PATCH" else None)
        assert r.status_code == 400
        assert r.json() == {
            "code": "21000",
            "details": None,
            "hint": None,
            "message": f"{verb} requires a WHERE clause",
        }
    assert rest.get("/notes", params={"body": "eq.all"}).json() == []


def test_single_object_write_that_matches_many_rolls_back(rest):
    r = rest.patch(
        "/authors",
        params={"id": "gt.0"},
        json={"score": 0},
        headers={"Accept": "application/vnd.pgrst.object+json", **REP},
    )
    assert r.status_code == 406 and r.json()["code"] == "PGRST116"
    assert rest.get("/authors", params={"id": "eq.1"}).json()[0]["score"] == 10.5


def test_unknown_body_column_and_bad_json(rest):
    r = rest.post("/notes", json={"nope": 1})
    assert r.status_code == 400
    assert r.json()["code"] == "PGRST204"
    assert r.json()["message"] == "Could not find the 'nope' column of 'notes' in the schema cache"
    r = rest.post("/notes", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "PGRST102"


def test_rpc_post_and_get(rest):
    assert rest.post("/rpc/add", json={"a": 2, "b": 3}).json() == 5
    assert rest.get("/rpc/add", params={"a": 2}).json() == 3
    r = rest.get(
        "/rpc/authors_born_after",
        params={"year": 1900, "select": "id,name", "order": "id.desc", "active": "is.true"},
    )
    assert r.json() == [{"id": 4, "name": "Dee ada"}]
    r = rest.post(
        "/rpc/authors_born_after",
        json={"year": 1800},
        params={"limit": 1, "order": "id"},
        headers={"Prefer": "count=exact"},
    )
    assert r.status_code == 206 and r.headers["content-range"] == "0-0/3"
    assert rest.post("/rpc/echo", json={"any": ["thing"]}).json() == {"any": ["thing"]}
    r = rest.post("/rpc/echo_object", json={"x": 1}, headers={"Prefer": "params=single-object"})
    assert r.json() == {"x": 1}


def test_rpc_void_returns_204(rest):
    r = rest.post("/rpc/fail", json={"kind": "none"})
    assert r.status_code == 204


def test_rpc_writes_in_read_only_transactions_are_405(rest):
    r = rest.get("/rpc/add_note", params={"body": "via get"})
    assert r.status_code == 405
    assert r.json()["code"] == "25006"
    assert rest.post("/rpc/add_note", json={"body": "via post"}).status_code == 200
    who = rest.get("/rpc/whoami").json()
    assert who["read_only"] == "on"
    assert rest.post("/rpc/whoami").json()["read_only"] == "on"  # stable: read only too


def test_unknown_function_pgrst202(rest):
    r = rest.post("/rpc/ad", json={"a": 1, "b": 2})
    assert r.status_code == 404
    assert r.json() == {
        "code": "PGRST202",
        "details": "Searched for the function rest_conformance.ad with parameters a, b or with "
        "a single unnamed json/jsonb parameter, but no matches were found in the schema cache.",
        "hint": "Perhaps you meant to call the function rest_conformance.add",
        "message": "Could not find the function rest_conformance.ad(a, b) in the schema cache",
    }
    r = rest.post("/rpc/add", json={"a": 1, "c": 2})
    assert r.status_code == 404
    assert r.json()["message"] == (
        "Could not find the function rest_conformance.add(a, c) in the schema cache"
    )
    assert r.json()["hint"] == "Perhaps you meant to call the function rest_conformance.add(a, b)"


def test_database_errors_map_to_statuses(rest):
    r = rest.post("/rpc/fail", json={"kind": "pt"})
    assert r.status_code == 402
    assert r.json() == {"code": "PT402", "details": "d", "hint": "h", "message": "pay first"}
    r = rest.post("/rpc/fail", json={"kind": "raise"})
    assert r.status_code == 400 and r.json()["code"] == "P0001"
    r = rest.post("/rpc/fail", json={"kind": "unique"})
    assert r.status_code == 409 and r.json()["code"] == "23505"
    r = rest.get("/rpc/add", params={"a": "x"})
    assert r.status_code == 400 and r.json()["code"] == "22P02"


def test_response_status_and_headers_gucs(rest):
    r = rest.post("/rpc/teapot")
    assert r.status_code == 418
    assert r.headers["x-brew"] == "earl grey"
    assert r.json() == "short and stout"


def test_request_context_and_pre_request(rest, gateway):
    claims = {
        "sub": "00000000-0000-0000-0000-000000000042",
        "role": "authenticated",
        "aud": "authenticated",
        "iss": config.Settings.from_env().jwt_issuer,
        "exp": int(time.time()) + 60,
    }
    token = jwt.encode(claims, config.Settings.from_env().jwt_secret, algorithm="HS256")
    r = rest.get(
        "/rpc/whoami",
        headers={"Authorization": f"Bearer {token}", "X-Probe": "p", "Cookie": "flavour=mint"},
    )
    assert r.json() == {
        "role": "authenticated",
        "sub": claims["sub"],
        "method": "GET",
        "path": "/rpc/whoami",
        "header": "p",
        "cookie": "mint",
        "pre": "ran",
        "read_only": "on",
    }
    assert rest.get("/rpc/whoami").json()["role"] == "anon"
    r = rest.get("/rpc/whoami", headers={"X-Block": "yes"})
    assert r.status_code == 403
    assert r.json()["message"] == "blocked by the pre-request function"


def test_jwt_errors(rest):
    secret = config.Settings.from_env().jwt_secret
    expired = jwt.encode({"role": "anon", "exp": int(time.time()) - 100}, secret, algorithm="HS256")
    r = rest.get("/authors", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401
    assert r.json() == {"code": "PGRST303", "details": None, "hint": None, "message": "JWT expired"}
    assert r.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    forged = jwt.encode(
        {"role": "service_role", "exp": int(time.time()) + 100},
        "another-secret-of-at-least-thirty-two-bytes",
        algorithm="HS256",
    )
    r = rest.get("/authors", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401 and r.json()["code"] == "PGRST301"
    r = rest.get("/authors", headers={"Authorization": "Bearer abc"})
    assert r.status_code == 401
    assert r.json()["message"] == "Expected 3 parts in JWT; got 1"


def test_permission_denied_is_401_for_anon_and_403_for_users(rest, gateway):
    r = rest.get("/vault")
    assert r.status_code == 401
    assert r.json()["code"] == "42501"
    assert r.headers["www-authenticate"] == "Bearer"
    settings = config.Settings.from_env()
    claims = {
        "sub": "00000000-0000-0000-0000-000000000042",
        "role": "authenticated",
        "aud": "authenticated",
        "iss": settings.jwt_issuer,
        "exp": int(time.time()) + 60,
    }
    token = jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
    r = rest.get("/vault", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403 and r.json()["code"] == "42501"
    service = {"Authorization": f"Bearer {gateway.service_key}", "apikey": gateway.service_key}
    r = rest.get("/vault", headers=service)
    assert r.status_code == 200 and r.json() == [{"id": 1}]


def test_schema_reload_on_notify(gateway, gateway_db, rest):
    admin = gateway_db[0]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("create table rest_conformance.late (id int primary key)")
        conn.execute("grant select on rest_conformance.late to anon")
        assert rest.get("/late").status_code == 404
        conn.execute("notify pgrst, 'reload schema'")
    deadline = time.monotonic() + 10
    while rest.get("/late").status_code != 200:
        assert time.monotonic() < deadline, "the schema cache did not reload"
        time.sleep(0.1)


def test_cors_preflight_and_routes(gateway):
    origin = "http://127.0.0.1:3000"
    r = httpx.options(
        f"{gateway.url}/rest/v1/authors",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "apikey, authorization, prefer, "
            "x-client-info, content-profile, range, x-upsert",
        },
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == origin
    allowed = r.headers["access-control-allow-headers"].lower()
    for header in (
        "apikey",
        "authorization",
        "x-client-info",
        "prefer",
        "range",
        "content-profile",
        "accept-profile",
        "x-upsert",
    ):
        assert header in allowed
    r = httpx.options(
        f"{gateway.url}/rest/v1/authors",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in r.headers
    r = httpx.get(f"{gateway.url}/storage/v1/bucket", headers={"apikey": gateway.anon_key})
    assert r.status_code == 200 and r.json() == []  # Storage: anon sees no bucket rows
    r = httpx.get(f"{gateway.url}/nowhere")
    assert r.status_code == 404 and r.json() == {"message": "no Route matched with those values"}
    assert httpx.get(f"{gateway.url}/functions/v1/health").status_code == 200


def test_rpc_get_arguments_are_read_by_their_types(rest):
    r = rest.get(
        "/rpc/describe",
        params=[("doc", '{"a": [1, 2]}'), ("tags", "x,y"), ("tags", 'q"uote'), ("n", "7")],
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"doc": {"a": [1, 2]}, "tags": ["x,y", 'q"uote'], "n": 7}
    r = rest.get("/rpc/describe", params={"doc": "[1]", "tags": "{a,b}"})
    assert r.json() == {"doc": [1], "tags": ["a", "b"], "n": 0}
    r = rest.post("/rpc/describe", json={"doc": {"k": "v"}, "tags": ["t"]})
    assert r.json() == {"doc": {"k": "v"}, "tags": ["t"], "n": 0}


def test_ambiguous_overloads_are_pgrst203(rest):
    r = rest.post("/rpc/twin", json={"a": 1})
    assert r.status_code == 300
    body = r.json()
    assert body["code"] == "PGRST203"
    assert body["message"].startswith("Could not choose the best candidate function between: ")
    assert "rest_conformance.twin(a => integer)" in body["message"]
    assert "rest_conformance.twin(a => text)" in body["message"]


def test_the_roles_own_settings_apply(rest, gateway):
    # `alter role anon set statement_timeout = '3s'` binds API callers, as PostgREST applies
    # the impersonated role's settings (SET ROLE alone would not).
    r = rest.post("/rpc/slow", json={"seconds": 4})
    assert r.status_code == 500
    assert r.json()["code"] == "57014"
    assert "statement timeout" in r.json()["message"]
    service = {"Authorization": f"Bearer {gateway.service_key}", "apikey": gateway.service_key}
    assert rest.post("/rpc/slow", json={"seconds": 0.1}, headers=service).status_code == 200
