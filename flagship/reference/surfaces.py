"""The parts of the document that are not the database: /auth/v1, /storage/v1 and the edge's
/functions/v1, each derived from the code that serves it.

Auth and Storage contribute their route tables (`gateway.auth.app.ROUTES`,
`gateway.storage.app.ROUTES`, a summary beside each route); the edge contributes FastAPI's own
`app.openapi()`, whose paths already carry /functions/v1.
"""

from __future__ import annotations

import re
from typing import Any

AUTH = "/auth/v1"
STORAGE = "/storage/v1"
# Routes a browser opens without a token: public buckets, and signed URLs (the token is in
# the query string).
OPEN_STORAGE = frozenset(
    {"get_public", "info_public", "render_public", "get_signed", "upload_signed", "render_signed"}
)
PARAM = re.compile(r"\{([a-z_]+)(?::[a-z]+)?\}")


def _path_and_params(
    prefix: str, path: str, query: tuple[str, ...] = ()
) -> tuple[str, list[dict[str, Any]]]:
    """A Starlette path (`{name:path}`) as an OpenAPI path with its path parameters (a
    `:path` one may hold slashes), then the optional query parameters the handler reads."""
    params: list[dict[str, Any]] = []
    for m in PARAM.finditer(path):
        param: dict[str, Any] = {
            "name": m.group(1),
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
        }
        if m.group(0).endswith(":path}"):
            param["description"] = "The object's path in the bucket; it may contain `/`."
        params.append(param)
    params += [
        {"name": q, "in": "query", "required": False, "schema": {"type": "string"}} for q in query
    ]
    return prefix + PARAM.sub(lambda m: "{" + m.group(1) + "}", path), params


def _operation_id(prefix: str, method: str, path: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "_", f"{prefix}_{method}_{path}".lower()).strip("_")
    return words


def auth_part() -> dict[str, Any]:
    """Supabase Auth's routes as the gateway serves them (`gateway.auth.app.ROUTES`)."""
    from gateway.auth.app import QUERY, ROUTES
    from gateway.auth.http import OPEN_PATHS

    paths: dict[str, Any] = {}
    for method, route, _handler, summary in ROUTES:
        path, params = _path_and_params(AUTH, route, QUERY.get((method, route), ()))
        if route in OPEN_PATHS:
            security: list[dict[str, list]] = [{}]
        elif route.startswith("/admin") or route == "/invite":
            security = [{"apikey": [], "serviceRole": []}]
        elif route in ("/user", "/logout", "/reauthenticate"):
            security = [{"apikey": [], "userSession": []}]
        else:
            security = [{"apikey": []}]
        op: dict[str, Any] = {
            "operationId": _operation_id("auth", method, route),
            "tags": ["auth"],
            "summary": summary,
            "description": (
                f"{summary}. Supabase Auth's route, answered as Supabase Auth does "
                "(docs/gateway.md, /auth/v1)."
            ),
            "responses": {
                "200": {
                    "description": "Supabase Auth's answer.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "default": {
                    "description": "Supabase Auth's error body.",
                    "content": {"application/json": {"schema": _ref("AuthError")}},
                },
            },
            "security": security,
        }
        if params:
            op["parameters"] = params
        if method in ("POST", "PUT"):
            op["requestBody"] = {
                "required": False,
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        paths.setdefault(path, {})[method.lower()] = op
    return {"paths": paths, "schemas": {"AuthError": AUTH_ERROR}, "tags": ["auth"]}


# The StorageService methods whose JSON answer is a list (of buckets, objects, signed URLs or
# removed objects); every other JSON answer is one object.
STORAGE_LIST_ANSWERS = frozenset({"list_buckets", "list_objects", "sign_many", "remove_many"})


def storage_part() -> dict[str, Any]:
    """Supabase Storage's routes as the gateway serves them (`gateway.storage.app.ROUTES`)."""
    from gateway.storage.app import QUERY, ROUTES

    paths: dict[str, Any] = {}
    for route, methods, name, summary in ROUTES:
        path, params = _path_and_params(STORAGE, route, QUERY.get(name, ()))
        public = name in OPEN_STORAGE
        for method in methods:
            if method == "HEAD":
                continue  # answered wherever GET is, headers only
            answer: dict[str, Any] = {"type": "object"}
            if name in STORAGE_LIST_ANSWERS:
                answer = {"type": "array", "items": answer}
            op: dict[str, Any] = {
                "operationId": _operation_id("storage", method, route),
                "tags": ["storage"],
                "summary": summary,
                "description": (
                    f"{summary}. Supabase Storage's route, answered as Supabase Storage does "
                    "(docs/files.md)." + (" Also HEAD." if "HEAD" in methods else "")
                ),
                "responses": {
                    "200": {
                        "description": "Storage's answer (JSON, or the object's bytes).",
                        "content": {
                            "application/json": {"schema": answer},
                            "application/octet-stream": {
                                "schema": {"type": "string", "contentMediaType": "*/*"}
                            },
                        },
                    },
                    "default": {
                        "description": "Supabase Storage's error body.",
                        "content": {"application/json": {"schema": _ref("StorageError")}},
                    },
                },
                "security": [{}] if public else [{"userSession": []}, {"serviceRole": []}],
            }
            if params:
                op["parameters"] = params
            paths.setdefault(path, {})[method.lower()] = op
    return {"paths": paths, "schemas": {"StorageError": STORAGE_ERROR}, "tags": ["storage"]}


def edge_spec(database_url: str) -> dict[str, Any]:
    """The edge's own OpenAPI document (FastAPI), built without serving or connecting."""
    from edge.app import create_app
    from flagship import config

    return create_app(config.Settings.from_env(), database_url=database_url).openapi()


def edge_part(spec: dict[str, Any]) -> dict[str, Any]:
    """The paths (already under /functions/v1), schemas and tags of the edge's document."""
    tags = sorted(
        {t for item in spec["paths"].values() for op in item.values() for t in op.get("tags", [])}
    )
    return {
        "paths": spec["paths"],
        "schemas": spec.get("components", {}).get("schemas", {}),
        "tags": tags,
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


AUTH_ERROR = {
    "type": "object",
    "description": (
        "Supabase Auth's error: `{code: <status>, error_code, msg}`, or `{code, message}` "
        "when the request sends `X-Supabase-Api-Version: 2024-01-01`."
    ),
    "properties": {
        "code": {"type": ["integer", "string"]},
        "error_code": {"type": "string"},
        "msg": {"type": "string"},
        "message": {"type": "string"},
    },
    "required": ["code"],
}
STORAGE_ERROR = {
    "type": "object",
    "description": "Supabase Storage's error body.",
    "properties": {
        "statusCode": {"type": "string"},
        "code": {"type": "string"},
        "error": {"type": "string"},
        "message": {"type": "string"},
    },
    "required": ["statusCode", "error", "message"],
}
