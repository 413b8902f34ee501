"""The SQL of each request, built from a parsed query and the schema cache.

Identifiers come from the request but are always quoted; every value is a bound
parameter (named `p0`, `p1`, ...), so the statement text depends only on the request's
shape and psycopg prepares it after a few uses.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from gateway.rest.errors import PgrstError, fuzzy_match
from gateway.rest.query import (
    FTS,
    IS_VALUES,
    OPERATORS,
    Embed,
    Field,
    Filter,
    Logic,
    OrderTerm,
    ParsedQuery,
    Scope,
    SelectItem,
)
from gateway.rest.schema_cache import Function, Relation, Relationship, SchemaCache


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, name: str) -> str:
    return f"{ident(schema)}.{ident(name)}"


def _array_item(value: str) -> str:
    """One element of a Postgres array literal, quoted."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass
class Params:
    values: dict[str, Any] = field(default_factory=dict)

    def add(self, value: Any) -> str:
        key = f"p{len(self.values)}"
        self.values[key] = value
        return f"%({key})s"


def field_sql(alias: str, f: Field) -> str:
    out = f"{ident(alias)}.{ident(f.name)}"
    for arrow, key in f.path:
        out += f"{arrow}{key if key.lstrip('-').isdigit() else _literal(key)}"
    return out


class Builder:
    """Builds read, write and RPC statements against one schema of the cache."""

    def __init__(self, cache: SchemaCache, schema: str) -> None:
        self.cache = cache
        self.schema = schema
        self.params = Params()
        self.depth = 0

    # -- relations and relationships -------------------------------------------------

    def relation(self, name: str) -> Relation:
        rel = self.cache.relation(self.schema, name)
        if rel is None:
            names = [n for (s, n) in self.cache.relations if s == self.schema]
            close = fuzzy_match(name, names, 0.6)
            raise PgrstError(
                404,
                "PGRST205",
                f"Could not find the table '{self.schema}.{name}' in the schema cache",
                None,
                f"Perhaps you meant the table '{self.schema}.{close}'" if close else None,
            )
        return rel

    def relationship(self, parent: Relation, embed: Embed) -> Relationship:
        def matches(r: Relationship) -> bool:
            if r.target[0] != self.schema:
                return False
            by_name = r.target[1] == embed.name or r.constraint == embed.name
            by_column = r.to_one and any(s == embed.name for s, _ in r.columns)
            if not (by_name or by_column):
                return False
            if embed.hint is None:
                return True
            return embed.hint == r.constraint or any(embed.hint in pair for pair in r.columns)

        found = [r for r in parent.relationships if matches(r)]
        if not found:
            targets = sorted({r.target[1] for r in parent.relationships})
            close = difflib.get_close_matches(embed.name, targets, n=1, cutoff=0.6)
            hint_part = f"' using the hint '{embed.hint}" if embed.hint else ""
            raise PgrstError(
                400,
                "PGRST200",
                f"Could not find a relationship between '{parent.name}' and '{embed.name}' "
                "in the schema cache",
                f"Searched for a foreign key relationship between '{parent.name}' and "
                f"'{embed.name}{hint_part}' in the schema '{self.schema}', but no matches "
                "were found.",
                f"Perhaps you meant '{close[0]}' instead of '{embed.name}'." if close else None,
            )
        unique = {(r.constraint, r.to_one): r for r in found}
        if len(unique) > 1:
            details = [
                {
                    "cardinality": "many-to-one" if r.to_one else "one-to-many",
                    "embedding": f"{parent.name} with {r.target[1]}",
                    "relationship": f"{r.constraint} using {parent.name}"
                    f"({', '.join(a for a, _ in r.columns)}) and {r.target[1]}"
                    f"({', '.join(b for _, b in r.columns)})",
                }
                for r in unique.values()
            ]
            options = ", ".join(f"'{r.target[1]}!{r.constraint}'" for r in unique.values())
            raise PgrstError(
                300,
                "PGRST201",
                f"Could not embed because more than one relationship was found for "
                f"'{parent.name}' and '{embed.name}'",
                details,
                f"Try changing '{embed.name}' to one of the following: {options}. "
                "Find the desired relationship in the 'details' key.",
            )
        return next(iter(unique.values()))

    # -- select lists ----------------------------------------------------------------

    def select_list(
        self, rel: Relation | None, items: list[SelectItem], alias: str, path: tuple, q
    ) -> str:
        parts = []
        for item in items:
            if item.embed is not None:
                if rel is None:
                    raise PgrstError(
                        400,
                        "PGRST200",
                        f"Could not find a relationship between '{alias}' and "
                        f"'{item.embed.name}' in the schema cache",
                        "The function does not return a relation of the exposed schema.",
                    )
                parts.append(self.embed_sql(rel, item.embed, alias, path, q))
            elif item.field is None:
                parts.append(f"{ident(alias)}.*")
            else:
                expr = field_sql(alias, item.field)
                if item.cast:
                    expr = f"({expr})::{item.cast}"
                parts.append(f"{expr} as {ident(item.alias or item.field.label)}")
        return ", ".join(parts) or f"{ident(alias)}.*"

    def embed_sql(self, parent: Relation, embed: Embed, parent_alias: str, path, q) -> str:
        rship = self.relationship(parent, embed)
        target = self.cache.relation(*rship.target)
        assert target is not None
        self.depth += 1
        alias = f"{target.name}_{self.depth}"
        sub = f"pgrst_e{self.depth}"
        child_path = (*path, embed.label)
        cols = self.select_list(target, embed.items, alias, child_path, q)
        join = [
            f"{ident(alias)}.{ident(t)} = {ident(parent_alias)}.{ident(s)}"
            for s, t in rship.columns
        ]
        scope = q.scopes.get(child_path, Scope())
        where = join + self.conditions(scope.filters, alias, target, embed.items, child_path, q)
        inner = f"select {cols} from {qualified(*rship.target)} {ident(alias)}"
        inner += " where " + " and ".join(where)
        inner += self.order_sql(scope.order, alias)
        inner += self.range_sql(scope.limit, scope.offset)
        if rship.to_one:
            value = f"(select row_to_json({sub}) from ({inner}) {sub})"
        else:
            value = f"coalesce((select json_agg({sub}) from ({inner}) {sub}), '[]'::json)"
        if embed.inner:
            embed.inner_sql = f"exists (select 1 from ({inner}) {sub})"  # type: ignore[attr-defined]
        embed.exists_sql = f"exists (select 1 from ({inner}) {sub})"  # type: ignore[attr-defined]
        return f"{value} as {ident(embed.label)}"

    # -- conditions ------------------------------------------------------------------

    def conditions(self, filters, alias: str, rel, items, path, q) -> list[str]:
        """WHERE terms: filters, then `!inner` embeds and `embed=is.null` filters."""
        embeds = {i.embed.label: i.embed for i in items if i.embed is not None}
        out = []
        for f in filters:
            if isinstance(f, Filter) and f.field.name in embeds and not f.field.path:
                embed = embeds[f.field.name]
                if f.op != "is" or f.value != "null":
                    raise PgrstError(
                        400,
                        "PGRST120",
                        f"Bad operator on the '{embed.label}' embedded resource",
                        "Only is null or not is null filters are allowed on embedded resources",
                    )
                exists = embed.exists_sql  # type: ignore[attr-defined]
                out.append(exists if f.negate else f"not {exists}")
                continue
            out.append(self.condition(f, alias))
        for embed in embeds.values():
            inner = getattr(embed, "inner_sql", None)
            if inner:
                out.append(inner)
        for key in q.scopes:
            if len(key) == len(path) + 1 and key[: len(path)] == path and key[-1] not in embeds:
                raise PgrstError(
                    400,
                    "PGRST108",
                    f"'{key[-1]}' is not an embedded resource in this request",
                    None,
                    f"Verify that '{key[-1]}' is included in the 'select' query parameter.",
                )
        return out

    def condition(self, f: Filter | Logic, alias: str) -> str:
        if isinstance(f, Logic):
            joined = f" {f.op} ".join(self.condition(c, alias) for c in f.children)
            return f"not ({joined})" if f.negate else f"({joined})"
        expr = field_sql(alias, f.field)
        op = f.op
        if op == "is":
            sql = f"{expr} is {IS_VALUES[f.value]}"
        elif op == "in":
            if not f.value:
                sql = "false"
            else:
                sql = f"{expr} in (" + ", ".join(self.params.add(v) for v in f.value) + ")"
        elif op in FTS:
            fn = FTS[op]
            if f.language:
                arg = f"{self.params.add(f.language)}::regconfig, {self.params.add(f.value)}"
            else:
                arg = self.params.add(f.value)
            sql = f"{expr} @@ {fn}({arg})"
        else:
            value = f.value
            if op in ("like", "ilike"):
                value = value.replace("*", "%")
            if f.quantifier:
                sql = f"{expr} {OPERATORS[op]} {f.quantifier}({self.params.add(value)})"
            else:
                sql = f"{expr} {OPERATORS[op]} {self.params.add(value)}"
        return f"not ({sql})" if f.negate else sql

    def order_sql(self, order: list[OrderTerm], alias: str) -> str:
        if not order:
            return ""
        terms = []
        for t in order:
            term = f"{field_sql(alias, t.field)} {'desc' if t.desc else 'asc'}"
            if t.nulls:
                term += f" nulls {t.nulls}"
            terms.append(term)
        return " order by " + ", ".join(terms)

    def range_sql(self, limit: int | None, offset: int | None) -> str:
        out = ""
        if limit is not None:
            out += f" limit {self.params.add(limit)}"
        if offset:
            out += f" offset {self.params.add(offset)}"
        return out

    # -- statements --------------------------------------------------------------------

    def read(self, rel: Relation, q: ParsedQuery, limit, offset) -> tuple[str, str]:
        """(source query, where clause) of a read; the where is reused for counts."""
        alias = rel.name
        cols = self.select_list(rel, q.select, alias, (), q)
        where = self.where_sql(q.scopes[()].filters, alias, rel, q.select, q)
        source = f"select {cols} from {qualified(rel.schema, rel.name)} {ident(alias)}{where}"
        source += self.order_sql(q.scopes[()].order, alias) + self.range_sql(limit, offset)
        return source, where

    def where_sql(self, filters, alias, rel, items, q) -> str:
        terms = self.conditions(filters, alias, rel, items, (), q)
        return " where " + " and ".join(terms) if terms else ""

    def body_columns(self, rel: Relation, keys: list[str]) -> list[str]:
        for k in keys:
            if k not in rel.columns:
                raise PgrstError(
                    400,
                    "PGRST204",
                    f"Could not find the '{k}' column of '{rel.name}' in the schema cache",
                )
        return keys

    def insert(self, rel, groups: list[tuple[list[str], str]], conflict: str) -> str:
        """One INSERT per group of rows sharing their keys; `conflict` is an ON CONFLICT."""
        target = qualified(rel.schema, rel.name)
        statements = []
        for i, (cols, body) in enumerate(groups):
            col_list = ", ".join(ident(c) for c in cols)
            src = f"json_populate_recordset(null::{target}, {self.params.add(body)}::json)"
            if cols:
                stmt = f"insert into {target} ({col_list}) select {col_list} from {src}"
            else:
                stmt = f"insert into {target} default values"
            statements.append((f"pgrst_ins{i}", f"{stmt}{conflict}"))
        return statements  # type: ignore[return-value]

    def conflict_sql(self, rel, cols: list[str], on: list[str] | None, resolution: str | None):
        if resolution is None:
            return ""
        keys = on or rel.primary_key
        if resolution == "ignore-duplicates":
            target = f" ({', '.join(ident(k) for k in keys)})" if keys else ""
            return f" on conflict{target} do nothing"
        if not keys:
            raise PgrstError(
                400,
                "PGRST100",
                "failed to parse on_conflict",
                f"'{rel.name}' has no primary key; name the columns with on_conflict",
            )
        sets = ", ".join(f"{ident(c)} = excluded.{ident(c)}" for c in cols) or (
            f"{ident(keys[0])} = excluded.{ident(keys[0])}"
        )
        return f" on conflict ({', '.join(ident(k) for k in keys)}) do update set {sets}"

    def update(self, rel: Relation, cols: list[str], body: str, where: str) -> str:
        target = qualified(rel.schema, rel.name)
        sets = ", ".join(f"{ident(c)} = pgrst_body.{ident(c)}" for c in cols)
        src = f"json_populate_record(null::{target}, {self.params.add(body)}::json)"
        return f"update {target} as {ident(rel.name)} set {sets} from {src} as pgrst_body{where}"

    def delete(self, rel: Relation, where: str) -> str:
        return f"delete from {qualified(rel.schema, rel.name)} as {ident(rel.name)}{where}"

    def call(
        self, fn: Function, args: dict[str, Any] | None, body: str | None, text_args: bool = False
    ) -> str:
        """The FROM item calling `fn`: named arguments through json_to_record."""
        target = qualified(fn.schema, fn.name)
        if body is not None:  # a single json/jsonb parameter takes the whole body
            arg = fn.args[0]
            value = f"{self.params.add(body)}::{arg.type}"
            return f"{target}({ident(arg.name)} := {value})" if arg.name else f"{target}({value})"
        if not args:
            return f"{target}()"
        if text_args:
            # GET: every value is text, read by the argument type's input function, as
            # PostgREST does; a repeated key is an array.
            parts = []
            for a in (a for a in fn.args if a.name in args):
                value = args[a.name]
                if isinstance(value, list):
                    value = "{" + ",".join(_array_item(v) for v in value) + "}"
                variadic = "variadic " if a.variadic else ""
                parts.append(f"{variadic}{ident(a.name)} := {self.params.add(value)}::{a.type}")
            return f"{target}({', '.join(parts)})"
        import json

        used = [a for a in fn.args if a.name in args]
        defs = ", ".join(f"{ident(a.name)} {a.type}" for a in used)
        record = f"json_to_record({self.params.add(json.dumps(args))}::json) as pgrst_args({defs})"
        named = ", ".join(
            f"{'variadic ' if a.variadic else ''}{ident(a.name)} := pgrst_args.{ident(a.name)}"
            for a in used
        )
        self.rpc_from = record  # type: ignore[attr-defined]
        return f"{target}({named})"
