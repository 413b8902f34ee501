"""/rest/v1 reads against PostgREST's documented grammar (docs "Tables and Views")."""

from __future__ import annotations

import pytest


def ids(response) -> list[int]:
    assert response.status_code in (200, 206), response.text
    return [row["id"] for row in response.json()]


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("id", "eq.2", [2]),
        ("id", "neq.2", [1, 3, 4]),
        ("id", "gt.2", [3, 4]),
        ("id", "gte.2", [2, 3, 4]),
        ("id", "lt.2", [1]),
        ("id", "lte.2", [1, 2]),
        ("name", "like.*ada", [4]),
        ("name", "ilike.*ADA*", [1, 4]),
        ("name", "match.^D", [4]),
        ("name", "imatch.^d", [4]),
        ("id", "in.(1,3)", [1, 3]),
        ("name", 'in.("Ada","Cy")', [1, 3]),
        ("born", "is.null", [3]),
        ("active", "is.true", [1, 4]),
        ("active", "is.false", [2]),
        ("active", "is.unknown", [3]),
        ("active", "isdistinct.true", [2, 3]),
        ("tags", "cs.{poetry}", [1, 4]),
        ("tags", "cd.{poetry,math,crime}", [1, 2, 3, 4]),
        ("tags", "ov.{crime,math}", [1, 2]),
        ("period", "sl.[1900-01-01,1901-01-01)", [1]),
        ("period", "sr.[1900-01-01,1901-01-01)", [2]),
        ("period", "nxr.[1900-01-01,1901-01-01)", [1]),
        ("period", "nxl.[1900-01-01,1901-01-01)", [2]),
        ("period", "adj.[1850-01-01,1860-01-01)", [1]),
        ("period", "ov.[1845-01-01,1846-01-01)", [1]),
        ("id", "not.eq.2", [1, 3, 4]),
        ("id", "not.in.(1,2)", [3, 4]),
        ("born", "not.is.null", [1, 2, 4]),
        ("name", "like(any).{A*,B*}", [1, 2]),
        ("name", "ilike(all).{*d*,*a*}", [1, 4]),
        ("id", "eq(any).{1,4}", [1, 4]),
        ("id", "gt(all).{1,2}", [3, 4]),
        ("data->>city", "eq.London", [1, 4]),
        ("data->n->>k", "eq.1", [1]),
        ("score", "gte.7", [1, 4]),
    ],
)
def test_horizontal_filters(rest, column, value, expected):
    assert ids(rest.get("/authors", params={column: value, "order": "id"})) == expected


@pytest.mark.parametrize(
    ("op", "query", "expected"),
    [
        ("fts", "cats & london", ["The cats of London"]),
        ("plfts", "cats london", ["The cats of London"]),
        ("phfts", "cats of london", ["The cats of London"]),
        ("wfts", '"murder in paris" or engines', ["Notes on engines", "Murder in Paris"]),
        ("fts(english)", "engine", ["Notes on engines"]),
    ],
)
def test_full_text_search(rest, op, query, expected):
    r = rest.get("/books", params={"search": f"{op}.{query}", "select": "title", "order": "id"})
    assert r.status_code == 200, r.text
    assert sorted(row["title"] for row in r.json()) == sorted(expected)


def test_logic_trees(rest):
    r = rest.get("/authors", params={"or": "(id.eq.1,and(id.gt.2,active.is.true))", "order": "id"})
    assert ids(r) == [1, 4]
    r = rest.get("/authors", params={"not.or": "(id.eq.1,id.eq.2)", "order": "id"})
    assert ids(r) == [3, 4]
    r = rest.get("/authors", params={"and": "(id.gte.2,active.not.is.false)", "order": "id"})
    assert ids(r) == [3, 4]
    r = rest.get("/authors", params={"or": '(name.eq."Dee ada",name.in.("Bob","x,y"))'})
    assert sorted(ids(r)) == [2, 4]


def test_select_columns_aliases_casts_and_json_paths(rest):
    r = rest.get(
        "/authors",
        params={
            "select": "id,full:name,score::text,data->>city,town:data->city,k:data->n->k",
            "id": "eq.1",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json() == [
        {"id": 1, "full": "Ada", "score": "10.5", "city": "London", "town": "London", "k": 1}
    ]


def test_order_with_nulls(rest):
    assert ids(rest.get("/authors", params={"order": "born.desc.nullslast"})) == [4, 2, 1, 3]
    assert ids(rest.get("/authors", params={"order": "born.asc.nullsfirst"})) == [3, 1, 2, 4]
    assert ids(rest.get("/authors", params={"order": "active.desc,id.desc"}))[0] == 3  # nulls first
    assert ids(rest.get("/authors", params={"order": "data->>city.asc,id"})) == [1, 4, 2, 3]


def test_limit_offset_and_range_header(rest):
    assert ids(rest.get("/authors", params={"order": "id", "limit": 2, "offset": 1})) == [2, 3]
    r = rest.get("/authors", params={"order": "id"}, headers={"Range": "1-2"})
    assert ids(r) == [2, 3]
    assert r.headers["content-range"] == "1-2/*"
    r = rest.get("/authors", params={"order": "id"}, headers={"Range": "2-1"})
    assert r.status_code == 416 and r.json()["code"] == "PGRST103"
    r = rest.get("/authors", params={"limit": "-1"})
    assert r.status_code == 416 and r.json()["code"] == "PGRST103"


@pytest.mark.parametrize("mode", ["exact", "planned", "estimated"])
def test_counts_and_content_range(rest, mode):
    r = rest.get(
        "/authors", params={"order": "id", "limit": 2}, headers={"Prefer": f"count={mode}"}
    )
    assert r.status_code == 206, r.text
    start, total = r.headers["content-range"].split("/")
    assert start == "0-1"
    assert int(total) >= 1 if mode == "planned" else int(total) == 4
    assert f"count={mode}" in r.headers["preference-applied"]


def test_count_full_page_is_200_and_offset_past_end_is_416(rest):
    r = rest.get("/authors", headers={"Prefer": "count=exact"})
    assert r.status_code == 200 and r.headers["content-range"] == "0-3/4"
    r = rest.get("/authors", params={"offset": 10}, headers={"Prefer": "count=exact"})
    assert r.status_code == 416
    assert r.json()["details"] == "An offset of 10 was requested, but there are only 4 rows."
    r = rest.get("/authors", params={"id": "eq.99"}, headers={"Prefer": "count=exact"})
    assert r.status_code == 200 and r.headers["content-range"] == "*/0" and r.json() == []


def test_single_object(rest):
    obj = {"Accept": "application/vnd.pgrst.object+json"}
    r = rest.get("/authors", params={"id": "eq.1", "select": "id,name"}, headers=obj)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.pgrst.object+json")
    assert r.json() == {"id": 1, "name": "Ada"}
    for params, n in (({"id": "gt.1"}, 3), ({"id": "eq.99"}, 0)):
        r = rest.get("/authors", params=params, headers=obj)
        assert r.status_code == 406
        assert r.json() == {
            "code": "PGRST116",
            "details": f"The result contains {n} rows",
            "hint": None,
            "message": "Cannot coerce the result to a single JSON object",
        }


def test_csv(rest):
    r = rest.get(
        "/authors",
        params={"select": "id,name,active", "order": "id", "limit": 2},
        headers={"Accept": "text/csv"},
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert r.text == "id,name,active\n1,Ada,true\n2,Bob,false"


def test_unknown_media_type(rest):
    r = rest.get("/authors", headers={"Accept": "application/xml"})
    assert r.status_code == 406
    assert r.json()["code"] == "PGRST107"


def test_head(rest):
    r = rest.head("/authors", headers={"Prefer": "count=exact"})
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["content-range"] == "0-3/4"


def test_views_read_like_tables(rest):
    r = rest.get("/library", params={"writer": "eq.1", "order": "id", "select": "title"})
    assert r.json() == [{"title": "The cats of London"}, {"title": "Notes on engines"}]


def test_parse_errors_are_pgrst100(rest):
    for params in (
        {"id": "eqq.1"},
        {"id": "1"},
        {"or": "id.eq.1"},
        {"order": "id.sideways"},
        {"select": "id,(name"},
    ):
        r = rest.get("/authors", params=params)
        assert r.status_code == 400, (params, r.text)
        body = r.json()
        assert body["code"] == "PGRST100", body
        assert set(body) == {"code", "message", "details", "hint"}


def test_unknown_table_and_column(rest):
    r = rest.get("/autors")
    assert r.status_code == 404
    assert r.json() == {
        "code": "PGRST205",
        "details": None,
        "hint": "Perhaps you meant the table 'rest_conformance.authors'",
        "message": "Could not find the table 'rest_conformance.autors' in the schema cache",
    }
    r = rest.get("/authors", params={"select": "nope"})
    assert r.status_code == 400 and r.json()["code"] == "42703"


def test_schema_profiles(rest, gateway):
    r = rest.get("/authors", headers={"Accept-Profile": "private"})
    assert r.status_code == 406
    assert r.json() == {
        "code": "PGRST106",
        "details": None,
        "hint": "Only the following schemas are exposed: api, rest_conformance",
        "message": "Invalid schema: private",
    }
    assert rest.get("/authors").headers["content-profile"] == "rest_conformance"
    # The default schema is the first one: `api` has no `authors`.
    r = rest.get("/authors", headers={"Accept-Profile": "api"})
    assert r.status_code == 404 and r.json()["code"] == "PGRST205"


def test_embedding_many_to_one_and_one_to_many(rest):
    r = rest.get("/books", params={"select": "title,authors(name)", "id": "eq.1"})
    assert r.json() == [{"title": "The cats of London", "authors": {"name": "Ada"}}]
    r = rest.get(
        "/authors",
        params={
            "select": "name,books(title)",
            "id": "in.(1,3)",
            "order": "id",
            "books.order": "title.desc",
            "books.limit": "1",
        },
    )
    assert r.json() == [
        {"name": "Ada", "books": [{"title": "The cats of London"}]},
        {"name": "Cy", "books": []},
    ]
    r = rest.get("/authors", params={"select": "id,books!inner(id)", "books.year": "gt.2000"})
    assert r.json() == [{"id": 4, "books": [{"id": 4}]}]
    r = rest.get("/authors", params={"select": "id,books(id)", "books": "is.null"})
    assert [row["id"] for row in r.json()] == [3]
    r = rest.get(
        "/authors", params={"select": "id,writer:books(id)", "writer": "not.is.null", "order": "id"}
    )
    assert [row["id"] for row in r.json()] == [1, 2, 4]


def test_embedding_through_a_view_follows_its_base_tables_foreign_keys(rest):
    # library.writer is books.author_id renamed: the view keeps the foreign key.
    r = rest.get("/library", params={"select": "title,authors(name)", "id": "eq.3"})
    assert r.status_code == 200, r.text
    assert r.json() == [{"title": "Murder in Paris", "authors": {"name": "Bob"}}]
    r = rest.get("/authors", params={"select": "name,library(title)", "id": "eq.2"})
    assert r.json() == [{"name": "Bob", "library": [{"title": "Murder in Paris"}]}]


def test_embedding_errors(rest):
    r = rest.get("/authors", params={"select": "name,bookz(title)"})
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "PGRST200"
    assert body["message"] == (
        "Could not find a relationship between 'authors' and 'bookz' in the schema cache"
    )
    assert body["hint"] == "Perhaps you meant 'books' instead of 'bookz'."
    r = rest.get("/authors", params={"select": "name", "books.limit": "1"})
    assert r.status_code == 400 and r.json()["code"] == "PGRST108"


def test_ambiguous_embedding_and_disambiguation(rest):
    r = rest.get("/messages", params={"select": "body,people(name)"})
    assert r.status_code == 300
    body = r.json()
    assert body["code"] == "PGRST201"
    assert body["message"] == (
        "Could not embed because more than one relationship was found for 'messages' and 'people'"
    )
    assert {d["cardinality"] for d in body["details"]} == {"many-to-one"}
    assert "people!messages_sender_id_fkey" in body["hint"]
    r = rest.get(
        "/messages",
        params={"select": "body,from:people!messages_sender_id_fkey(name),to:receiver_id(name)"},
    )
    assert r.status_code == 200, r.text
    assert r.json() == [{"body": "hi Ben", "from": {"name": "Ann"}, "to": {"name": "Ben"}}]
    r = rest.get("/people", params={"select": "name,sent:messages!sender_id(body)", "order": "id"})
    assert r.json() == [{"name": "Ann", "sent": [{"body": "hi Ben"}]}, {"name": "Ben", "sent": []}]


def test_missing_apikey_is_refused_as_kong(gateway):
    import httpx

    r = httpx.get(f"{gateway.url}/rest/v1/authors")
    assert r.status_code == 401
    assert r.json() == {"message": "No API key found in request"}
    r = httpx.get(f"{gateway.url}/rest/v1/authors", headers={"apikey": "nope"})
    assert r.status_code == 401
    assert r.json() == {"message": "Invalid authentication credentials"}


def test_openapi(gateway):
    """The root document of a chosen profile: OpenAPI 3.1 from that schema's catalogue."""
    import httpx

    r = httpx.get(
        f"{gateway.url}/rest/v1/",
        headers={"apikey": gateway.anon_key, "Accept-Profile": "rest_conformance"},
    )
    assert r.status_code == 200
    assert r.headers["content-profile"] == "rest_conformance"
    doc = r.json()
    assert doc["openapi"] == "3.1.0"
    paths = doc["paths"]
    assert "/rest/v1/authors" in paths and "/rest/v1/rpc/add" in paths
    assert set(paths["/rest/v1/authors"]) == {"get", "post", "patch", "delete"}
    assert "get" in paths["/rest/v1/rpc/add"]  # immutable: callable with GET
    assert "get" not in paths["/rest/v1/rpc/add_note"]
    assert "post" not in paths["/rest/v1/vault"]  # select only, to service_role
    schemas = doc["components"]["schemas"]
    props = schemas["authors"]["properties"]
    assert props["name"]["description"] == "Full name."
    assert props["id"] == {"type": "integer", "format": "int32", "x-pg-type": "integer"}
    assert schemas["authors"]["description"] == "Writers."
    assert paths["/rest/v1/rpc/add"]["post"]["summary"] == "Adds two numbers"
    assert schemas["add_args"]["required"] == ["a"]  # b has a default
    assert schemas["add_result"]["type"] == "integer"
    # Overloads share one path; a single unnamed json argument takes the whole body.
    assert len(schemas["twin_args"]["oneOf"]) == 2
    assert "properties" not in schemas["echo_args"]


def test_a_nul_byte_in_a_value_is_400_not_503(rest):
    """Found by schemathesis over the 3.1 document: psycopg refuses NUL before sending."""
    r = rest.get("/rpc/add", params={"a": "1", "b": "1"})
    assert r.status_code == 200
    r = rest.get("/authors", params={"name": "eq.a\x00b"})
    assert r.status_code == 400
    assert r.json()["code"] == "22021"
