"""From a request to a statement: which relation or function, which SQL, which answer.

`plan_request` checks everything it can before the database is touched (parse errors,
unknown tables/functions/columns, unsafe updates); `Plan.run` executes inside the caller's
transaction and returns what the response writer needs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import psycopg

from gateway.config import GatewayConfig
from gateway.rest import negotiate
from gateway.rest.errors import PgrstError, fuzzy_match
from gateway.rest.query import RESERVED, ParsedQuery, parse_query
from gateway.rest.schema_cache import Function, Relation, SchemaCache
from gateway.rest.sqlbuild import Builder, ident, qualified

GUCS = (
    "nullif(current_setting('response.headers', true), '') as response_headers,"
    " nullif(current_setting('response.status', true), '') as response_status"
)


@dataclass
class Plan:
    kind: str  # read, insert, update, delete, rpc
    schema: str
    method: str
    media: str
    prefer: negotiate.Prefer
    read_only: bool
    sql: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    count_sql: str | None = None
    count_mode: str | None = None
    offset: int = 0
    ranged: bool = False
    relation: Relation | None = None
    function: Function | None = None
    scalar: bool = False
    single: bool = False  # the function returns one row/value (not SETOF)
    minimal: bool = False
    labels: list[str] = field(default_factory=list)
    max_rows: int | None = None
    content_type: str | None = None

    def run(self, conn: psycopg.Connection) -> dict[str, Any]:
        total = None
        if self.count_sql is not None:
            total = self._count(conn)
        if self.minimal:
            cur = conn.execute(self.sql, self.params)
            row = conn.execute(f"select {GUCS}").fetchone()
            out = {"page_total": cur.rowcount, "body": None, "total": total, **row}
        else:
            out = dict(conn.execute(self.sql, self.params).fetchone())
            if total is not None:
                out["total"] = total
        if self.media == negotiate.OBJECT and out["page_total"] != 1:
            # Raised inside the transaction, so a write that matched 0 or 2+ rows rolls back.
            raise PgrstError(
                406,
                "PGRST116",
                "Cannot coerce the result to a single JSON object",
                f"The result contains {out['page_total']} rows",
            )
        max_affected = self.prefer.get("max-affected")
        if (
            max_affected
            and self.prefer.get("handling") == "strict"
            and self.kind in ("update", "delete")
            and out["page_total"] > int(max_affected)
        ):
            raise PgrstError(
                400,
                "PGRST124",
                "Query result exceeds max-affected preference constraint",
                f"The query affects {out['page_total']} rows",
            )
        return out

    def _count(self, conn: psycopg.Connection) -> int:
        planned = None
        if self.count_mode in ("planned", "estimated"):
            row = conn.execute(f"explain (format json) {self.count_sql}", self.params).fetchone()
            plan = next(iter(row.values()))
            plan = json.loads(plan) if isinstance(plan, str) else plan
            planned = int(plan[0]["Plan"]["Plan Rows"])
            if self.count_mode == "planned" or (
                self.max_rows is not None and planned > self.max_rows
            ):
                return planned
        row = conn.execute(f"select count(*) as n from ({self.count_sql}) pgrst_c", self.params)
        return row.fetchone()["n"]


def _json_body(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError as exc:
        raise PgrstError(400, "PGRST102", "Empty or invalid json") from exc


def read_body(body: bytes, content_type: str | None, rpc: bool) -> Any:
    """The request body as PostgREST reads it: JSON, CSV (`NULL` is null) or a form."""
    kind = (content_type or "application/json").split(";", 1)[0].strip().lower()
    if kind == "application/json":
        if rpc and not body.strip():
            return {}
        return _json_body(body)
    if kind == "text/csv":
        import csv
        import io

        try:
            reader = csv.reader(io.StringIO(body.decode()))
            header = next(reader)
            rows = [line for line in reader if line]
        except (UnicodeDecodeError, StopIteration, csv.Error) as exc:
            raise PgrstError(400, "PGRST102", "Could not parse the CSV body") from exc
        if any(len(line) != len(header) for line in rows):
            raise PgrstError(400, "PGRST102", "All lines must have same number of fields")
        return [
            {k: (None if v == "NULL" else v) for k, v in zip(header, line, strict=True)}
            for line in rows
        ]
    if kind == "application/x-www-form-urlencoded":
        from urllib.parse import parse_qsl

        return dict(parse_qsl(body.decode(errors="replace"), keep_blank_values=True))
    raise PgrstError(400, "PGRST102", f"Content-Type not acceptable: {kind}")


def uniform_rows(data: Any) -> list[dict]:
    """Objects of a bulk body, which must all have the same keys (PostgREST's rule)."""
    rows = data if isinstance(data, list) else [data]
    if not all(isinstance(r, dict) for r in rows):
        raise PgrstError(400, "PGRST102", "Empty or invalid json")
    if rows and any(set(r) != set(rows[0]) for r in rows):
        raise PgrstError(400, "PGRST102", "All object keys must match")
    return rows


def plan_request(
    cache: SchemaCache,
    config: GatewayConfig,
    schema: str,
    method: str,
    path: str,
    pairs: list[tuple[str, str]],
    headers,
    body: bytes,
) -> Plan:
    parts = [p for p in path.split("/") if p]
    media = negotiate.media_type(headers.get("accept"))
    pref = negotiate.prefer(headers.getlist("prefer"))
    if len(parts) == 2 and parts[0] == "rpc":
        return _rpc(cache, config, schema, method, parts[1], pairs, headers, body, media, pref)
    if len(parts) != 1:
        raise PgrstError(404, "PGRST125", "Invalid path specified in request URL")
    b = Builder(cache, schema)
    rel = b.relation(parts[0])
    q = parse_query(pairs)
    plan = Plan(
        "read",
        schema,
        method,
        media,
        pref,
        method in ("GET", "HEAD"),
        relation=rel,
        max_rows=config.api.max_rows,
        content_type=headers.get("content-type"),
    )
    if method in ("GET", "HEAD"):
        return _read(plan, b, rel, q, headers, config)
    if method == "POST":
        return _insert(plan, b, rel, q, body, pref)
    if method == "PUT":
        return _put(plan, b, rel, q, body)
    if method == "PATCH":
        return _update(plan, b, rel, q, body)
    return _delete(plan, b, rel, q)


def _limits(q: ParsedQuery, headers, config: GatewayConfig) -> tuple[int | None, int, bool]:
    root = q.scopes[()]
    rng = negotiate.byte_range(headers.get("range"))
    offset = root.offset if root.offset is not None else (rng[0] if rng else 0)
    limit = root.limit
    if limit is None and rng is not None:
        limit = rng[1]
    if config.api.max_rows is not None:
        limit = config.api.max_rows if limit is None else min(limit, config.api.max_rows)
    return limit, offset, rng is not None or root.limit is not None or bool(root.offset)


def _aggregate(source: str, media: str, scalar_column: str | None = None) -> str:
    value = f"_t.{ident(scalar_column)}" if scalar_column else "_t"
    return (
        f"with pgrst_source as ({source}) select count(*) as page_total,"
        f" coalesce(json_agg({value}), '[]')::text as body, {GUCS}"
        " from pgrst_source _t"
    )


def _read(plan: Plan, b: Builder, rel: Relation, q: ParsedQuery, headers, config) -> Plan:
    limit, offset, ranged = _limits(q, headers, config)
    source, where = b.read(rel, q, limit, offset)
    plan.sql = _aggregate(source, plan.media)
    plan.offset, plan.ranged = offset, ranged
    count = plan.prefer.get("count")
    if count:
        plan.count_mode = count
        plan.count_sql = f"select 1 from {qualified(rel.schema, rel.name)} {ident(rel.name)}{where}"
    plan.params = b.params.values
    plan.labels = _labels(rel, q)
    return plan


def _labels(rel: Relation | None, q: ParsedQuery) -> list[str]:
    labels: list[str] = []
    for item in q.select:
        if item.embed is not None:
            labels.append(item.embed.label)
        elif item.field is None:
            labels.extend(rel.columns if rel else [])
        else:
            labels.append(item.alias or item.field.label)
    return labels


def _returning(plan: Plan, b: Builder, rel: Relation, q: ParsedQuery, dml: str) -> None:
    """The statement around a write: representation, headers-only (Location) or minimal."""
    ret = plan.prefer.get("return")
    if ret == "representation" or plan.media == negotiate.OBJECT:
        cols = b.select_list(rel, q.select, rel.name, (), q)
        plan.sql = (
            f"with pgrst_source as ({dml} returning {ident(rel.name)}.*),"
            f" pgrst_body as (select {cols} from pgrst_source {ident(rel.name)})"
            " select (select count(*) from pgrst_source) as page_total,"
            " coalesce((select json_agg(_t) from pgrst_body _t), '[]')::text as body,"
            f" {GUCS}"
        )
        plan.labels = _labels(rel, q)
    elif ret == "headers-only" and plan.kind == "insert" and rel.primary_key:
        pk = ", ".join(f"{ident(rel.name)}.{ident(c)}" for c in rel.primary_key)
        plan.sql = (
            f"with pgrst_source as ({dml} returning {pk})"
            " select count(*) as page_total, coalesce(json_agg(_t), '[]')::text as location,"
            f" null as body, {GUCS} from pgrst_source _t"
        )
    else:
        plan.sql = dml
        plan.minimal = True
    plan.params = b.params.values


def _insert(plan: Plan, b: Builder, rel: Relation, q, body: bytes, pref) -> Plan:
    plan.kind = "insert"
    if not rel.insertable:
        raise PgrstError(
            405,
            "PGRST117",
            f"Unsupported HTTP method: {plan.method}",
            f"'{rel.name}' cannot be inserted into",
        )
    data = read_body(body, plan.content_type, rpc=False)
    groups: list[tuple[list[str], list[dict]]] = []
    if q.columns is not None:
        # `columns` names what to insert; keys may then differ between objects.
        rows = data if isinstance(data, list) else [data]
        if not all(isinstance(r, dict) for r in rows):
            raise PgrstError(400, "PGRST102", "Empty or invalid json")
        cols = b.body_columns(rel, q.columns)
        if pref.get("missing") == "default":
            # Absent keys take the column default: one INSERT per set of present columns.
            by_keys: dict[tuple[str, ...], list[dict]] = {}
            for r in rows:
                by_keys.setdefault(tuple(c for c in cols if c in r), []).append(r)
            groups = [(list(k), v) for k, v in by_keys.items()]
        else:
            groups.append((cols, rows))
    else:
        rows = uniform_rows(data)
        cols = b.body_columns(rel, list(rows[0]) if rows else [])
        groups.append((cols, rows))
    all_cols = list(dict.fromkeys(c for cols, _ in groups for c in cols))
    conflict = b.conflict_sql(rel, all_cols, q.on_conflict, pref.get("resolution"))
    statements = b.insert(rel, [(c, json.dumps(r)) for c, r in groups], conflict)
    alias = ident(rel.name)
    if len(statements) == 1 and rows:
        dml = statements[0][1]
        # `returning "rel".*` needs the target aliased as the relation name.
        dml = dml.replace(
            f"insert into {qualified(rel.schema, rel.name)}",
            f"insert into {qualified(rel.schema, rel.name)} as {alias}",
            1,
        )
    elif not rows:
        dml = f"select * from {qualified(rel.schema, rel.name)} {alias} where false"
        plan.kind = "insert-none"
    else:
        raise PgrstError(
            400,
            "PGRST127",
            "Feature not implemented",
            "missing=default with objects missing different columns is not supported by this"
            " gateway; send one request per set of columns",
        )
    _returning(plan, b, rel, q, dml)
    if plan.kind == "insert-none":
        plan.kind = "insert"
    return plan


def _put(plan: Plan, b: Builder, rel: Relation, q, body: bytes) -> Plan:
    root = q.scopes[()]
    if root.limit is not None or root.offset is not None:
        raise PgrstError(
            400, "PGRST114", "limit/offset querystring parameters are not allowed for PUT"
        )
    data = read_body(body, plan.content_type, rpc=False)
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    pk = rel.primary_key
    eq = {
        f.field.name: f.value
        for f in root.filters
        if getattr(f, "op", None) == "eq" and not f.negate and not f.field.path
    }
    if not pk or set(eq) != set(pk) or len(root.filters) != len(pk):
        raise PgrstError(
            405,
            "PGRST105",
            "Filters must include all and only primary key columns with 'eq' operators",
        )
    if not isinstance(data, dict) or any(str(data.get(k)) != eq[k] for k in pk):
        raise PgrstError(
            400, "PGRST115", "Payload values do not match URL in primary key column(s)"
        )
    root.filters = []
    plan.prefer.values["resolution"] = "merge-duplicates"
    plan.method = "PUT"
    return _insert(plan, b, rel, q, body, plan.prefer)


def _write_filters(b: Builder, rel: Relation, q, verb: str) -> str:
    root = q.scopes[()]
    if root.limit is not None or root.offset is not None or root.order:
        raise PgrstError(
            400,
            "PGRST127",
            "Feature not implemented",
            f"limit, offset and order on {verb} are not supported by this gateway",
        )
    if not root.filters:
        # PostgREST behind pg-safeupdate (as on Supabase): no filter, no mass write.
        raise PgrstError(400, "21000", f"{verb} requires a WHERE clause")
    return b.where_sql(root.filters, rel.name, rel, q.select, q)


def _update(plan: Plan, b: Builder, rel: Relation, q, body: bytes) -> Plan:
    plan.kind = "update"
    if not rel.updatable:
        raise PgrstError(
            405,
            "PGRST117",
            f"Unsupported HTTP method: {plan.method}",
            f"'{rel.name}' cannot be updated",
        )
    data = read_body(body, plan.content_type, rpc=False)
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, dict):
        raise PgrstError(400, "PGRST102", "Empty or invalid json")
    cols = b.body_columns(rel, list(q.columns or data))
    where = _write_filters(b, rel, q, "UPDATE")
    if not cols:
        # Nothing to change: PostgREST answers without touching the table.
        dml = f"select * from {qualified(rel.schema, rel.name)} {ident(rel.name)} where false"
        _returning(plan, b, rel, q, dml)
        return plan
    # Parameters in text order: the body comes before the WHERE terms.
    body_ref = b.params.add(json.dumps(data))
    target = qualified(rel.schema, rel.name)
    sets = ", ".join(f"{ident(c)} = pgrst_body.{ident(c)}" for c in cols)
    dml = (
        f"update {target} as {ident(rel.name)} set {sets} from"
        f" json_populate_record(null::{target}, {body_ref}::json) as pgrst_body{where}"
    )
    _returning(plan, b, rel, q, dml)
    return plan


def _delete(plan: Plan, b: Builder, rel: Relation, q) -> Plan:
    plan.kind = "delete"
    if not rel.deletable:
        raise PgrstError(
            405,
            "PGRST117",
            f"Unsupported HTTP method: {plan.method}",
            f"'{rel.name}' cannot be deleted from",
        )
    where = _write_filters(b, rel, q, "DELETE")
    _returning(
        plan,
        b,
        rel,
        q,
        f"delete from {qualified(rel.schema, rel.name)} as {ident(rel.name)}{where}",
    )
    return plan


# -- RPC ---------------------------------------------------------------------------------


def _rpc(cache, config, schema, method, name, pairs, headers, body, media, pref) -> Plan:
    overloads = cache.functions.get((schema, name), [])
    single_object = pref.get("params") == "single-object"
    raw_body: str | None = None
    if method in ("GET", "HEAD"):
        arg_names = {a.name for fn in overloads for a in fn.args}
        arg_pairs = [(k, v) for k, v in pairs if k in arg_names and k not in RESERVED]
        rest = [(k, v) for k, v in pairs if not (k in arg_names and k not in RESERVED)]
        args: dict[str, Any] = {}
        for k, v in arg_pairs:
            if k in args:
                args[k] = (args[k] if isinstance(args[k], list) else [args[k]]) + [v]
            else:
                args[k] = v
        keys = sorted(args)
        is_post = False
        is_form = False
    elif method == "POST":
        content_type = (headers.get("content-type") or "application/json").lower()
        data = read_body(body, content_type, rpc=True)
        is_json = content_type.startswith("application/json")
        raw_body = (body.decode() if body.strip() else "{}") if is_json else json.dumps(data)
        # A form's values are text, read by each argument's type as in a GET.
        is_form = content_type.startswith("application/x-www-form-urlencoded")
        rest = pairs
        if not isinstance(data, dict) and not single_object:
            # A JSON array (or scalar) can only go to a single unnamed json/jsonb parameter.
            data = {}
        args = data if isinstance(data, dict) else {}
        keys = sorted(args)
        is_post = True
    else:
        raise PgrstError(405, "PGRST101", f"Cannot use the {method} method on RPC")
    fn, whole_body = _choose(
        cache,
        schema,
        name,
        overloads,
        keys,
        is_post,
        single_object,
        raw_body,
        set(k for k, _ in rest),
    )
    q = parse_query(rest)
    b = Builder(cache, schema)
    call = b.call(
        fn,
        None if whole_body else args,
        raw_body if whole_body else None,
        text_args=not is_post or is_form,
    )
    rpc_from = getattr(b, "rpc_from", None)
    read_only = method in ("GET", "HEAD") or fn.read_only
    plan = Plan(
        "rpc", schema, method, media, pref, read_only, function=fn, max_rows=config.api.max_rows
    )
    alias = fn.name
    if fn.return_type == "void" or not (fn.returns_set or fn.returns_composite):
        plan.scalar = True
        src = f"select {call} as pgrst_scalar" + (f" from {rpc_from}" if rpc_from else "")
        plan.sql = (
            f"with pgrst_source as ({src}) select count(*) as page_total,"
            " coalesce(json_agg(_t.pgrst_scalar)->0, 'null'::json)::text as body,"
            f" {GUCS} from pgrst_source _t"
        )
        plan.params = b.params.values
        plan.single = True
        return plan
    rel = cache.relation(*fn.return_rel) if fn.return_rel else None
    from_sql = (f"{rpc_from}, lateral " if rpc_from else "") + f"{call} as {ident(alias)}"
    scalar_set = not fn.returns_composite
    cols = ident(alias) if scalar_set else b.select_list(rel, q.select, alias, (), q)
    where = b.where_sql(q.scopes[()].filters, alias, rel, q.select, q)
    limit, offset, ranged = _limits(q, headers, config) if fn.returns_set else (None, 0, False)
    source = f"select {cols} from {from_sql}{where}"
    source += b.order_sql(q.scopes[()].order, alias) + b.range_sql(limit, offset)
    plan.sql = _aggregate(source, media, alias if scalar_set else None)
    plan.single = not fn.returns_set
    plan.offset, plan.ranged = offset, ranged
    if pref.get("count") and fn.returns_set:
        plan.count_mode = pref.get("count")
        plan.count_sql = f"select 1 from {from_sql}{where}"
    plan.params = b.params.values
    plan.labels = _labels(rel, q) if not scalar_set else [alias]
    return plan


def _choose(cache, schema, name, overloads, keys, is_post, single_object, raw_body, rest):
    """The overload the arguments name (PostgREST's rules), or PGRST202/PGRST203."""
    matches: list[tuple[Function, bool]] = []
    for fn in overloads:
        names = {a.name for a in fn.args}
        if single_object and len(fn.args) == 1 and fn.args[0].type in ("json", "jsonb"):
            matches.append((fn, True))
        elif is_post and fn.single_unnamed_json and raw_body is not None:
            if not keys or not (set(keys) <= names):
                matches.append((fn, True))
        elif set(keys) <= names and fn.required <= set(keys):
            matches.append((fn, False))
    if len(matches) > 1:
        exact = [m for m in matches if {a.name for a in m[0].args} == set(keys)]
        matches = exact or matches
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise PgrstError(
            300,
            "PGRST203",
            "Could not choose the best candidate function between: "
            + ", ".join(
                f"{fn.schema}.{fn.name}("
                + ", ".join(f"{a.name} => {a.type}" for a in fn.args)
                + ")"
                for fn, _ in matches
            ),
            None,
            "Try renaming the parameters or the function itself in the database so function "
            "overloading can be resolved",
        )
    listed = ", ".join(keys)
    func = f"{schema}.{name}"
    message = f"Could not find the function {func}" + (
        f"({listed})" if keys else " without parameters"
    )
    with_params = (
        (" with parameter" + ("s " if len(keys) > 1 else " ") + listed)
        if keys
        else (" without parameters")
    )
    details = f"Searched for the function {func}{with_params}"
    if is_post:
        details += " or with a single unnamed json/jsonb parameter"
    details += ", but no matches were found in the schema cache."
    hint = None
    if overloads:
        options = ["(" + ", ".join(sorted(a.name for a in fn.args)) + ")" for fn in overloads]
        close = fuzzy_match("(" + listed + ")", options, 0.0)
        hint = f"Perhaps you meant to call the function {func}{close}" if close else None
    else:
        names = [n for (s, n) in cache.functions if s == schema]
        close = fuzzy_match(name, names, 0.75)
        hint = f"Perhaps you meant to call the function {schema}.{close}" if close else None
    raise PgrstError(404, "PGRST202", message + " in the schema cache", details, hint)
