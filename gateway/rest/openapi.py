"""GET /rest/v1/: the OpenAPI (Swagger 2.0) document of the exposed schema, as PostgREST."""

from __future__ import annotations

from typing import Any

from gateway.config import GatewayConfig
from gateway.rest.schema_cache import Column, Function, Relation, SchemaCache

TYPES = {
    "int2": ("integer", "smallint"),
    "int4": ("integer", "integer"),
    "int8": ("integer", "bigint"),
    "numeric": ("number", "numeric"),
    "float4": ("number", "real"),
    "float8": ("number", "double precision"),
    "bool": ("boolean", "boolean"),
    "json": ("object", "json"),
    "jsonb": ("object", "jsonb"),
}
FILTER_PARAMS = ["select", "order", "range", "rangeUnit", "offset", "limit"]


def _property(col: Column) -> dict[str, Any]:
    if col.type.endswith("[]"):
        prop: dict[str, Any] = {"type": "array", "format": col.type, "items": {"type": "string"}}
    else:
        kind, fmt = TYPES.get(col.typname, ("string", col.type))
        prop = {"type": kind, "format": fmt}
    if col.enum:
        prop["enum"] = col.enum
    if col.default is not None:
        prop["default"] = col.default
    if col.description:
        prop["description"] = col.description
    return prop


def _definition(rel: Relation) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "object",
        "properties": {c.name: _property(c) for c in rel.columns.values()},
    }
    required = [c.name for c in rel.columns.values() if c.not_null and c.default is None]
    if required:
        out["required"] = required
    if rel.description:
        out["description"] = rel.description
    return out


def _rel_path(rel: Relation) -> dict[str, Any]:
    ref = f"#/definitions/{rel.name}"
    cols = [{"$ref": f"#/parameters/rowFilter.{rel.name}.{c}"} for c in rel.columns]
    common = [{"$ref": f"#/parameters/{p}"} for p in FILTER_PARAMS]
    ok = {"description": "OK", "schema": {"type": "array", "items": {"$ref": ref}}}
    tag = [rel.name]
    summary = (rel.description or "").split("\n", 1)[0] or None
    get = {
        "tags": tag,
        "parameters": cols + common + [{"$ref": "#/parameters/preferCount"}],
        "responses": {"200": ok, "206": {"description": "Partial Content"}},
    }
    if summary:
        get["summary"] = summary
        get["description"] = rel.description
    path: dict[str, Any] = {"get": get}
    body = {"$ref": f"#/parameters/body.{rel.name}"}
    if rel.insertable:
        path["post"] = {
            "tags": tag,
            "parameters": [
                body,
                {"$ref": "#/parameters/select"},
                {"$ref": "#/parameters/preferPost"},
            ],
            "responses": {"201": {"description": "Created"}},
        }
    if rel.updatable:
        path["patch"] = {
            "tags": tag,
            "parameters": [*cols, body, {"$ref": "#/parameters/preferReturn"}],
            "responses": {"204": {"description": "No Content"}},
        }
    if rel.deletable:
        path["delete"] = {
            "tags": tag,
            "parameters": [*cols, {"$ref": "#/parameters/preferReturn"}],
            "responses": {"204": {"description": "No Content"}},
        }
    return path


def _rpc_path(fn: Function) -> dict[str, Any]:
    props = {a.name: {"type": "string", "format": a.type} for a in fn.args if a.name}
    schema: dict[str, Any] = {"type": "object", "properties": props}
    required = sorted(a for a in fn.required if a)
    if required:
        schema["required"] = required
    post: dict[str, Any] = {
        "tags": ["(rpc) " + fn.name],
        "parameters": [
            {"in": "body", "name": "args", "required": True, "schema": schema},
            {"$ref": "#/parameters/preferParams"},
        ],
        "responses": {"200": {"description": "OK"}},
    }
    if fn.description:
        post["summary"] = fn.description.split("\n", 1)[0]
        post["description"] = fn.description
    path: dict[str, Any] = {"post": post}
    if fn.read_only:
        path["get"] = {
            "tags": post["tags"],
            "parameters": [
                {
                    "in": "query",
                    "name": a.name,
                    "required": a.name in required,
                    "type": "string",
                    "format": a.type,
                }
                for a in fn.args
                if a.name
            ],
            "responses": {"200": {"description": "OK"}},
        }
        if fn.description:
            path["get"]["summary"] = post["summary"]
    return path


def document(cache: SchemaCache, schema: str, config: GatewayConfig, request) -> dict[str, Any]:
    rels = sorted((r for (s, _), r in cache.relations.items() if s == schema), key=lambda r: r.name)
    fns = sorted(
        (f for (s, _), fs in cache.functions.items() if s == schema for f in fs),
        key=lambda f: f.name,
    )
    parameters: dict[str, Any] = {
        "select": {
            "name": "select",
            "description": "Filtering Columns",
            "required": False,
            "in": "query",
            "type": "string",
        },
        "order": {
            "name": "order",
            "description": "Ordering",
            "required": False,
            "in": "query",
            "type": "string",
        },
        "range": {
            "name": "Range",
            "description": "Limiting and Pagination",
            "required": False,
            "in": "header",
            "type": "string",
        },
        "rangeUnit": {
            "name": "Range-Unit",
            "description": "Limiting and Pagination",
            "required": False,
            "default": "items",
            "in": "header",
            "type": "string",
        },
        "offset": {
            "name": "offset",
            "description": "Limiting and Pagination",
            "required": False,
            "in": "query",
            "type": "string",
        },
        "limit": {
            "name": "limit",
            "description": "Limiting and Pagination",
            "required": False,
            "in": "query",
            "type": "string",
        },
        "preferCount": {
            "name": "Prefer",
            "description": "Preference",
            "required": False,
            "in": "header",
            "type": "string",
            "enum": ["count=none"],
        },
        "preferReturn": {
            "name": "Prefer",
            "description": "Preference",
            "required": False,
            "in": "header",
            "type": "string",
            "enum": ["return=representation", "return=minimal", "return=none"],
        },
        "preferPost": {
            "name": "Prefer",
            "description": "Preference",
            "required": False,
            "in": "header",
            "type": "string",
            "enum": [
                "return=representation",
                "return=minimal",
                "return=none",
                "resolution=ignore-duplicates",
                "resolution=merge-duplicates",
            ],
        },
        "preferParams": {
            "name": "Prefer",
            "description": "Preference",
            "required": False,
            "in": "header",
            "type": "string",
            "enum": ["params=single-object"],
        },
    }
    for rel in rels:
        parameters[f"body.{rel.name}"] = {
            "name": rel.name,
            "description": rel.name,
            "required": False,
            "in": "body",
            "schema": {"$ref": f"#/definitions/{rel.name}"},
        }
        for col in rel.columns.values():
            parameters[f"rowFilter.{rel.name}.{col.name}"] = {
                "name": col.name,
                "required": False,
                "in": "query",
                "type": "string",
                "format": col.type,
                **({"description": col.description} if col.description else {}),
            }
    paths: dict[str, Any] = {
        "/": {
            "get": {
                "tags": ["Introspection"],
                "summary": "OpenAPI description (this document)",
                "produces": ["application/openapi+json", "application/json"],
                "responses": {"200": {"description": "OK"}},
            }
        }
    }
    for rel in rels:
        paths[f"/{rel.name}"] = _rel_path(rel)
    for fn in fns:
        paths[f"/rpc/{fn.name}"] = _rpc_path(fn)
    host = request.headers.get("host", "127.0.0.1:54321")
    return {
        "swagger": "2.0",
        "info": {
            "title": "Flagship API",
            "version": "1",
            "description": f"The '{schema}' schema, served by the gateway's /rest/v1.",
        },
        "host": host,
        "basePath": "/rest/v1/",
        "schemes": ["http"],
        "consumes": ["application/json", "application/vnd.pgrst.object+json", "text/csv"],
        "produces": ["application/json", "application/vnd.pgrst.object+json", "text/csv"],
        "paths": paths,
        "definitions": {rel.name: _definition(rel) for rel in rels},
        "parameters": parameters,
        "externalDocs": {
            "description": "PostgREST Documentation",
            "url": "https://postgrest.org/en/latest/references/api.html",
        },
    }
