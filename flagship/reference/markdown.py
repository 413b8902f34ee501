"""The API reference as Markdown pages, one per tag, rendered from the OpenAPI document.

The developer portal (`make docs`, mkdocs.yml) builds these pages from
docs/reference/openapi.json on every build (flagship/reference/portal_hooks.py); they are
never committed, so they cannot drift from the document. Each operation shows its
parameters, request and response schemas, the API-key scope it needs, how to authenticate
and the error codes it can answer, with their statuses.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
ROW_FILTER = "/parameters/rowFilter."
FILTER_HELP = (
    "PostgREST's operators such as `eq`, `neq`, `gt`, `lt`, `like`, `ilike`, `in.(a,b)`, "
    "`is.null`, `fts`; `not.` negates, `or=(...)` combines"
)
SCOPE_LINE = re.compile(r"\n*API-key scope: [^\n]*\s*$")
SCHEME_WORDS = {
    "apikey": "the anon key (`apikey`)",
    "anonKey": "the anon key (`apikey`)",
    "userSession": "a user's access token",
    "userJwt": "a user's access token",
    "apiKeyToken": "an API key token",
    "serviceRole": "the service role key",
}


def slug(text: str) -> str:
    """A file name / anchor for a tag or operation: lower case, dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "default"


def cell(text: Any) -> str:
    """Text safe inside a Markdown table cell: one line, no bare pipe. A code span with a
    pipe becomes inline HTML (inside backticks an escaped pipe would show its backslash)."""
    line = " ".join(str(text or "").split())

    def code(match: re.Match) -> str:
        return "<code>" + html.escape(match.group(1)).replace("|", "&#124;") + "</code>"

    line = re.sub(r"`([^`]*\|[^`]*)`", code, line)
    return line.replace("|", "\\|")


def scope_words(scope: Any) -> str:
    """What an API key needs for an operation (`x-flagship-scope`)."""
    if isinstance(scope, str):
        return f"`{scope}`"
    access = scope.get("access")
    if access == "scope":
        return f"`{scope.get('scope')}`"
    if access == "any_key":
        return "any API key (no particular scope)"
    if access == "session":
        return "none: signed-in sessions only, never an API key"
    return f"`{json.dumps(scope, sort_keys=True)}`"


class Renderer:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.components = doc.get("components", {})
        self.codes = doc.get("x-flagship-error-codes", {})

    # -- references --------------------------------------------------------------

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        """Follow one local `$ref` (`#/components/<kind>/<name>`)."""
        ref = node.get("$ref")
        if not ref:
            return node
        found: Any = self.doc
        try:
            for part in ref.removeprefix("#/").split("/"):
                found = found[part.replace("~1", "/").replace("~0", "~")]
        except (KeyError, TypeError):
            # A reference local to an embedded schema (its own `$defs`): shown by name.
            return {}
        return found

    def type_of(self, schema: dict[str, Any]) -> str:
        """A short type label: `string (uuid)`, `array of learning_courses`, `object`."""
        if "$ref" in schema:
            return f"`{schema['$ref'].rsplit('/', 1)[-1]}`"
        kind = schema.get("type", "any")
        if isinstance(kind, list):
            kind = " or ".join(k for k in kind)
        if kind == "array" and "items" in schema:
            return f"array of {self.type_of(schema['items'])}"
        if "format" in schema:
            kind = f"{kind} ({schema['format']})"
        if "enum" in schema:
            kind += ": " + ", ".join(f"`{v}`" for v in schema["enum"])
        for key in ("oneOf", "anyOf"):
            if key in schema:
                kind = " or ".join(self.type_of(s) for s in schema[key])
        return kind

    # -- blocks ------------------------------------------------------------------

    def properties(self, schema: dict[str, Any], title: str) -> list[str]:
        """A table of an object schema's properties (one level), else the schema as JSON."""
        name = schema.get("$ref", "").rsplit("/", 1)[-1]
        shown = self.resolve(schema)
        if shown.get("type") == "array" and "items" in shown:
            name = shown["items"].get("$ref", "").rsplit("/", 1)[-1] or name
            title = f"{title} (an array of)"
            shown = self.resolve(shown["items"])
        label = f"{title}: `{name}`" if name else title
        props = shown.get("properties")
        if not props:
            text = json.dumps(shown, indent=2, sort_keys=True)
            return [f"**{label}**", "", "```json", text, "```", ""]
        required = set(shown.get("required", []))
        out = [f"**{label}**", "", "| field | type | required | description |"]
        out.append("| --- | --- | --- | --- |")
        for key, prop in props.items():
            mark = "yes" if key in required else ""
            out.append(
                f"| `{key}` | {cell(self.type_of(prop))} | {mark} | "
                f"{cell(self.resolve(prop).get('description'))} |"
            )
        return [*out, ""]

    def parameters(self, op: dict[str, Any]) -> list[str]:
        refs = op.get("parameters", [])
        filters = [self.resolve(p)["name"] for p in refs if ROW_FILTER in p.get("$ref", "")]
        params = [self.resolve(p) for p in refs if ROW_FILTER not in p.get("$ref", "")]
        out: list[str] = []
        if filters:
            # One line for the row filters: their long description is the same for each.
            names = ", ".join(f"`{n}`" for n in filters)
            syntax = f"`?<column>=<operator>.<value>`, {FILTER_HELP}"
            out += [f"**Row filters** ({syntax}): {names}.", ""]
        if not params:
            return out
        out += ["**Parameters**", "", "| name | in | type | required | description |"]
        out.append("| --- | --- | --- | --- | --- |")
        for p in params:
            out.append(
                f"| `{p['name']}` | {p['in']} | {cell(self.type_of(p.get('schema', {})))} | "
                f"{'yes' if p.get('required') else ''} | {cell(p.get('description'))} |"
            )
        return [*out, ""]

    def request_body(self, op: dict[str, Any]) -> list[str]:
        body = op.get("requestBody")
        if not body:
            return []
        body = self.resolve(body)
        for media, content in body.get("content", {}).items():
            if "schema" in content:
                return self.properties(content["schema"], f"Request body ({media})")
        return []

    def responses(self, op: dict[str, Any]) -> list[str]:
        out = ["**Responses**", "", "| status | meaning |", "| --- | --- |"]
        success: list[str] = []
        errors: list[tuple[str, str]] = []
        for status, response in op.get("responses", {}).items():
            response = self.resolve(response)
            codes = response.get("x-flagship-errors", [])
            errors += [(status, code) for code in codes]
            meaning = (response.get("description") or "").split("\n", 1)[0]
            if codes:
                meaning = "refused: " + ", ".join(f"`{c}`" for c in codes)
            out.append(f"| {status} | {cell(meaning)} |")
            if status.startswith("2") and not success:
                for media, content in response.get("content", {}).items():
                    if "schema" in content and "json" in media:
                        success = self.properties(content["schema"], f"Response {status}")
                        break
        out += ["", *success]
        if errors:
            out += ["**Errors** (the code is in `hint`)", ""]
            out += ["| code | HTTP | SQLSTATE | meaning |", "| --- | --- | --- | --- |"]
            for status, code in errors:
                meta = self.codes.get(code, {})
                out.append(
                    f"| `{code}` | {status} | {meta.get('sqlstate', '')} | "
                    f"{cell(meta.get('description'))} |"
                )
            out.append("")
        return out

    def security(self, op: dict[str, Any]) -> list[str]:
        alternatives = op.get("security", self.doc.get("security"))
        lines: list[str] = []
        if alternatives == []:
            lines.append("**Authentication**: none.")
        elif alternatives:
            ways = [
                " + ".join(SCHEME_WORDS.get(name, f"`{name}`") for name in alt) or "none"
                for alt in alternatives
            ]
            lines.append("**Authentication** (one of): " + "; ".join(ways) + ".")
        scope = op.get("x-flagship-scope")
        if scope:
            lines += ["", f"**API-key scope**: {scope_words(scope)}."]
        return [*lines, ""] if lines else []

    def operation(self, path: str, method: str, op: dict[str, Any]) -> list[str]:
        title = op.get("summary") or op.get("operationId") or path
        out = [f"## {cell(title)}", "", f"`{method.upper()} {path}`", ""]
        # The scope is shown in its own line below, with what it means.
        description = SCOPE_LINE.sub("", op.get("description") or "").strip()
        if description:
            out += [description, ""]
        out += self.security(op)
        out += self.parameters(op)
        out += self.request_body(op)
        out += self.responses(op)
        return out

    # -- pages -------------------------------------------------------------------

    def by_tag(self) -> dict[str, list[tuple[str, str, dict[str, Any]]]]:
        tags: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
            t["name"]: [] for t in self.doc.get("tags", [])
        }
        for path, item in self.doc.get("paths", {}).items():
            for method in METHODS:
                if method in item:
                    op = item[method]
                    for tag in op.get("tags") or ["default"]:
                        tags.setdefault(tag, []).append((path, method, op))
        return {tag: ops for tag, ops in tags.items() if ops}

    def tag_page(self, tag: str, ops: list[tuple[str, str, dict[str, Any]]]) -> str:
        described = {t["name"]: t.get("description") for t in self.doc.get("tags", [])}
        out = [f"# {tag}", ""]
        if described.get(tag):
            out += [described[tag], ""]
        out += [f"{len(ops)} operations; every tag: [API reference](overview.md).", ""]
        for path, method, op in ops:
            out += self.operation(path, method, op)
        return "\n".join(out)

    def index_page(self, tags: dict[str, list]) -> str:
        info = self.doc.get("info", {})
        title = f"{info.get('title', 'API')} {info.get('version', '')}".rstrip()
        out = [f"# API reference: {title}", ""]
        if info.get("description"):
            out += [info["description"].strip(), ""]
        out += [
            "Generated from `docs/reference/openapi.json` on every build of this portal. "
            "How to authenticate is on [Authentication](../authentication.md); what each role "
            "and API-key scope may do is on [Roles and scopes](../roles-and-scopes.md); the "
            "interactive playground is served by the gateway at `/docs`; how the document is "
            "generated is on [The API reference](README.md).",
            "",
            "| tag | operations | about |",
            "| --- | --- | --- |",
        ]
        described = {t["name"]: t.get("description", "") for t in self.doc.get("tags", [])}
        for tag, ops in tags.items():
            out.append(f"| [{tag}]({slug(tag)}.md) | {len(ops)} | {cell(described.get(tag))} |")
        out += ["", "## Error codes", "", "| code | HTTP | meaning |", "| --- | --- | --- |"]
        for code, meta in sorted(self.codes.items()):
            meta = meta if isinstance(meta, dict) else {"description": meta}
            status = meta.get("http_status", meta.get("status", ""))
            out.append(f"| `{code}` | {status} | {cell(meta.get('description'))} |")
        return "\n".join(out) + "\n"


def render(doc: dict[str, Any]) -> dict[str, str]:
    """Page name (relative to the reference folder) -> Markdown: `overview.md` (every tag and
    error code) and one page per tag. (`index.md` is left to the folder's README.md.)"""
    renderer = Renderer(doc)
    tags = renderer.by_tag()
    pages = {"overview.md": renderer.index_page(tags)}
    for tag, ops in tags.items():
        pages[f"{slug(tag)}.md"] = renderer.tag_page(tag, ops)
    return pages


def tag_titles(doc: dict[str, Any]) -> dict[str, str]:
    """Page name -> tag, in the document's order, for the portal's navigation."""
    return {f"{slug(tag)}.md": tag for tag in Renderer(doc).by_tag()}
