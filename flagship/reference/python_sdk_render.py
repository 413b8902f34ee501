"""The Python SDK generator's renderer: the `models.py` and `_operations.py` sources of a
built `Sdk` (flagship.reference.python_sdk_model), before `ruff format` lays them out."""

from __future__ import annotations

import json
import re
import textwrap

from flagship.reference.python_sdk_model import (
    EDGE_PREFIX,
    HEADER,
    Arg,
    Operation,
    Sdk,
    ViewSpec,
    camel,
    py_name,
)


# -- rendering ----------------------------------------------------------------------------
def docstring(text: str, indent: str) -> list[str]:
    """A docstring of `text`, wrapped to the line length, quotes made safe."""
    text = " ".join(text.replace("\\", "\\\\").replace('"""', "'''").split())
    if not text:
        return []
    if len(indent) + len(text) + 6 <= 100:
        return [f'{indent}"""{text}"""']
    width = 94 - len(indent)  # room for the quotes, opening and closing
    lines = textwrap.wrap(text, width) or [""]
    return [f'{indent}"""{lines[0]}'] + [f"{indent}{ln}" for ln in lines[1:]] + [f'{indent}"""']


def wrap_line(line: str, indent: str = "    ") -> list[str]:
    """`name: Literal[a, b, ...]` lines over 100 characters, one value per line."""
    if len(line) <= 99 or "[" not in line:
        return [line]
    head, _, tail = line.partition("[")
    inner, close = tail.rsplit("]", 1)
    base = head[: len(head) - len(head.lstrip())]
    return (
        [f"{head}["]
        + [f"{base}{indent}{p.strip()}," for p in inner.split(",")]
        + [f"{base}]{close}"]
    )


def render_models(sdk: Sdk) -> str:
    body = model_body(sdk)
    out = [
        HEADER + '"""Typed results of the API: one frozen dataclass per view row and per declared',
        'result shape (decoded by flagship_sdk._codec from their annotations)."""',
        "",
        "from __future__ import annotations",
        "",
        *imports(body, dataclass=True),
        "",
        "__all__ = [",
        *[f'    "{name}",' for name in sorted([*sdk.models, *sdk.aliases, *column_aliases(sdk)])],
        "]",
    ]
    return "\n".join(out + body) + "\n"


def model_body(sdk: Sdk) -> list[str]:
    out: list[str] = []
    for name in sorted(sdk.models):
        model = sdk.models[name]
        out += ["", "", "@dataclass(frozen=True, slots=True, kw_only=True)", f"class {name}:"]
        out += [*docstring(model.doc or f"{name}.", "    "), ""]
        for attr, key, ann, required in model.fields:
            default = "" if required else " = None"
            if not required and "None" not in ann.split(" | ") and ann != "Any":
                ann = f"{ann} | None"
            if attr != key:
                meta = f'field(metadata={{"json": "{key}"}}'
                default = f" = {meta})" if required else f" = {meta}, default=None)"
            out += wrap_line(f"    {attr}: {ann}{default}", "    ")
        if not model.fields:
            out.append("    pass")
    for view in sorted(sdk.views, key=lambda v: v.row):
        alias = column_alias(view)
        values = ", ".join(json.dumps(c) for c in view.columns)
        out += ["", "", *wrap_line(f"{alias} = Literal[{values}]")]
    for name in sorted(sdk.aliases):
        out += ["", "", f"{name} = {sdk.aliases[name]}"]
    return out


def imports(
    body: list[str], *, dataclass: bool = False, models: set[str] | None = None
) -> list[str]:
    """The import lines the generated `body` needs (ruff-clean: none unused)."""
    text = re.sub(r'""".*?"""', "", "\n".join(body), flags=re.DOTALL)
    used = lambda name: re.search(rf"\b{name}\b", text) is not None  # noqa: E731
    out = []
    abc = [n for n in ("Mapping", "Sequence") if used(n)]
    if abc:
        out.append(f"from collections.abc import {', '.join(abc)}")
    if dataclass:
        dc = ["dataclass"] + (["field"] if used("field") else [])
        out.append(f"from dataclasses import {', '.join(dc)}")
    dates = [n for n in ("date", "datetime") if used(n)]
    if dates:
        out.append(f"from datetime import {', '.join(dates)}")
    typing_names = (["TYPE_CHECKING"] if models is not None else []) + [
        n for n in ("Any", "Literal") if used(n)
    ]
    if typing_names:
        out.append(f"from typing import {', '.join(typing_names)}")
    if "_quote(" in text:
        out.append("from urllib.parse import quote as _quote")
    if used("UUID"):
        out.append("from uuid import UUID")
    if models is not None:
        out.append("")
        names = sorted((n for n in models if used(n)), key=str.lower)
        if names:
            out += ["from flagship_sdk.models import ("] + [f"    {n}," for n in names] + [")"]
        out.append("from flagship_sdk.query import View")
        out += ["", "if TYPE_CHECKING:", "    from flagship_sdk._transport import Transport"]
    return out


def column_alias(view: ViewSpec) -> str:
    return f"{camel(view.view)}Column"


def column_aliases(sdk: Sdk) -> list[str]:
    return sorted(column_alias(v) for v in sdk.views)


def render_operations(sdk: Sdk) -> str:
    domains = sorted({o.domain for o in sdk.operations} | {v.domain for v in sdk.views})
    out: list[str] = []
    for domain in domains:
        ops = [o for o in sdk.operations if o.domain == domain]
        views = [v for v in sdk.views if v.domain == domain]
        method_names = {o.method for o in ops}
        out += ["", "", f"class {camel(domain)}Api:"]
        out += docstring(f"The {domain} domain: api.{domain}_* functions and views.", "    ")
        out += [
            "",
            "    def __init__(self, transport: Transport) -> None:",
            "        self._t = transport",
        ]
        for v in views:
            attr = v.attribute + ("_view" if v.attribute in method_names else "")
            out += view_assignment(attr, v)
        for op in ops:
            out += ["", *render_method(op)]
    out += render_edge(sdk)
    out += ["", "", "class Domains:", '    """Every domain of the API, as attributes."""', ""]
    out += ["    def __init__(self, transport: Transport) -> None:"]
    for domain in domains:
        out.append(f"        self.{py_name(domain)} = {camel(domain)}Api(transport)")
    if not domains:
        out.append("        del transport")
    models = set(sdk.models) | set(sdk.aliases) | set(column_aliases(sdk))
    head = [
        HEADER + '"""One class per API domain: its RPCs as methods, its views as typed `View`s."""',
        "",
        "from __future__ import annotations",
        "",
        *imports(out, models=models),
        "",
        "__all__ = [",
        *[
            f'    "{name}",'
            for name in sorted(["Domains", "EdgeFunctions", *(f"{camel(d)}Api" for d in domains)])
        ],
        "]",
    ]
    return "\n".join(head + out) + "\n"


def render_edge(sdk: Sdk) -> list[str]:
    out = ["", "", "class EdgeFunctions:"]
    out += docstring("The edge service's routes (/functions/v1), one method each.", "    ")
    out += ["", "    def __init__(self, transport: Transport) -> None:"]
    out += ["        self._t = transport"]
    for op in sdk.edge:
        args = op.path_args + op.header_args + op.body_args
        args = sorted(args, key=lambda a: not a.required)
        out += ["", *signature(op.method, args, op.result)]
        out += docstring(op.doc or f"{op.http} {EDGE_PREFIX}{op.path}.", "        ")
        path = op.path
        for a in op.path_args:
            path = path.replace("{" + a.name + "}", "{_quote(" + a.py + ")}")
        body = ", ".join(f'"{a.name}": {a.py}' for a in op.body_args)
        headers = ", ".join(f'"{a.name}": {a.py}' for a in op.header_args)
        literal = f'f"{path}"' if op.path_args else f'"{path}"'
        call = f'return self._t.call_edge("{op.http}", {literal}, {op.result}'
        if op.body_args:
            call += f", json={{{body}}}"
        if op.header_args:
            call += f", headers={{{headers}}}"
        out.append(f"        {call})")
    return out


def signature(method: str, args: list[Arg], result: str) -> list[str]:
    params = ["self"] + (["*"] if args else [])
    for arg in args:
        if arg.required:
            params.append(f"{arg.py}: {arg.annotation}")
        else:
            ann = arg.annotation
            if "None" not in ann.split(" | "):
                ann = f"{ann} | None"
            params.append(f"{arg.py}: {ann} = None")
    return [f"    def {method}({', '.join(params)}) -> {result}:"]


def view_assignment(attr: str, v: ViewSpec) -> list[str]:
    return [
        f"        self.{attr}: View[{v.row}, {column_alias(v)}] = View(",
        f'            transport, "{v.view}", {v.row}, {column_alias(v)}.__args__',
        "        )",
    ]


def render_method(op: Operation) -> list[str]:
    """An RPC as a method (`ruff format` lays out the long lines)."""
    lines = signature(op.method, op.args, op.result)
    lines += docstring(op.doc or f"api.{op.function}.", "        ")
    mapping = ", ".join(f'"{a.name}": {a.py}' for a in op.args)
    lines.append(f'        return self._t.rpc("{op.function}", {{{mapping}}}, {op.result})')
    return lines
