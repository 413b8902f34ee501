"""`flagship reference sdk`: the Python SDK's typed models and methods, generated from the
OpenAPI document (docs/reference/openapi.json), the one source of truth of the API surface.

Each `/rpc/<domain>_<name>` operation becomes `client.<domain>.<name>(**args)` returning its
declared result as a dataclass; each readable view `/<domain>_<name>` becomes
`client.<domain>.<name>`, a typed `View` (list/query with filters, ordering and limit). JSON
Schemas of jsonb results (ops.api_result_shapes, carried by the document) give nested
dataclasses. The output is deterministic, so a test regenerates it and compares.

This module builds (`Builder`: the document → an `Sdk`, python_sdk_model) and writes;
python_sdk_render turns the `Sdk` into source.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from flagship import config
from flagship.reference.python_sdk_model import (
    EDGE_PREFIX,
    Arg,
    EdgeOperation,
    Model,
    Operation,
    Sdk,
    SdkError,
    ViewSpec,
    camel,
    py_literal,
    py_name,
    split_domain,
    variant_name,
)
from flagship.reference.python_sdk_render import render_models, render_operations

OPENAPI = config.ROOT / "docs" / "reference" / "openapi.json"
PACKAGE = config.ROOT / "sdk" / "python" / "src" / "flagship_sdk"
MODELS = "models.py"
OPERATIONS = "_operations.py"
REST_PREFIXES = ("/rest/v1",)
# Edge routes that are not client calls (signed webhooks, Prometheus, email links, a redirect).
EDGE_SKIP = frozenset(
    {
        "/auth-email-hook",
        "/resend-webhook",
        "/stripe-webhook",
        "/metrics",
        "/unsubscribe",
        "/files/certificates/{code}",
    }
)
# Routes the runtime wraps by hand (the key exchange it uses itself; the raw-body upload):
# only their result models are generated.
EDGE_BY_HAND = frozenset({"/api-keys/token", "/files/upload/{bucket}/{path}"})


class Builder:
    """Walks the OpenAPI document and collects models, operations and views."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.doc = document
        self.sdk = Sdk()
        self.schemas = document.get("components", {}).get("schemas", {})

    # schemas → annotations
    def resolve(self, schema: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
        """(component name, schema) behind a `$ref`, or (None, schema)."""
        ref = schema.get("$ref")
        if ref is None:
            return None, schema
        prefix = "#/components/schemas/"
        if not ref.startswith(prefix) or ref[len(prefix) :] not in self.schemas:
            raise SdkError(f"unresolvable $ref {ref!r}")
        name = ref[len(prefix) :]
        return name, self.schemas[name]

    def annotation(self, schema: Any, hint: str, *, request: bool = False) -> str:
        """The Python type of a JSON Schema; objects with properties become models named
        after `hint`."""
        if not isinstance(schema, dict) or schema in ({}, True):
            return "Any"
        ref_name, schema = self.resolve(schema)
        if ref_name is not None:
            hint = camel(ref_name)
        nullable = bool(schema.get("nullable"))
        types = schema.get("type")
        if isinstance(types, list):
            nullable = nullable or "null" in types
            types = [t for t in types if t != "null"]
            types = types[0] if len(types) == 1 else (types or None)
        for combiner in ("anyOf", "oneOf"):
            if combiner in schema:
                options = [s for s in schema[combiner] if s.get("type") != "null"]
                nullable = nullable or len(options) < len(schema[combiner])
                if len(options) == 1:
                    inner = self.annotation(options[0], hint, request=request)
                else:
                    parts = [
                        self.annotation(s, variant_name(hint, s, i), request=request)
                        for i, s in enumerate(options)
                    ]
                    inner = "Any" if "Any" in parts else " | ".join(dict.fromkeys(parts))
                    if not request and all(p in self.sdk.models for p in parts):
                        self.sdk.aliases.setdefault(hint, inner)  # one name for the union
                        inner = hint
                return f"{inner} | None" if nullable and inner != "Any" else inner
        base = self.base_annotation(schema, types, hint, request=request)
        return f"{base} | None" if nullable and base != "Any" else base

    def base_annotation(self, schema: dict, types: Any, hint: str, *, request: bool) -> str:
        fmt = str(schema.get("format", ""))
        values = [v for v in schema.get("enum", []) if v is not None]
        if values and all(isinstance(v, str | int) for v in values):
            literal = "Literal[" + ", ".join(py_literal(v) for v in values) + "]"
            return f"{literal} | None" if len(values) < len(schema["enum"]) else literal
        if isinstance(schema.get("const"), str | int):
            return f"Literal[{py_literal(schema['const'])}]"
        if fmt in ("json", "jsonb"):
            return "Any"
        if fmt.endswith("[]") and types != "array":  # PostgREST's `text[]` given as a string
            item = self.base_annotation({"format": fmt[:-2]}, "string", hint, request=request)
            return f"Sequence[{item}]" if request else f"list[{item}]"
        if types == "string":
            if fmt == "uuid":
                return "UUID | str" if request else "UUID"
            if fmt in ("date-time", "timestamp with time zone", "timestamptz"):
                return "datetime | str" if request else "datetime"
            if fmt == "date":
                return "date | str" if request else "date"
            return "str"
        if types == "integer":
            return "int"
        if types == "number":
            return "float"
        if types == "boolean":
            return "bool"
        if types == "array":
            item = self.annotation(schema.get("items", {}), f"{hint}Item", request=request)
            return f"Sequence[{item}]" if request else f"list[{item}]"
        if types == "object" or "properties" in schema:
            props = schema.get("properties")
            if not props or request:
                extra = schema.get("additionalProperties")
                value = "Any"
                if isinstance(extra, dict) and extra and not request:
                    value = self.annotation(extra, f"{hint}Value")
                return "Mapping[str, Any]" if request else f"dict[str, {value}]"
            return self.model(hint, schema)
        return "Any"

    def model(self, name: str, schema: dict[str, Any]) -> str:
        if name in self.sdk.models:
            return name
        self.sdk.models[name] = Model(name, schema.get("description", ""), [])  # cycles
        required = set(schema.get("required", []))
        fields = []
        for key in sorted(schema["properties"], key=lambda k: (k not in required, k)):
            ann = self.annotation(schema["properties"][key], f"{name}{camel(key)}")
            fields.append((py_name(key), key, ann, key in required))
        self.sdk.models[name].fields = fields
        return name

    # paths → operations and views
    def build(self) -> Sdk:
        for raw_path, item in sorted(self.doc.get("paths", {}).items()):
            path = raw_path
            for prefix in REST_PREFIXES:
                if path.startswith(prefix + "/"):
                    path = path[len(prefix) :]
            if path.startswith(EDGE_PREFIX + "/"):
                self.edge_route(path[len(EDGE_PREFIX) :], item)
            elif path.startswith("/rpc/"):
                self.operation(path[len("/rpc/") :], item)
            elif re.fullmatch(r"/[a-z][a-z0-9_]*", path) and "get" in item:
                self.view(path[1:], item["get"])
        self.sdk.operations.sort(key=lambda o: (o.domain, o.method))
        self.sdk.views.sort(key=lambda v: (v.domain, v.attribute))
        self.sdk.edge.sort(key=lambda e: e.method)
        return self.sdk

    def edge_route(self, path: str, item: dict[str, Any]) -> None:
        if path in EDGE_SKIP:
            return
        ops = [(m, item[m]) for m in ("get", "post", "put", "patch", "delete") if m in item]
        for http, op in ops:
            words = [w for w in re.split(r"[/-]", path) if w and not w.startswith("{")]
            name = "_".join(words) + (f"_{http}" if len(ops) > 1 else "")
            hint = camel(name)
            path_args, header_args = [], []
            for param in op.get("parameters", []):
                _, param = self.resolve(param) if "$ref" in param else (None, param)
                ann = self.annotation(param.get("schema", {}), hint, request=True)
                arg = Arg(param["name"], py_name(param["name"].replace("-", "_")), ann, False)
                if param.get("in") == "path":
                    arg.required = True
                    path_args.append(arg)
                elif param.get("in") == "header":
                    arg.required = bool(param.get("required"))
                    header_args.append(arg)
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            _, schema = self.resolve(body.get("schema", {}))
            if body and not schema.get("properties") and path not in EDGE_BY_HAND:
                continue  # a body the document does not describe: nothing to type
            body_args = self.arguments(schema, hint, strip_p=False)
            responses = op.get("responses", {})
            ok = next((responses[c] for c in sorted(responses) if c.startswith("2")), {})
            content = ok.get("content", {})
            result = "None"
            if "application/json" in content:
                result = self.annotation(
                    content["application/json"].get("schema", {}), f"{hint}Result"
                )
            text = op.get("description") or op.get("summary") or ""
            if path in EDGE_BY_HAND:
                continue
            self.sdk.edge.append(
                EdgeOperation(
                    py_name(name),
                    http.upper(),
                    path,
                    text,
                    path_args,
                    header_args,
                    body_args,
                    result,
                )
            )

    def arguments(self, schema: dict[str, Any], hint: str, *, strip_p: bool) -> list[Arg]:
        """Keyword arguments for an object schema's properties, required ones first."""
        required = set(schema.get("required", []))
        args = []
        for name, prop in schema.get("properties", {}).items():
            base = name[2:] if strip_p and name.startswith("p_") else name
            py = py_name(base)
            ann = self.annotation(prop, f"{hint}{camel(py)}", request=True)
            args.append(Arg(name, py, ann, name in required))
        args.sort(key=lambda a: not a.required)
        return args

    def operation(self, function: str, item: dict[str, Any]) -> None:
        op = item.get("post") or item.get("get")
        if op is None:
            return
        domain, method = split_domain(function)
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
        _, schema = self.resolve(body.get("schema", {}))
        args = self.arguments(schema, camel(function), strip_p=True)
        result = "None"
        for status in ("200", "201"):
            content = op.get("responses", {}).get(status, {}).get("content", {})
            if "application/json" in content:
                result = self.annotation(
                    content["application/json"].get("schema", {}), f"{camel(function)}Result"
                )
                break
        text = op.get("description") or op.get("summary") or ""
        self.sdk.operations.append(Operation(domain, py_name(method), function, text, args, result))

    def view(self, name: str, op: dict[str, Any]) -> None:
        domain, attribute = split_domain(name)
        content = op.get("responses", {}).get("200", {}).get("content", {})
        schema = next(iter(content.values()), {}).get("schema", {})
        if schema.get("type") == "array":
            schema = schema.get("items", {})
        ref_name, resolved = self.resolve(schema)
        if not resolved.get("properties"):
            raise SdkError(f"view {name} has no columns in the document")
        row = self.model(f"{camel(ref_name or name)}Row", resolved)
        text = op.get("description") or op.get("summary") or resolved.get("description", "")
        columns = list(resolved["properties"])
        self.sdk.views.append(ViewSpec(domain, py_name(attribute), name, text, row, columns))


# -- entry points -------------------------------------------------------------------------
def generate(document: dict[str, Any]) -> dict[str, str]:
    """{file name: source} of the generated modules, laid out by `ruff format` (the
    project's pinned formatter) so the committed code passes the linters as written."""
    sdk = Builder(document).build()
    return {
        MODELS: ruff_format(render_models(sdk)),
        OPERATIONS: ruff_format(render_operations(sdk)),
    }


def ruff_format(source: str) -> str:
    ruff = Path(sys.executable).with_name("ruff")
    done = subprocess.run(
        [str(ruff if ruff.exists() else "ruff"), "format", "--quiet", "--line-length", "100", "-"],
        input=source,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SdkError(f"generated code does not parse: {done.stderr.strip()[:500]}")
    return done.stdout


def write(
    document_path: Path | None = None, package: Path | None = None, *, check: bool = False
) -> list[str]:
    """Regenerate the SDK's modules; the names of files that changed (with `check`, that
    would change, without writing). Defaults: the committed document and package."""
    document_path = document_path or OPENAPI
    package = package or PACKAGE
    if not document_path.exists():
        raise SdkError(f"{document_path} is missing: generate the OpenAPI document first")
    files = generate(json.loads(document_path.read_text()))
    changed = []
    for name, source in files.items():
        target = package / name
        if not target.exists() or target.read_text() != source:
            changed.append(name)
            if not check:
                target.write_text(source)
    return changed


def should_update() -> bool:
    return os.environ.get("FLAGSHIP_UPDATE_REFERENCE") == "1"
