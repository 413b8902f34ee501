"""The one OpenAPI 3.1 document of the platform, and its committed copy.

`build(conn, edge_spec)` joins the /rest/v1 part generated from the database
(`flagship.reference.openapi`) with /auth/v1, /storage/v1 and /functions/v1
(`flagship.reference.surfaces`). `render` is deterministic (sorted keys, two-space indent,
one trailing newline), so docs/reference/openapi.json can be committed and compared:
`flagship reference build` writes it, `flagship reference check` and
tests/guards/test_api_reference_doc.py fail when it is stale.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import psycopg

from flagship import config
from flagship.reference import catalogue, openapi, surfaces

DOC = config.ROOT / "docs" / "reference" / "openapi.json"
LOCAL_SERVER = "http://127.0.0.1:54321"
SECURITY_SCHEMES = {
    "apikey": {
        "type": "apiKey",
        "in": "header",
        "name": "apikey",
        "description": (
            "The project's anon key (or the service role key): required on /rest/v1 and "
            "/auth/v1, as Supabase's API gateway asks for it."
        ),
    },
    "userSession": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A user's access token from /auth/v1 (`role: authenticated`).",
    },
    "apiKeyToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": (
            "A short-lived JWT exchanged for an API key (`fsk_...`) at "
            "`POST /functions/v1/api-keys/token`; it may use only the objects its key's "
            "scopes allow (`x-flagship-scope` of each operation)."
        ),
    },
    "serviceRole": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "The service role key as bearer token: servers only, bypasses RLS.",
    },
}
TAG_TEXT = {
    **openapi.DOMAINS,
    "auth": "Supabase Auth (/auth/v1): sign-up, sign-in, sessions, users.",
    "storage": "Supabase Storage (/storage/v1): buckets, objects, signed URLs, images.",
    "reference": "This document.",
}


def _merge(into: dict[str, Any], part: dict[str, Any], what: str) -> None:
    clash = sorted(set(into) & set(part))
    if clash:
        raise ValueError(f"{what} defined twice in the reference: {clash[:5]}")
    into.update(part)


def build(
    conn: psycopg.Connection, edge_spec: dict[str, Any], schema: str = "api"
) -> dict[str, Any]:
    """The whole document, from the database `conn` is connected to (dict rows) and the
    edge's own document (`surfaces.edge_spec`, or the mounted app's `openapi()`)."""
    cat = catalogue.load(conn, schema)
    rest = openapi.rest_part(cat)
    auth, storage = surfaces.auth_part(), surfaces.storage_part()
    edge = surfaces.edge_part(edge_spec)
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for part in (rest, auth, storage, edge):
        _merge(paths, part["paths"], "paths")
        _merge(
            schemas,
            part["components"]["schemas"] if "components" in part else part["schemas"],
            "schemas",
        )
    tags = sorted(
        set(rest["tags"])
        | set(auth["tags"])
        | set(storage["tags"])
        | set(edge["tags"])
        | {"reference"}
    )
    components = {**rest["components"], "schemas": schemas, "securitySchemes": SECURITY_SCHEMES}
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "Flagship API",
            "version": "1",
            "summary": "Courses, capture-the-flag competitions and a community, on Supabase.",
            "description": (
                "One document for the whole platform, generated from the migrated database "
                "and the code that serves each part: `/rest/v1` (PostgREST over the `api` "
                "schema), `/auth/v1` (Supabase Auth), `/storage/v1` (Supabase Storage) and "
                "`/functions/v1` (the edge). API errors carry their stable code in `hint` "
                "(`x-flagship-error-codes` lists them all); `x-flagship-scope` on each "
                "operation is what an API key token needs."
            ),
        },
        "servers": servers(LOCAL_SERVER),
        "tags": [
            {"name": t, "description": TAG_TEXT.get(t, f"Edge functions: {t}.")} for t in tags
        ],
        "paths": paths,
        "components": components,
        "x-flagship-error-codes": {
            c.code: {
                "sqlstate": c.sqlstate,
                "http_status": c.http_status,
                "description": c.description,
            }
            for c in cat.errors.values()
        },
        "x-flagship-result-shapes": {
            "declared": sum(1 for f in cat.functions if f.shape is not None),
            "undeclared": sorted(
                f.name
                for f in cat.functions
                if f.shape is None and cat.type(f.return_type).typname in ("json", "jsonb")
            ),
        },
    }


def servers(origin: str) -> list[dict[str, str]]:
    return [{"url": origin, "description": "The project URL (every path of the API)."}]


def with_server(doc: dict[str, Any], origin: str) -> dict[str, Any]:
    """`doc` with `servers` naming `origin` (the gateway answers with the request's host)."""
    out = copy.copy(doc)
    out["servers"] = servers(origin)
    return out


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(text: str) -> bool:
    """Write the committed copy; True when it changed."""
    if DOC.exists() and DOC.read_text() == text:
        return False
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)
    return True
