"""The schema cache: what PostgREST knows about the exposed schemas, read from pg_catalog.

Relations (tables, views, materialized views) with their columns and primary keys,
functions with their arguments and return types, and relationships: the foreign keys of
tables, carried over to views through PostgREST's view dependency analysis — each view
column that is a plain reference to a base column (the `resorigtbl`/`resorigcol` of the
view query's target list in `pg_rewrite`) stands for that column, so a view exposes the
foreign keys whose columns it shows. Also the per-role settings PostgREST applies when it
switches role, and `pgrst.db_pre_request` from the authenticator's settings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import psycopg

from flagship.database import read_pre_request

RELATIONS = """
select c.oid::int as oid, n.nspname as schema, c.relname as name, c.relkind::text as kind,
       obj_description(c.oid, 'pg_class') as description,
       pg_relation_is_updatable(c.oid::regclass, true) as updatable,
       case when c.relkind = 'v' then
         (select r.ev_action::text from pg_rewrite r
           where r.ev_class = c.oid and r.rulename = '_RETURN')
       end as view_query
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where n.nspname = any(%(schemas)s) and c.relkind in ('r', 'v', 'm', 'f', 'p')
"""

COLUMNS = """
select a.attrelid::int as rel, a.attname as name, a.attnum::int as num,
       format_type(a.atttypid, a.atttypmod) as type, t.typname as typname,
       t.typcategory::text as category, a.attnotnull as not_null,
       pg_get_expr(d.adbin, d.adrelid) as default_expr,
       col_description(a.attrelid, a.attnum) as description,
       (select array_agg(e.enumlabel order by e.enumsortorder) from pg_enum e
         where e.enumtypid = a.atttypid) as enum_values
  from pg_attribute a
  join pg_type t on t.oid = a.atttypid
  left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
 where a.attrelid = any(%(oids)s::oid[]) and a.attnum > 0 and not a.attisdropped
 order by a.attrelid, a.attnum
"""

# Every foreign key and primary/unique key outside the system schemas: views in the
# exposed schemas reach base tables in the private domain schemas.
CONSTRAINTS = """
select c.conname as name, c.contype::text as type, c.conrelid::int as rel,
       c.confrelid::int as frel, c.conkey::int[] as cols, c.confkey::int[] as fcols
  from pg_constraint c join pg_namespace n on n.oid = c.connamespace
 where c.contype in ('f', 'p', 'u')
   and n.nspname not in ('pg_catalog', 'information_schema')
"""

BASE_COLUMNS = """
select a.attrelid::int as rel, a.attnum::int as num, a.attname as name, c.relkind::text as kind,
       case when c.relkind = 'v' then
         (select r.ev_action::text from pg_rewrite r
           where r.ev_class = c.oid and r.rulename = '_RETURN')
       end as view_query
  from pg_attribute a join pg_class c on c.oid = a.attrelid
 where a.attrelid = any(%(oids)s::oid[]) and a.attnum > 0 and not a.attisdropped
"""

FUNCTIONS = """
select p.oid::int as oid, n.nspname as schema, p.proname as name,
       p.provolatile::text as volatility, p.proretset as returns_set,
       format_type(p.prorettype, null) as return_type, t.typtype::text as return_typtype,
       t.typrelid::int as return_rel, p.pronargs::int as nargs,
       p.pronargdefaults::int as ndefaults,
       coalesce(p.proargnames, '{}') as arg_names,
       coalesce(p.proargmodes::text[], '{}') as arg_modes,
       array(select format_type(x, null)
               from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) x) as arg_types,
       obj_description(p.oid, 'pg_proc') as description
  from pg_proc p
  join pg_namespace n on n.oid = p.pronamespace
  join pg_type t on t.oid = p.prorettype
 where n.nspname = any(%(schemas)s) and p.prokind = 'f'
"""

ROLE_SETTINGS = """
select r.rolname as role, unnest(s.setconfig) as setting
  from pg_db_role_setting s join pg_roles r on r.oid = s.setrole
 where s.setdatabase in (0, (select oid from pg_database where datname = current_database()))
   and r.rolname = any(%(roles)s)
 order by s.setdatabase
"""

TARGET_ENTRY = re.compile(
    r":resno (\d+) :resname (\S+) :ressortgroupref \d+ :resorigtbl (\d+) :resorigcol (\d+)"
)


@dataclass
class Column:
    name: str
    num: int
    type: str
    typname: str
    category: str
    not_null: bool
    default: str | None
    description: str | None
    enum: list[str] | None

    @property
    def is_json(self) -> bool:
        return self.typname in ("json", "jsonb")


@dataclass
class Relationship:
    """`source` embeds `target`; `columns` pairs source column → target column."""

    source: tuple[str, str]
    target: tuple[str, str]
    columns: list[tuple[str, str]]
    constraint: str
    to_one: bool  # many-to-one (the source holds the foreign key)


@dataclass
class Relation:
    oid: int
    schema: str
    name: str
    kind: str
    description: str | None
    insertable: bool
    updatable: bool
    deletable: bool
    columns: dict[str, Column] = field(default_factory=dict)
    primary_key: list[str] = field(default_factory=list)
    relationships: list[Relationship] = field(default_factory=list)


@dataclass
class Argument:
    name: str
    type: str
    has_default: bool
    variadic: bool


@dataclass
class Function:
    oid: int
    schema: str
    name: str
    volatility: str
    returns_set: bool
    return_type: str
    return_rel: tuple[str, str] | None  # a relation of the exposed schemas it returns
    returns_composite: bool
    returns_table: bool  # RETURNS TABLE / OUT parameters
    args: list[Argument]
    description: str | None

    @property
    def read_only(self) -> bool:
        return self.volatility in ("s", "i")

    @property
    def required(self) -> set[str]:
        return {a.name for a in self.args if not a.has_default}

    @property
    def single_unnamed_json(self) -> bool:
        return (
            len(self.args) == 1
            and not self.args[0].name
            and self.args[0].type
            in (
                "json",
                "jsonb",
            )
        )


@dataclass
class SchemaCache:
    schemas: tuple[str, ...]
    relations: dict[tuple[str, str], Relation]
    functions: dict[tuple[str, str], list[Function]]
    role_settings: dict[str, dict[str, str]]
    pre_request: str | None  # regproc text of pgrst.db_pre_request, as as_caller runs it

    def relation(self, schema: str, name: str) -> Relation | None:
        return self.relations.get((schema, name))


def _updatable(mask: int, kind: str) -> tuple[bool, bool, bool]:
    if kind in ("r", "p"):
        return True, True, True
    # pg_relation_is_updatable: 4 = INSERT, 8 = UPDATE, 16 = DELETE
    return bool(mask & 8), bool(mask & 4), bool(mask & 16)


def _view_columns(query: str | None) -> dict[int, tuple[int, int]]:
    """{view attnum: (base rel oid, base attnum)} for plain column references."""
    found: dict[int, tuple[int, int]] = {}
    for resno, _name, tbl, col in TARGET_ENTRY.findall(query or ""):
        if int(tbl):
            # The last entry with a given resno is the view's own target list (the range
            # table's subqueries come before it in the node text).
            found[int(resno)] = (int(tbl), int(col))
    return found


def load(conn: psycopg.Connection, schemas: tuple[str, ...]) -> SchemaCache:
    """Read the whole cache in one transaction (run as the application role)."""
    params = {"schemas": list(schemas)}
    relations: dict[tuple[str, str], Relation] = {}
    by_oid: dict[int, Relation] = {}
    view_queries: dict[int, str | None] = {}
    for row in conn.execute(RELATIONS, params).fetchall():
        ins, upd, dele = _updatable(row["updatable"] or 0, row["kind"])
        rel = Relation(
            row["oid"],
            row["schema"],
            row["name"],
            row["kind"],
            row["description"],
            ins,
            upd,
            dele,
        )
        relations[(rel.schema, rel.name)] = rel
        by_oid[rel.oid] = rel
        view_queries[rel.oid] = row["view_query"]
    for row in conn.execute(COLUMNS, {"oids": list(by_oid)}).fetchall():
        by_oid[row["rel"]].columns[row["name"]] = Column(
            row["name"],
            row["num"],
            row["type"],
            row["typname"],
            row["category"],
            row["not_null"],
            row["default_expr"],
            row["description"],
            row["enum_values"],
        )
    constraints = conn.execute(CONSTRAINTS).fetchall()
    _keys_and_relationships(conn, by_oid, view_queries, constraints)
    functions = _functions(conn, params, by_oid)
    role_settings: dict[str, dict[str, str]] = {}
    roles = ["anon", "authenticated", "service_role"]
    for row in conn.execute(ROLE_SETTINGS, {"roles": roles}).fetchall():
        key, _, value = row["setting"].partition("=")
        role_settings.setdefault(row["role"], {})[key] = value
    # The one lookup as_caller also uses, read afresh on every reload.
    pre_request = read_pre_request(conn)
    return SchemaCache(schemas, relations, functions, role_settings, pre_request)


def _keys_and_relationships(conn, by_oid, view_queries, constraints) -> None:
    """Primary keys of exposed relations, and relationships between them."""
    # Where each exposed relation's columns come from: (base oid, attnum) → [(rel, name)].
    origin: dict[tuple[int, int], list[tuple[Relation, str]]] = {}
    pending = {oid: view_queries[oid] for oid, rel in by_oid.items() if rel.kind == "v"}
    for rel in by_oid.values():
        if rel.kind != "v":
            for col in rel.columns.values():
                origin.setdefault((rel.oid, col.num), []).append((rel, col.name))
    # Views: follow plain column references down to base tables (views over views too).
    base_cache: dict[int, dict[int, tuple[str, str | None]]] = {}

    def resolve(oid: int, num: int, depth: int = 0) -> tuple[int, int]:
        if depth > 10:
            return oid, num
        info = base_cache.get(oid)
        if info is None:
            info = {}
            for row in conn.execute(BASE_COLUMNS, {"oids": [oid]}).fetchall():
                info[row["num"]] = (row["kind"], row["view_query"])
            base_cache[oid] = info
        kind, query = info.get(num, ("r", None))
        if kind != "v":
            return oid, num
        inner = _view_columns(query).get(num)
        return resolve(*inner, depth + 1) if inner else (oid, num)

    for oid, query in pending.items():
        rel = by_oid[oid]
        nums = {c.num: c.name for c in rel.columns.values()}
        for resno, (tbl, col) in _view_columns(query).items():
            if resno in nums:
                origin.setdefault(resolve(tbl, col), []).append((rel, nums[resno]))
    keys: dict[int, list[list[int]]] = {}
    for con in constraints:
        if con["type"] in ("p", "u"):
            keys.setdefault(con["rel"], []).append(con["cols"])
        if con["type"] == "p" and con["rel"] in by_oid:
            rel = by_oid[con["rel"]]
            names = {c.num: c.name for c in rel.columns.values()}
            rel.primary_key = [names[n] for n in con["cols"] if n in names]
    # Views inherit the primary key of their base table when they show all of its columns.
    for con in constraints:
        if con["type"] != "p":
            continue
        for rel, cols in _exposures(origin, con["rel"], con["cols"]):
            if rel.kind == "v" and not rel.primary_key:
                rel.primary_key = cols
    for con in constraints:
        if con["type"] != "f":
            continue
        sources = _exposures(origin, con["rel"], con["cols"])
        targets = _exposures(origin, con["frel"], con["fcols"])
        for src, src_cols in sources:
            for tgt, tgt_cols in targets:
                pairs = list(zip(src_cols, tgt_cols, strict=True))
                src.relationships.append(
                    Relationship(
                        (src.schema, src.name), (tgt.schema, tgt.name), pairs, con["name"], True
                    )
                )
                tgt.relationships.append(
                    Relationship(
                        (tgt.schema, tgt.name),
                        (src.schema, src.name),
                        [(b, a) for a, b in pairs],
                        con["name"],
                        False,
                    )
                )


def _exposures(origin, oid: int, nums: list[int]) -> list[tuple[Relation, list[str]]]:
    """Exposed relations that show all the columns `nums` of base relation `oid`."""
    per_rel: dict[int, tuple[Relation, dict[int, str]]] = {}
    for num in nums:
        for rel, name in origin.get((oid, num), []):
            per_rel.setdefault(rel.oid, (rel, {}))[1].setdefault(num, name)
    return [
        (rel, [cols[n] for n in nums]) for rel, cols in per_rel.values() if len(cols) == len(nums)
    ]


def _functions(conn, params, by_oid) -> dict[tuple[str, str], list[Function]]:
    functions: dict[tuple[str, str], list[Function]] = {}
    for row in conn.execute(FUNCTIONS, params).fetchall():
        modes = row["arg_modes"] or ["i"] * len(row["arg_types"])
        names = list(row["arg_names"]) + [""] * (len(row["arg_types"]) - len(row["arg_names"]))
        inputs = [
            (names[i], row["arg_types"][i], modes[i])
            for i in range(len(row["arg_types"]))
            if modes[i] in ("i", "b", "v")
        ]
        first_default = len(inputs) - row["ndefaults"]
        args = [
            Argument(name, typ, i >= first_default, mode == "v")
            for i, (name, typ, mode) in enumerate(inputs)
        ]
        rel = by_oid.get(row["return_rel"]) if row["return_rel"] else None
        fn = Function(
            row["oid"],
            row["schema"],
            row["name"],
            row["volatility"],
            row["returns_set"],
            row["return_type"],
            (rel.schema, rel.name) if rel else None,
            row["return_typtype"] == "c" or row["return_type"] == "record",
            "t" in modes or "o" in modes or "b" in modes,
            args,
            row["description"],
        )
        functions.setdefault((fn.schema, fn.name), []).append(fn)
    return functions
