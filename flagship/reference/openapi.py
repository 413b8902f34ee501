"""The /rest/v1 part of the OpenAPI 3.1 document, in PostgREST's conventions.

Each view is `GET /rest/v1/<view>` with its columns as filter parameters (PostgREST's
operator syntax), `select`, `order`, `limit`, `offset`, `Range`/`Range-Unit` and `Prefer`,
and POST/PATCH/DELETE where the view is writable and an API role is granted the write. Each
function is `POST /rest/v1/rpc/<fn>` (and `GET` when stable or immutable) with its arguments
as the request and its result as the response. Descriptions are the COMMENTs; the API-key
scope is `x-flagship-scope` and a line of the description; error responses list the
catalogued codes the object can raise, in PostgREST's error body.
"""

from __future__ import annotations

from typing import Any

from flagship.reference import types
from flagship.reference.catalogue import Catalogue, Function, Scope, View

REST = "/rest/v1"
DOMAINS = {
    "accounts": "Profiles, roles, settings, activity, API keys.",
    "learning": "Courses, enrollment, progress, quizzes, certificates, reviews.",
    "ctf": "Capture-the-flag events, challenges, submissions, teams, scoreboards.",
    "community": "Forums, messages, notifications, moderation, contributions.",
    "billing": "Plans, subscriptions, invoices, seats, entitlements.",
    "events": "Outgoing webhooks: endpoints, messages, deliveries; the event catalogue.",
    "files": "Uploads, quotas and file lifecycle.",
    "ai": "Assistant, retrieval, moderation assistance, recommendations, generation.",
    "ops": "The error catalogue and the audit log.",
}
FILTER_HELP = (
    "PostgREST filter on this column: `?{col}=<operator>.<value>` with the operators `eq`, "
    "`neq`, `gt`, `gte`, `lt`, `lte`, `like`, `ilike`, `match`, `imatch`, `in.(a,b)`, "
    "`is.null|true|false`, `isdistinct`, `fts`, `plfts`, `phfts`, `wfts`, `cs`, `cd`, `ov`, "
    "`sl`, `sr`, `nxr`, `nxl`, `adj`; `not.` negates (`not.eq.x`); combine with `or=(...)` "
    "/ `and=(...)`."
)


OBJECT = "application/vnd.pgrst.object+json"
WRITE_VERBS = {"post": "insert", "patch": "update", "delete": "delete"}


def domain_of(name: str) -> str:
    """The tag of an api object: the domain prefix of its name (`learning_courses`)."""
    prefix = name.split("_", 1)[0]
    return prefix if prefix in DOMAINS else "api"


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def common_parameters() -> dict[str, Any]:
    """PostgREST's shared parameters (the names its own OpenAPI output uses)."""

    def query(name: str, description: str, schema: dict | None = None) -> dict[str, Any]:
        return {
            "name": name,
            "in": "query",
            "required": False,
            "description": description,
            "schema": schema or {"type": "string"},
        }

    def prefer(values: list[str], description: str) -> dict[str, Any]:
        return {
            "name": "Prefer",
            "in": "header",
            "required": False,
            "description": description,
            "schema": {"type": "string", "enum": values},
        }

    return {
        "select": query(
            "select",
            "Columns to return, with aliases (`alias:col`), casts (`col::text`), JSON paths "
            "(`data->a->>b`) and embedded resources (`rel(col,...)`, `rel!inner(...)`).",
        ),
        "order": query(
            "order",
            "Ordering: `col.asc|desc[.nullsfirst|.nullslast]`, comma separated.",
        ),
        "limit": query("limit", "At most this many rows.", {"type": "integer", "minimum": 0}),
        "offset": query("offset", "Skip this many rows.", {"type": "integer", "minimum": 0}),
        "range": {
            "name": "Range",
            "in": "header",
            "required": False,
            "description": "Limiting and pagination: `0-9` (first ten rows).",
            "schema": {"type": "string", "pattern": "^\\d+-\\d*$"},
        },
        "rangeUnit": {
            "name": "Range-Unit",
            "in": "header",
            "required": False,
            "description": "The unit of `Range`.",
            "schema": {"type": "string", "default": "items"},
        },
        "preferCount": prefer(
            ["count=none", "count=exact", "count=planned", "count=estimated"],
            "Count the rows: the total is in `Content-Range` (`0-9/42`).",
        ),
        "preferReturn": prefer(
            ["return=representation", "return=minimal", "return=headers-only"],
            "What a write answers: the written rows, nothing, or only the `Location`.",
        ),
        "preferPost": prefer(
            [
                "return=representation",
                "return=minimal",
                "return=headers-only",
                "resolution=ignore-duplicates",
                "resolution=merge-duplicates",
                "missing=default",
            ],
            "What an insert answers, and upsert behaviour (with `on_conflict`).",
        ),
        "preferRows": prefer(
            [
                "params=single-object",
                "count=none",
                "count=exact",
                "count=planned",
                "count=estimated",
            ],
            "Pass the whole JSON body as the single json argument, or count the rows of a "
            "set-returning function (the total is in `Content-Range`).",
        ),
        "preferParams": prefer(
            ["params=single-object"],
            "Pass the whole JSON body as the function's single json argument.",
        ),
    }


def error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": (
            "PostgREST's error body. For errors the API raises, `hint` holds the stable "
            "code of ops.error_codes (`api.ops_error_codes`), `code` the SQLSTATE, "
            "`message` a human sentence and `details` JSON text or null. Gateway errors "
            "carry PostgREST's own `PGRSTxxx` code in `code`."
        ),
        "properties": {
            "code": {"type": "string", "description": "SQLSTATE or PGRSTxxx."},
            "message": {"type": "string"},
            "details": {"type": ["string", "null"]},
            "hint": {"type": ["string", "null"], "description": "The API error code."},
        },
        "required": ["code", "message", "details", "hint"],
    }


def error_responses(cat: Catalogue, codes: list[str]) -> dict[str, Any]:
    """One response per HTTP status among `codes`, listing each code with its meaning."""
    by_status: dict[int, list[str]] = {}
    for code in sorted(set(codes)):
        by_status.setdefault(cat.errors[code].http_status, []).append(code)
    out: dict[str, Any] = {}
    for status, group in sorted(by_status.items()):
        lines = [f"- `{c}` ({cat.errors[c].sqlstate}): {cat.errors[c].description}" for c in group]
        out[str(status)] = {
            "description": "Errors (the code is in `hint`):\n" + "\n".join(lines),
            "content": {"application/json": {"schema": _ref("schemas", "PostgrestError")}},
            "x-flagship-errors": group,
        }
    out["default"] = _ref("responses", "PostgrestError")
    return out


def _scope(scope: Scope | None, write: bool = False) -> dict[str, Any]:
    """`x-flagship-scope`: what an API key token needs (`access`: scope, any_key, session)."""
    if scope is None:
        return {"access": "none", "scope": None}
    if write:
        if scope.access == "scope" and scope.write_scope:
            return {"access": "scope", "scope": scope.write_scope}
        return {"access": "session", "scope": None}
    return {"access": scope.access, "scope": scope.scope}


def _scope_line(decl: dict[str, Any]) -> str:
    if decl["access"] == "scope":
        return f"API-key scope: `{decl['scope']}`."
    if decl["access"] == "any_key":
        return "API-key scope: none needed (any API key may read it)."
    return "API-key scope: not available to API keys (signed-in sessions only)."


def _security(roles: set[str], decl: dict[str, Any]) -> list[dict[str, list]]:
    """Who may call it: the anon key alone, a user session, an API-key token, the service
    role, from the object's grants and its scope declaration."""
    out: list[dict[str, list]] = []
    if "anon" in roles or "public" in roles:
        out.append({"apikey": []})
    if roles & {"authenticated", "public"}:
        out.append({"apikey": [], "userSession": []})
        if decl["access"] in ("scope", "any_key"):
            out.append({"apikey": [], "apiKeyToken": []})
    if roles & {"service_role", "public"}:
        out.append({"apikey": [], "serviceRole": []})
    return out


def summary_of(text: str, limit: int = 120) -> str:
    """The first sentence of a COMMENT (its lines joined), at most `limit` characters."""
    sentence = " ".join(text.split()).split(". ", 1)[0].rstrip(".")
    if len(sentence) <= limit:
        return sentence
    return sentence[: limit - 1].rsplit(" ", 1)[0] + "…"


def _describe(comment: str | None, decl: dict[str, Any]) -> dict[str, Any]:
    text = (comment or "").strip()
    return {
        "summary": summary_of(text),
        "description": "\n\n".join(p for p in (text, _scope_line(decl)) if p),
        "x-flagship-scope": decl,
    }


# -- views ---------------------------------------------------------------------------------


def _view_writes(view: View) -> dict[str, bool]:
    granted = set().union(*view.privileges.values()) if view.privileges else set()
    return {
        "post": view.insertable and "INSERT" in granted,
        "patch": view.updatable and "UPDATE" in granted,
        "delete": view.deletable and "DELETE" in granted,
    }


def _view_path(cat: Catalogue, view: View) -> dict[str, Any]:
    filters = [_ref("parameters", f"rowFilter.{view.name}.{c.name}") for c in view.columns]
    row = _ref("schemas", view.name)
    errors = error_responses(cat, [*view.errors, *cat.request_errors])
    tag = [domain_of(view.name)]
    read = _scope(view.scope)
    readers = {r for r, p in view.privileges.items() if "SELECT" in p}
    get = {
        "operationId": f"select_{view.name}",
        "tags": tag,
        **_describe(view.comment, read),
        "parameters": [
            *filters,
            *(_ref("parameters", p) for p in ("select", "order", "limit", "offset")),
            *(_ref("parameters", p) for p in ("range", "rangeUnit", "preferCount")),
        ],
        "responses": {
            "200": {
                "description": "The rows (one object with `Accept: " + OBJECT + "`).",
                "headers": {"Content-Range": _ref("headers", "Content-Range")},
                "content": {
                    "application/json": {"schema": {"type": "array", "items": row}},
                    OBJECT: {"schema": row},
                    "text/csv": {"schema": {"type": "string"}},
                },
            },
            "206": {
                "description": "Partial content: a page of a counted result.",
                "headers": {"Content-Range": _ref("headers", "Content-Range")},
                "content": {"application/json": {"schema": {"type": "array", "items": row}}},
            },
            **errors,
        },
        "security": _security(readers, read),
    }
    path: dict[str, Any] = {"get": get}
    write = _scope(view.scope, write=True)
    columns = types.object_schema(cat, view.columns, complete=False)
    body = {"required": True, "content": {"application/json": {"schema": columns}}}
    verbs = {"post": "INSERT", "patch": "UPDATE", "delete": "DELETE"}
    for method, allowed in _view_writes(view).items():
        if not allowed:
            continue
        roles = {r for r, p in view.privileges.items() if verbs[method] in p}
        op: dict[str, Any] = {
            "operationId": f"{WRITE_VERBS[method]}_{view.name}",
            "tags": tag,
            **_describe(view.comment, write),
            "parameters": (
                [_ref("parameters", "select"), _ref("parameters", "preferPost")]
                if method == "post"
                else [*filters, _ref("parameters", "preferReturn")]
            ),
            "responses": {
                "201" if method == "post" else "200": {
                    "description": "The written rows (`Prefer: return=representation`).",
                    "content": {"application/json": {"schema": {"type": "array", "items": row}}},
                },
                "204": {"description": "No content (`Prefer: return=minimal`)."},
                **errors,
            },
            "security": _security(roles, write),
        }
        if method != "delete":
            op["requestBody"] = body
        path[method] = op
    return path


# -- functions -----------------------------------------------------------------------------


def result_schema(cat: Catalogue, fn: Function) -> dict[str, Any] | None:
    """The JSON of a successful call; None for void (204, no body)."""
    t = cat.type(fn.return_type)
    if t.typname == "void":
        return None
    if fn.columns:  # RETURNS TABLE / OUT parameters: rows of those columns
        item = types.object_schema(cat, fn.columns)
    elif t.typname in ("json", "jsonb"):
        if fn.shape is not None:
            item = dict(fn.shape)
        else:
            item = {**types.JSON_ANY, "x-flagship-shape": "undeclared"}
        item["x-pg-type"] = t.name
    else:
        item = types.schema_of(cat, fn.return_type)
    return {"type": "array", "items": item} if fn.returns_set else item


def whole_body(fn: Function) -> bool:
    """A single unnamed json/jsonb argument: PostgREST passes it the whole request body."""
    return len(fn.args) == 1 and not fn.args[0].name


def callable_by_name(cat: Catalogue, fn: Function) -> bool:
    """PostgREST calls functions by argument names; unnamed ones only as a whole body."""
    if whole_body(fn):
        return cat.type(fn.args[0].type).typname in ("json", "jsonb")
    return all(a.name for a in fn.args)


def args_schema(cat: Catalogue, fn: Function) -> dict[str, Any]:
    if whole_body(fn):
        return {**types.JSON_ANY, "description": "The whole body is the function's argument."}
    props = {}
    for a in fn.args:
        schema = types.schema_of(cat, a.type)
        if a.default is not None:
            schema["x-pg-default"] = a.default
            if a.default.upper().startswith("NULL"):
                schema = types.nullable(schema)
        props[a.name] = schema
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    required = [a.name for a in fn.args if a.default is None]
    if required:
        out["required"] = required
    return out


def one_of(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    """One schema, or `oneOf` the distinct ones (overloaded functions)."""
    distinct: list[dict[str, Any]] = []
    for schema in schemas:
        if schema not in distinct:
            distinct.append(schema)
    return distinct[0] if len(distinct) == 1 else {"oneOf": distinct}


def _query_params(cat: Catalogue, overloads: list[Function]) -> list[dict[str, Any]]:
    """GET arguments: each name once; required when every overload requires it."""
    out: dict[str, dict[str, Any]] = {}
    for fn in overloads:
        if whole_body(fn):
            continue
        for arg in fn.args:
            schema = types.schema_of(cat, arg.type)
            if schema.get("type") not in ("string", "integer", "number", "boolean", "array"):
                schema = {"type": "string", "x-pg-type": schema["x-pg-type"]}
            required = all(
                any(a.name == arg.name and a.default is None for a in f.args) for f in overloads
            )
            out.setdefault(
                arg.name,
                {
                    "name": arg.name,
                    "in": "query",
                    "required": required,
                    "schema": schema,
                    **({"style": "form", "explode": True} if schema["type"] == "array" else {}),
                },
            )
    return list(out.values())


def _rpc_path(cat: Catalogue, overloads: list[Function]) -> dict[str, Any]:
    fn = overloads[0]
    decl = _scope(fn.scope)
    ok: dict[str, Any]
    if all(result_schema(cat, f) is None for f in overloads):
        ok = {"204": {"description": "Done (the function returns void)."}}
    else:
        ok = {
            "200": {
                "description": "The function's result.",
                "content": {"application/json": {"schema": _ref("schemas", f"{fn.name}_result")}},
            }
        }
    errors = [e for f in overloads for e in f.errors]
    responses = {**ok, **error_responses(cat, [*errors, *cat.request_errors])}
    rows = any(
        f.returns_set and (f.columns or cat.type(f.return_type).kind == "c") for f in overloads
    )
    extra = [_ref("parameters", p) for p in ("select", "order", "limit", "offset")] if rows else []
    grantees = {g for f in overloads for g in f.grantees}
    common = {
        "tags": [domain_of(fn.name)],
        **_describe(fn.comment, decl),
        "responses": responses,
        "security": _security(grantees, decl),
        "x-flagship-volatility": {"i": "immutable", "s": "stable", "v": "volatile"}[fn.volatility],
    }
    post = {
        "operationId": f"rpc_{fn.name}",
        **common,
        "parameters": [*extra, _ref("parameters", "preferRows" if extra else "preferParams")],
        "requestBody": {
            "required": all(any(a.default is None for a in f.args) for f in overloads),
            "content": {"application/json": {"schema": _ref("schemas", f"{fn.name}_args")}},
        },
    }
    path: dict[str, Any] = {"post": post}
    if all(f.read_only for f in overloads):
        path["get"] = {
            "operationId": f"rpc_{fn.name}_get",
            **common,
            "parameters": [
                *_query_params(cat, overloads),
                *extra,
                *([_ref("parameters", "preferCount")] if extra else []),
            ],
        }
    return path


def rest_part(cat: Catalogue) -> dict[str, Any]:
    """Paths and components of /rest/v1 for the catalogue's schema."""
    paths: dict[str, Any] = {
        f"{REST}/": {
            "get": {
                "operationId": "rest_openapi",
                "tags": ["reference"],
                "summary": "This OpenAPI document",
                "description": (
                    "The OpenAPI 3.1 document of the whole API, generated from the database "
                    "(`Accept: application/openapi+json` or `application/json`)."
                ),
                "responses": {
                    "200": {
                        "description": "The document.",
                        "content": {
                            "application/openapi+json": {"schema": {"type": "object"}},
                            "application/json": {"schema": {"type": "object"}},
                        },
                    },
                    "406": {
                        "description": "Unsupported `Accept` (PGRST107).",
                        "content": {
                            "application/json": {"schema": _ref("schemas", "PostgrestError")}
                        },
                    },
                },
                "security": [{"apikey": []}],
            }
        }
    }
    schemas: dict[str, Any] = {"PostgrestError": error_schema()}
    parameters = common_parameters()
    for view in cat.views:
        paths[f"{REST}/{view.name}"] = _view_path(cat, view)
        schemas[view.name] = {
            **types.object_schema(cat, view.columns),
            "description": view.comment or "",
        }
        for col in view.columns:
            parameters[f"rowFilter.{view.name}.{col.name}"] = {
                "name": col.name,
                "in": "query",
                "required": False,
                "description": FILTER_HELP.format(col=col.name)
                + (f"\n\n{col.comment}" if col.comment else ""),
                "schema": {"type": "string", "x-pg-type": cat.type(col.type).name},
            }
    groups: dict[str, list[Function]] = {}
    for fn in cat.functions:
        if callable_by_name(cat, fn):
            groups.setdefault(fn.name, []).append(fn)
    for name, overloads in groups.items():
        paths[f"{REST}/rpc/{name}"] = _rpc_path(cat, overloads)
        schemas[f"{name}_args"] = one_of([args_schema(cat, f) for f in overloads])
        results = [r for f in overloads if (r := result_schema(cat, f)) is not None]
        if results:
            schemas[f"{name}_result"] = one_of(results)
    return {
        "paths": paths,
        "components": {
            "schemas": schemas,
            "parameters": parameters,
            "headers": {
                "Content-Range": {
                    "description": "The rows answered and the total: `0-9/42` (`*` uncounted).",
                    "schema": {"type": "string"},
                }
            },
            "responses": {
                "PostgrestError": {
                    "description": (
                        "Any other refusal of the gateway (PGRSTxxx: bad query syntax, "
                        "unknown column or relationship, unacceptable media type) or of the "
                        "database (SQLSTATE), in PostgREST's error body."
                    ),
                    "content": {"application/json": {"schema": _ref("schemas", "PostgrestError")}},
                }
            },
        },
        "tags": sorted(
            {domain_of(v.name) for v in cat.views} | {domain_of(f.name) for f in cat.functions}
        ),
    }
