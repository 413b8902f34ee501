"""docs/roles-and-scopes.md: its generated tables (roles, permissions, scopes and the api
objects each scope opens) match the database. Regenerate with

    FLAGSHIP_UPDATE_SCOPE_DOC=1 pytest tests/security/test_roles_scopes_doc.py
"""

from __future__ import annotations

import os
import re
from pathlib import Path

DOC = Path(__file__).parents[2] / "docs" / "roles-and-scopes.md"
BEGIN, END = "<!-- generated:begin -->", "<!-- generated:end -->"


def names(objects: list[str]) -> str:
    return ", ".join(f"`{o.removeprefix('api.')}`" for o in objects) or "—"


def render(db) -> str:
    """The generated part of the document, from accounts.* and pg_catalog."""
    out = [
        "### Roles and their permissions",
        "",
        "| role | rank | permissions |",
        "| --- | --- | --- |",
    ]
    for r in db.execute(
        """
        select r.name, r.rank,
               coalesce(string_agg('`' || rp.permission || '`', ', ' order by rp.permission), '')
                   as perms
        from accounts.roles as r
        left join accounts.role_permissions as rp on rp.role = r.name
        group by r.name, r.rank order by r.rank
        """
    ):
        out.append(f"| `{r['name']}` | {r['rank']} | {r['perms'] or '—'} |")
    out += ["", "| permission | meaning |", "| --- | --- |"]
    for p in db.execute("select name, description from accounts.permissions order by name"):
        out.append(f"| `{p['name']}` | {p['description']} |")
    out += [
        "",
        "### What anon may reach",
        "",
        "Functions: "
        + names(
            [
                r["o"]
                for r in db.execute(
                    "select distinct 'api.' || p.proname as o from pg_proc as p"
                    " where p.pronamespace = 'api'::regnamespace"
                    " and has_function_privilege('anon', p.oid, 'execute') order by 1"
                )
            ]
        )
        + ".",
        "",
        "Views: "
        + names(
            [
                r["o"]
                for r in db.execute(
                    "select 'api.' || c.relname as o from pg_class as c"
                    " where c.relnamespace = 'api'::regnamespace and c.relkind = 'v'"
                    " and has_table_privilege('anon', c.oid, 'select') order by 1"
                )
            ]
        )
        + ".",
        "",
        "### API key scopes",
        "",
        "| scope | what it allows | functions | views (read) |",
        "| --- | --- | --- | --- |",
    ]
    decl = db.execute("select * from accounts.api_object_scopes order by object").fetchall()
    for s in db.execute("select scope, description from accounts.api_scopes order by scope"):
        fns = [d["object"] for d in decl if d["scope"] == s["scope"] and d["kind"] == "function"]
        views = [d["object"] for d in decl if d["scope"] == s["scope"] and d["kind"] == "view"]
        out.append(f"| `{s['scope']}` | {s['description']} | {names(fns)} | {names(views)} |")
    writable = [d for d in decl if d["write_scope"]]
    out += [
        "",
        "Writes through views (POST/PATCH/DELETE) need a declared write scope; "
        + (
            "declared: " + ", ".join(f"`{d['object']}` → `{d['write_scope']}`" for d in writable)
            if writable
            else "no view declares one, so API keys cannot write through views"
        )
        + ".",
        "",
        "Any live key (no scope needed): "
        + names([d["object"] for d in decl if d["access"] == "any_key"])
        + ".",
        "",
        "Signed-in sessions only (no key, whatever its scopes): "
        + names([d["object"] for d in decl if d["access"] == "session"])
        + ".",
    ]
    return "\n".join(out)


def test_doc_tables_match_the_database(db):
    text = DOC.read_text()
    generated = render(db)
    pattern = re.compile(re.escape(BEGIN) + r"\n(?:.*?\n)?" + re.escape(END), re.S)
    assert pattern.search(text), f"{DOC.name} lacks the {BEGIN} … {END} block"
    if os.environ.get("FLAGSHIP_UPDATE_SCOPE_DOC"):
        DOC.write_text(pattern.sub(lambda _: f"{BEGIN}\n{generated}\n{END}", text))
        text = DOC.read_text()
    current = pattern.search(text).group(0)
    assert current == f"{BEGIN}\n{generated}\n{END}", (
        "docs/roles-and-scopes.md is out of date: FLAGSHIP_UPDATE_SCOPE_DOC=1 regenerates it"
    )


def test_doc_names_every_role_and_scope_in_its_prose(db):
    """The hand-written part describes each role and each scope at least once."""
    prose = DOC.read_text().split(BEGIN)[0]
    for r in db.execute("select name from accounts.roles"):
        assert f"`{r['name']}`" in prose, r["name"]
    for role in ("anon", "service_role"):
        assert f"`{role}`" in prose, role
    for s in db.execute("select scope from accounts.api_scopes"):
        assert f"`{s['scope']}`" in prose, s["scope"]
