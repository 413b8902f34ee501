"""A Postman collection of the API from its OpenAPI document (`flagship reference postman`).

The pinned openapi-to-postmanv2 converts docs/reference/openapi.json; this module makes the
result stable (ids from the operation ids, no faked example responses) and useful: optional
filters are disabled, every request is authorised from variables (`baseUrl`, `anonKey`,
`userJwt`, `apiKey`, exchanged once for `apiKeyJwt`), and collection-level scripts check each
response against the operation's contract: its status is one the document declares and never
a 5xx, and a JSON body matches the declared schema. The two environments hold the same
variables for the local stack and a hosted project. tests/reference/test_postman_collection.py
fails when the committed files are stale and runs the collection with newman.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

from flagship import config
from flagship.reference.typescript import TypesError, _run, stale, write

__all__ = ["convert", "postprocess", "render", "stale", "write"]

REFERENCE_DIR = config.ROOT / "docs" / "reference"
OPENAPI = REFERENCE_DIR / "openapi.json"
COLLECTION = REFERENCE_DIR / "flagship.postman_collection.json"
ENVIRONMENTS = {
    "local": REFERENCE_DIR / "postman" / "local.postman_environment.json",
    "hosted": REFERENCE_DIR / "postman" / "hosted.postman_environment.json",
}
CONVERTER = Path(__file__).with_name("postman.mjs")
SCRIPTS = Path(__file__).with_name("postman_scripts")
PACKAGE = config.ROOT / "node_modules" / "openapi-to-postmanv2"
METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
NAMESPACE = uuid.UUID("6f1b6c1e-6c86-4d0e-9d38-2f1e0d0c7a11")
VARIABLES = {
    "baseUrl": ("http://127.0.0.1:54321", "The project URL (no trailing slash)."),
    "anonKey": ("", "The project's anon key: sent as `apikey` on every request."),
    "userJwt": ("", "A user's access token (sign in through /auth/v1/token)."),
    "apiKey": ("", "An API key (fsk_...): exchanged once for a short JWT (apiKeyJwt)."),
}


class PostmanError(TypesError):
    """The collection cannot be built (converter missing or failed, operations unmatched)."""


def convert(openapi: Path = OPENAPI) -> dict[str, Any]:
    """The converter's raw collection of `openapi`."""
    if not openapi.exists():
        raise PostmanError(f"{openapi.name} is missing: run `flagship reference build` first")
    return json.loads(_run([str(CONVERTER), str(openapi)], env={}, package=PACKAGE))


def _requests(items: list[dict]) -> list[dict]:
    out = []
    for item in items:
        out += _requests(item["item"]) if "item" in item else [item]
    return out


def _operation_key(method: str, path: str) -> str:
    template = re.sub(r"\{[^}]+\}", "{}", path)
    return f"{method.upper()} {template}"


def _item_key(item: dict) -> str:
    segments = [
        "{}" if s.startswith(":") or s.startswith("{{") else s
        for s in item["request"]["url"]["path"]
    ]
    return f"{item['request']['method']} /{'/'.join(segments)}"


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


# Formats the sandbox's JSON Schema validator knows; OpenAPI's own (int32, int64, float,
# double) only describe sizes and would make it refuse the schema.
CHECKED_FORMATS = {"date-time", "date", "time", "email", "uri", "uuid", "ipv4", "ipv6"}


def _portable(node: Any) -> Any:
    """A schema the newman sandbox's validator (draft-07) takes: component refs point into
    the check script's `definitions`, unknown formats and `$schema` dropped."""
    if isinstance(node, list):
        return [_portable(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("$schema", "examples", "example") or (
            key == "format" and value not in CHECKED_FORMATS
        ):
            continue
        if key == "$ref" and isinstance(value, str):
            value = value.replace("#/components/schemas/", "#/definitions/")
        if key in ("properties", "patternProperties", "$defs") and isinstance(value, dict):
            out[key] = {name: _portable(sub) for name, sub in value.items()}  # names, not keywords
        else:
            out[key] = _portable(value)
    return out


def contract(spec: dict) -> tuple[dict[str, dict], dict]:
    """Per operation id: the documented statuses, the JSON schema of each, the credential;
    and the component schemas those refer to."""
    ops: dict[str, dict] = {}
    used: set[str] = set()
    for path, entry in spec["paths"].items():
        for method in METHODS:
            op = entry.get(method)
            if op is None:
                continue
            schemas = {}
            for status, response in op["responses"].items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if schema is not None:
                    schemas[status] = schema
                    _refs(schema, used)
            ops[op["operationId"]] = {
                "key": _operation_key(method, path),
                "statuses": sorted(op["responses"]),
                "schemas": _portable(schemas),
                "credential": _credential(method, op),
            }
    components = spec.get("components", {}).get("schemas", {})
    # Schemas referring to other schemas: close over them.
    pending = set(used)
    while pending:
        name = pending.pop()
        found: set[str] = set()
        _refs(components.get(name, {}), found)
        pending |= found - used
        used |= found
    return ops, _portable({name: components[name] for name in sorted(used) if name in components})


def _credential(method: str, op: dict) -> str:
    """Which variable authorises the request: reads an API key may make use the API key's
    token; anything a signed-in user may call uses the user's; the rest the anon key."""
    schemes = {name for alt in (op.get("security") or []) for name in alt}
    if op.get("security") is None:
        return "user"  # the edge authenticates these itself (a session, a signature, a key)
    if "apiKeyToken" in schemes and method == "get":
        return "apiKey"
    if "userSession" in schemes:
        return "user"
    return "anon"


def _script(name: str, **data: Any) -> dict:
    source = (SCRIPTS / name).read_text()
    for key, value in data.items():
        source = source.replace(f"/*{key}*/null", json.dumps(value, sort_keys=True))
    return {
        "listen": name.split(".")[0],
        "script": {"type": "text/javascript", "exec": source.splitlines()},
    }


def postprocess(raw: dict, spec: dict) -> dict:
    """The committed collection: stable, authorised from variables, checked by scripts."""
    ops, definitions = contract(spec)
    by_key = {op["key"]: op_id for op_id, op in ops.items()}
    unmatched = []
    for item in _requests(raw["item"]):
        op_id = by_key.get(_item_key(item))
        if op_id is None:
            unmatched.append(_item_key(item))
            continue
        item["id"] = op_id
        item.pop("response", None)  # faked examples, different at every conversion
        request = item["request"]
        for param in request["url"].get("query", []):
            if param.get("value", "").startswith("<"):
                param["disabled"] = True  # an optional filter: documentation, not sent
        request["header"] = [
            h
            for h in request.get("header", [])
            if h["key"].lower() not in ("apikey", "authorization")
        ]
        token = {"user": "{{userJwt}}", "apiKey": "{{apiKeyJwt}}", "anon": "{{anonKey}}"}
        request["auth"] = {
            "type": "bearer",
            "bearer": [
                {"key": "token", "value": token[ops[op_id]["credential"]], "type": "string"}
            ],
        }
    if unmatched:
        raise PostmanError(f"requests that match no operation of the document: {unmatched[:5]}")
    contracts = {op_id: {k: v for k, v in op.items() if k != "key"} for op_id, op in ops.items()}
    raw["info"]["_postman_id"] = str(uuid.uuid5(NAMESPACE, raw["info"]["name"]))
    raw["variable"] = [
        {"key": key, "value": value, "type": "string", "description": text}
        for key, (value, text) in VARIABLES.items()
    ] + [{"key": "apiKeyJwt", "value": "", "type": "string", "description": "Set by the scripts."}]
    raw["event"] = [
        _script("prerequest.js"),
        _script("test.js", CONTRACTS=contracts, DEFINITIONS=definitions),
    ]
    for folder in raw["item"]:
        _stable_ids(folder)
    return raw


def _stable_ids(node: dict, prefix: str = "") -> None:
    name = f"{prefix}/{node.get('name', '')}"
    if "item" in node:
        node["id"] = str(uuid.uuid5(NAMESPACE, name))
        for child in node["item"]:
            _stable_ids(child, name)


def environment(name: str) -> dict:
    """A Postman environment with the collection's variables (values empty but the local URL)."""
    values = {
        "baseUrl": "http://127.0.0.1:54321"
        if name == "local"
        else "https://<project-ref>.supabase.co"
    }
    return {
        "id": str(uuid.uuid5(NAMESPACE, f"environment/{name}")),
        "name": f"Flagship ({name})",
        "values": [
            {
                "key": key,
                "value": values.get(key, ""),
                "type": "secret" if key != "baseUrl" else "default",
                "enabled": True,
            }
            for key in VARIABLES
        ],
        "_postman_variable_scope": "environment",
    }


def render(openapi: Path = OPENAPI) -> dict[Path, str]:
    """Every generated file's expected content."""
    spec = json.loads(openapi.read_text()) if openapi.exists() else None
    collection = postprocess(convert(openapi), spec)
    files = {
        COLLECTION: collection,
        **{path: environment(name) for name, path in ENVIRONMENTS.items()},
    }
    return {
        path: json.dumps(doc, indent=2, ensure_ascii=False) + "\n" for path, doc in files.items()
    }
