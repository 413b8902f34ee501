"""What the `api` schema offers, read from pg_catalog of a migrated database.

The reference is generated from the database itself, so it cannot drift from what PostgREST
serves: functions (arguments, result, volatility, COMMENT, grants, body), views (columns,
nullability, writability, COMMENT, grants), each object's API-key scope declaration
(accounts.api_object_scopes), the JSON Schema of jsonb results (ops.api_result_shapes) and
the error catalogue (ops.error_codes). Which codes a function can raise is worked out in
`flagship.reference.raises`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import psycopg

from flagship.database import read_pre_request
from flagship.reference import raises

API_ROLES = ("anon", "authenticated", "service_role")

FUNCTIONS = """
select p.oid::int as oid, p.proname as name, p.provolatile::text as volatility,
       p.prosecdef as definer, p.proretset as returns_set, p.prorettype::int as return_type,
       p.pronargs::int as nargs, p.pronargdefaults::int as ndefaults,
       pg_get_expr(p.proargdefaults, 0) as defaults,
       coalesce(p.proargnames, '{}') as arg_names,
       coalesce(p.proargmodes::text[], '{}') as arg_modes,
       coalesce(p.proallargtypes::int[], p.proargtypes::int[]) as arg_types,
       obj_description(p.oid, 'pg_proc') as comment,
       pg_get_function_identity_arguments(p.oid) as identity,
       array(select a.grantee::regrole::text from aclexplode(coalesce(p.proacl,
               acldefault('f', p.proowner))) as a
              where a.privilege_type = 'EXECUTE' and a.grantee <> 0
              union select 'public' from aclexplode(coalesce(p.proacl,
               acldefault('f', p.proowner))) as a
              where a.privilege_type = 'EXECUTE' and a.grantee = 0) as grantees
  from pg_proc as p join pg_namespace as n on n.oid = p.pronamespace
 where n.nspname = %(schema)s and p.prokind = 'f'
 order by p.proname, pg_get_function_identity_arguments(p.oid)
"""

VIEWS = """
select c.oid::int as oid, c.relname as name, c.relkind::text as kind,
       obj_description(c.oid, 'pg_class') as comment,
       pg_relation_is_updatable(c.oid::regclass, true) as updatable,
       (select r.ev_action::text from pg_rewrite as r
         where r.ev_class = c.oid and r.rulename = '_RETURN') as query,
       array(select a.grantee::regrole::text || ':' || a.privilege_type
               from aclexplode(c.relacl) as a where a.grantee <> 0) as privileges
  from pg_class as c join pg_namespace as n on n.oid = c.relnamespace
 where n.nspname = %(schema)s and c.relkind in ('v', 'm', 'r')
 order by c.relname
"""

COLUMNS = """
select a.attrelid::int as rel, a.attname as name, a.attnum::int as num,
       a.atttypid::int as type, a.attnotnull as not_null,
       col_description(a.attrelid, a.attnum) as comment
  from pg_attribute as a
 where a.attrelid = any(%(oids)s::oid[]) and a.attnum > 0 and not a.attisdropped
 order by a.attrelid, a.attnum
"""

TYPES = """
select t.oid::int as oid, format_type(t.oid, null) as name, t.typname as typname,
       t.typtype::text as kind, t.typcategory::text as category, t.typelem::int as elem,
       t.typrelid::int as rel, t.typbasetype::int as base,
       (select array_agg(e.enumlabel::text order by e.enumsortorder) from pg_enum as e
         where e.enumtypid = t.oid) as labels
  from pg_type as t where t.oid = any(%(oids)s::oid[])
"""

# A view column that is a plain reference to a base column: (resno, base rel, base attnum).
TARGET_ENTRY = re.compile(
    r":resno (\d+) :resname \S+ :ressortgroupref \d+ :resorigtbl (\d+) :resorigcol (\d+)"
)
OUTER_JOIN = re.compile(r":jointype [123]\b")


@dataclass
class PgType:
    oid: int
    name: str  # format_type: "text", "uuid[]", "learning.course_level"
    typname: str
    kind: str  # b base, c composite, e enum, d domain, p pseudo
    category: str  # A array, ...
    elem: int
    rel: int
    base: int
    labels: list[str] | None


@dataclass
class Field:
    """A column of a view or composite type, or an OUT/TABLE column of a function."""

    name: str
    type: int
    nullable: bool = True
    comment: str | None = None


@dataclass
class Argument:
    name: str
    type: int
    default: str | None  # the SQL expression, None when the argument is required
    variadic: bool = False


@dataclass
class Scope:
    """A row of accounts.api_object_scopes (None on the object when it has none)."""

    access: str  # scope | any_key | session
    scope: str | None
    write_scope: str | None


@dataclass
class Function:
    name: str
    identity: str
    volatility: str  # i, s, v
    definer: bool
    returns_set: bool
    return_type: int
    columns: list[Field]  # OUT / TABLE columns (empty otherwise)
    args: list[Argument]
    comment: str | None
    grantees: list[str]
    scope: Scope | None = None
    shape: dict[str, Any] | None = None  # ops.api_result_shapes, jsonb results only
    errors: list[str] = field(default_factory=list)

    @property
    def read_only(self) -> bool:
        return self.volatility in ("i", "s")


@dataclass
class View:
    name: str
    kind: str
    comment: str | None
    insertable: bool
    updatable: bool
    deletable: bool
    columns: list[Field]
    privileges: dict[str, set[str]]  # role → {SELECT, INSERT, ...}
    scope: Scope | None = None
    errors: list[str] = field(default_factory=list)


@dataclass
class ErrorCode:
    code: str
    sqlstate: str
    http_status: int
    description: str


@dataclass
class Catalogue:
    schema: str
    functions: list[Function]
    views: list[View]
    types: dict[int, PgType]
    composites: dict[int, list[Field]]  # typrelid → attributes
    errors: dict[str, ErrorCode]
    request_errors: list[str]  # raised by the pre-request function on every request
    shapes_declared: int  # rows in ops.api_result_shapes (0 while the registry is empty)

    def type(self, oid: int) -> PgType:
        return self.types[oid]


def split_defaults(text: str | None) -> list[str]:
    """`pg_get_expr(proargdefaults)` ("NULL::text, 20, '{}'::jsonb") → one string each."""
    if not text:
        return []
    out, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(text):
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch in "([":
            depth += 1
        elif not quoted and ch in ")]":
            depth -= 1
        elif not quoted and depth == 0 and ch == ",":
            out.append(text[start:i].strip())
            start = i + 1
    out.append(text[start:].strip())
    return out


def _table_exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null as e", (name,)).fetchone()["e"]


def _functions(conn: psycopg.Connection, schema: str) -> list[Function]:
    out = []
    for row in conn.execute(FUNCTIONS, {"schema": schema}).fetchall():
        types = row["arg_types"] or []
        modes = row["arg_modes"] or ["i"] * len(types)
        names = list(row["arg_names"]) + [""] * (len(types) - len(row["arg_names"]))
        inputs = [i for i, m in enumerate(modes) if m in ("i", "b", "v")]
        defaults = split_defaults(row["defaults"])
        first_default = len(inputs) - len(defaults)
        args = [
            Argument(
                names[i],
                types[i],
                defaults[k - first_default] if k >= first_default else None,
                modes[i] == "v",
            )
            for k, i in enumerate(inputs)
        ]
        columns = [Field(names[i], types[i]) for i, m in enumerate(modes) if m in ("o", "b", "t")]
        out.append(
            Function(
                row["name"],
                row["identity"],
                row["volatility"],
                row["definer"],
                row["returns_set"],
                row["return_type"],
                columns,
                args,
                row["comment"],
                sorted(g for g in row["grantees"] if g in (*API_ROLES, "public")),
            )
        )
    return out


def _not_null_origins(conn: psycopg.Connection, query: str | None) -> set[int]:
    """View columns (resno) that are plain references to NOT NULL base columns, unless the
    view has an outer join (which can make any of them null)."""
    if not query or OUTER_JOIN.search(query):
        return set()
    refs = {int(r): (int(t), int(c)) for r, t, c in TARGET_ENTRY.findall(query) if int(t)}
    if not refs:
        return set()
    rows = conn.execute(
        "select attrelid::int as rel, attnum::int as num from pg_attribute"
        " where attnotnull and attrelid = any(%s::oid[])",
        (sorted({t for t, _ in refs.values()}),),
    ).fetchall()
    not_null = {(r["rel"], r["num"]) for r in rows}
    return {resno for resno, origin in refs.items() if origin in not_null}


def _views(conn: psycopg.Connection, schema: str) -> list[View]:
    rows = conn.execute(VIEWS, {"schema": schema}).fetchall()
    columns: dict[int, list[tuple[int, Field, bool]]] = {}
    for col in conn.execute(COLUMNS, {"oids": [r["oid"] for r in rows]}).fetchall():
        columns.setdefault(col["rel"], []).append(
            (col["num"], Field(col["name"], col["type"], True, col["comment"]), col["not_null"])
        )
    out = []
    for row in rows:
        mask = row["updatable"] or 0  # pg_relation_is_updatable: 8 INSERT, 4 UPDATE, 16 DELETE
        known = _not_null_origins(conn, row["query"]) if row["kind"] == "v" else set()
        fields = []
        for num, fld, not_null in columns.get(row["oid"], []):
            fld.nullable = not (not_null or num in known)
            fields.append(fld)
        privileges: dict[str, set[str]] = {}
        for entry in row["privileges"]:
            role, _, privilege = entry.rpartition(":")
            if role in API_ROLES:
                privileges.setdefault(role, set()).add(privilege)
        table = row["kind"] == "r"
        out.append(
            View(
                row["name"],
                row["kind"],
                row["comment"],
                table or bool(mask & 8),
                table or bool(mask & 4),
                table or bool(mask & 16),
                fields,
                privileges,
            )
        )
    return out


def _types(conn: psycopg.Connection, oids: set[int]) -> tuple[dict[int, PgType], dict]:
    """Every type reached from `oids`: array elements, domain bases, composite attributes."""
    types: dict[int, PgType] = {}
    composites: dict[int, list[Field]] = {}
    todo = set(oids)
    while todo:
        for row in conn.execute(TYPES, {"oids": sorted(todo)}).fetchall():
            types[row["oid"]] = PgType(**row)
        todo = set()
        for t in types.values():
            for nxt in (t.elem, t.base):
                if nxt and nxt not in types:
                    todo.add(nxt)
            if t.kind == "c" and t.rel and t.rel not in composites:
                composites[t.rel] = []
                attrs = conn.execute(COLUMNS, {"oids": [t.rel]}).fetchall()
                for a in attrs:
                    composites[t.rel].append(Field(a["name"], a["type"], not a["not_null"]))
                    if a["type"] not in types:
                        todo.add(a["type"])
    return types, composites


def _scopes(conn: psycopg.Connection) -> dict[str, Scope]:
    if not _table_exists(conn, "accounts.api_object_scopes"):
        return {}
    rows = conn.execute(
        "select object, access, scope, write_scope from accounts.api_object_scopes"
    ).fetchall()
    return {r["object"]: Scope(r["access"], r["scope"], r["write_scope"]) for r in rows}


def _shapes(conn: psycopg.Connection) -> dict[str, dict[str, Any]]:
    if not _table_exists(conn, "ops.api_result_shapes"):
        return {}
    rows = conn.execute("select object, shape from ops.api_result_shapes").fetchall()
    return {r["object"]: r["shape"] for r in rows}


def _error_codes(conn: psycopg.Connection) -> dict[str, ErrorCode]:
    if not _table_exists(conn, "ops.error_codes"):
        return {}
    rows = conn.execute(
        "select code, sqlstate, http_status, description from ops.error_codes order by code"
    ).fetchall()
    return {r["code"]: ErrorCode(**r) for r in rows}


def load(conn: psycopg.Connection, schema: str = "api") -> Catalogue:
    """Read everything the reference needs, in the caller's transaction (dict rows)."""
    functions = _functions(conn, schema)
    views = _views(conn, schema)
    oids = {f.return_type for f in functions}
    oids |= {a.type for f in functions for a in f.args} | {
        c.type for f in functions for c in f.columns
    }
    oids |= {c.type for v in views for c in v.columns}
    types, composites = _types(conn, oids)
    scopes = _scopes(conn)
    shapes = _shapes(conn)
    codes = _error_codes(conn)
    graph = raises.CallGraph.load(conn, codes)
    for fn in functions:
        fn.scope = scopes.get(f"{schema}.{fn.name}")
        if types[fn.return_type].typname in ("json", "jsonb"):
            fn.shape = shapes.get(f"{schema}.{fn.name}")
        fn.errors = graph.errors_of_function(schema, fn.name, fn.comment)
    for view in views:
        view.scope = scopes.get(f"{schema}.{view.name}")
        view.errors = graph.errors_of_view(schema, view.name, view.comment)
    pre_request = read_pre_request(conn)
    request_errors = graph.errors_of_regproc(pre_request) if pre_request else []
    return Catalogue(
        schema, functions, views, types, composites, codes, request_errors, len(shapes)
    )
