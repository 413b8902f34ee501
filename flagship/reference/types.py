"""Postgres types → JSON Schema (draft 2020-12, as OpenAPI 3.1 uses), as PostgREST's JSON
renders them: numbers for int/numeric/float, strings for text, uuid, dates and anything
else, arrays for arrays, objects for composites; `x-pg-type` keeps the exact type."""

from __future__ import annotations

from typing import Any

from flagship.reference.catalogue import Catalogue, Field

BASE = {
    "int2": {"type": "integer", "format": "int32"},
    "int4": {"type": "integer", "format": "int32"},
    "int8": {"type": "integer", "format": "int64"},
    "oid": {"type": "integer", "format": "int64"},
    "numeric": {"type": "number"},
    "float4": {"type": "number", "format": "float"},
    "float8": {"type": "number", "format": "double"},
    "bool": {"type": "boolean"},
    "uuid": {"type": "string", "format": "uuid"},
    "timestamptz": {"type": "string", "format": "date-time"},
    "timestamp": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
    "time": {"type": "string", "format": "time"},
    "timetz": {"type": "string", "format": "time"},
    "interval": {"type": "string", "format": "duration"},
    "inet": {"type": "string"},
    "cidr": {"type": "string"},
    "citext": {"type": "string"},
    "text": {"type": "string"},
    "varchar": {"type": "string"},
    "bpchar": {"type": "string"},
    "name": {"type": "string"},
    "bytea": {"type": "string", "contentEncoding": "hex"},
}
# JSON values: any type (a declared shape replaces this for function results).
JSON_ANY = {
    "type": ["object", "array", "string", "number", "boolean", "null"],
    "description": "Any JSON value.",
}


def schema_of(cat: Catalogue, oid: int, depth: int = 0) -> dict[str, Any]:
    """The JSON Schema of a value of type `oid` (not nullable; see `nullable`)."""
    t = cat.type(oid)
    if t.kind == "d" and t.base:
        out = schema_of(cat, t.base, depth)
    elif t.category == "A" and t.elem:
        out = {"type": "array", "items": schema_of(cat, t.elem, depth)}
    elif t.kind == "e":
        out = {"type": "string", "enum": list(t.labels or [])}
    elif t.typname in ("json", "jsonb"):
        out = dict(JSON_ANY)
    elif t.kind == "c" and t.rel and depth < 4:
        out = object_schema(cat, cat.composites.get(t.rel, []), depth + 1)
    elif t.typname == "record":
        out = {"type": "object"}
    else:
        out = dict(BASE.get(t.typname, {"type": "string"}))
    out["x-pg-type"] = t.name
    return out


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` that also admits null (type lists, and null among enum values)."""
    out = dict(schema)
    kind = out.get("type")
    if isinstance(kind, str):
        out["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        out["type"] = [*kind, "null"]
    if "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out


def field_schema(cat: Catalogue, fld: Field, depth: int = 0) -> dict[str, Any]:
    out = schema_of(cat, fld.type, depth)
    if fld.nullable:
        out = nullable(out)
    if fld.comment:
        out["description"] = fld.comment
    return out


def object_schema(
    cat: Catalogue, fields: list[Field], depth: int = 0, *, complete: bool = True
) -> dict[str, Any]:
    """An object with one property per field. `complete`: every field is present (PostgREST
    sends each column, null or not, unless `select` narrows it), so all are required."""
    out: dict[str, Any] = {
        "type": "object",
        "properties": {f.name: field_schema(cat, f, depth) for f in fields},
    }
    if complete and fields:
        out["required"] = [f.name for f in fields]
    return out
