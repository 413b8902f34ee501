"""PostgREST's query-string grammar: select, horizontal filters, logic trees, order, limits.

Parsing never touches the database; names are checked later against the schema cache and
values are always bound as parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gateway.rest.errors import PgrstError, parse_error

OPERATORS = {
    "eq": "=",
    "neq": "<>",
    "gt": ">",
    "gte": ">=",
    "lt": "<",
    "lte": "<=",
    "like": "like",
    "ilike": "ilike",
    "match": "~",
    "imatch": "~*",
    "cs": "@>",
    "cd": "<@",
    "ov": "&&",
    "sl": "<<",
    "sr": ">>",
    "nxr": "&<",
    "nxl": "&>",
    "adj": "-|-",
    "isdistinct": "is distinct from",
}
FTS = {
    "fts": "to_tsquery",
    "plfts": "plainto_tsquery",
    "phfts": "phraseto_tsquery",
    "wfts": "websearch_to_tsquery",
}
QUANTIFIABLE = {"eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "match", "imatch"}
IS_VALUES = {
    "null": "null",
    "not_null": "not null",
    "true": "true",
    "false": "false",
    "unknown": "unknown",
}
RESERVED = {
    "select",
    "order",
    "limit",
    "offset",
    "on_conflict",
    "columns",
    "and",
    "or",
    "not.and",
    "not.or",
    "apikey",
}
NAME = re.compile(r'^(?:"[^"]+"|[^\s"(),:.!>-][^\s"(),:!>]*?)$')
CAST = re.compile(r"^[A-Za-z_][A-Za-z0-9_ ]*(\[\])?$")
FTS_LANG = re.compile(r"^[a-z_]+$")


@dataclass(frozen=True)
class Field:
    """A column, possibly with a JSON path: `data->a->>b` = ('data', [('->','a'),('->>','b')])."""

    name: str
    path: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        """The key PostgREST gives the value: the last path key, or the column name."""
        return self.path[-1][1] if self.path else self.name


@dataclass
class SelectItem:
    field: Field | None = None  # None for '*'
    alias: str | None = None
    cast: str | None = None
    embed: Embed | None = None


@dataclass
class Embed:
    name: str
    alias: str | None
    hint: str | None
    inner: bool
    items: list[SelectItem]

    @property
    def label(self) -> str:
        return self.alias or self.name


@dataclass
class Filter:
    field: Field
    op: str
    value: str | list[str]
    negate: bool = False
    quantifier: str | None = None  # any / all
    language: str | None = None  # fts(english)


@dataclass
class Logic:
    op: str  # and / or
    children: list[Filter | Logic]
    negate: bool = False


@dataclass
class OrderTerm:
    field: Field
    desc: bool = False
    nulls: str | None = None  # first / last


@dataclass
class Scope:
    """Filters, order and range of one level of the select tree (root or an embed path)."""

    filters: list[Filter | Logic] = field(default_factory=list)
    order: list[OrderTerm] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None


def split_top(text: str, sep: str = ",") -> list[str]:
    """Split on `sep` outside parentheses and double quotes."""
    parts, depth, quoted, cur = [], 0, False, []
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
            if depth < 0:
                raise parse_error(f'"failed to parse {text}"', 'unexpected ")"')
        if ch == sep and depth == 0 and not quoted:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth != 0 or quoted:
        raise parse_error(f"failed to parse {text}", "unexpected end of input")
    parts.append("".join(cur))
    return parts


def _unquote(name: str) -> str:
    return name[1:-1] if len(name) >= 2 and name[0] == name[-1] == '"' else name


def parse_field(text: str, context: str) -> Field:
    """`col`, `col->a->>b`, `col->0` (JSON path)."""
    parts = re.split(r"(->>|->)", text.strip())
    name = parts[0]
    if not name or not NAME.match(name):
        raise parse_error(f"failed to parse {context}", f'unexpected "{text}" expecting field name')
    path = []
    for i in range(1, len(parts), 2):
        key = parts[i + 1] if i + 1 < len(parts) else ""
        if not key:
            raise parse_error(f"failed to parse {context}", "unexpected end of input")
        path.append((parts[i], _unquote(key)))
    return Field(_unquote(name), tuple(path))


def parse_select(text: str) -> list[SelectItem]:
    """The `select` parameter (also the body of an embed)."""
    items: list[SelectItem] = []
    if not text.strip():
        return [SelectItem()]
    for raw in split_top(text):
        raw = raw.strip()
        if not raw:
            raise parse_error(f"failed to parse select parameter ({text})", "unexpected empty item")
        items.append(_select_item(raw, text))
    return items


def _select_item(raw: str, whole: str) -> SelectItem:
    if raw == "*":
        return SelectItem()
    context = f"select parameter ({whole})"
    alias = None
    for i, ch in enumerate(raw):
        if ch == "(":
            break
        if ch == ":" and raw[i + 1 : i + 2] != ":" and (i == 0 or raw[i - 1] != ":"):
            alias, raw = _unquote(raw[:i].strip()), raw[i + 1 :]
            break
    if raw.startswith("..."):
        raise PgrstError(
            400,
            "PGRST127",
            "Feature not implemented",
            "Spread embedding ('...') is not supported by this gateway",
        )
    if "(" in raw:
        if not raw.endswith(")"):
            raise parse_error(f"failed to parse {context}", f'unexpected "{raw}"')
        target, body = raw.split("(", 1)
        body = body[:-1]
        name, *hints = target.split("!")
        inner = False
        hint = None
        for h in hints:
            if h == "inner":
                inner = True
            elif h == "left":
                inner = False
            elif h:
                hint = h
        if not NAME.match(name):
            raise parse_error(f"failed to parse {context}", f'unexpected "{target}"')
        if re.search(r"\.(sum|avg|min|max|count)$", name):
            raise PgrstError(400, "PGRST123", "Use of aggregate functions is not allowed")
        return SelectItem(embed=Embed(_unquote(name), alias, hint, inner, parse_select(body)))
    cast = None
    if "::" in raw:
        raw, cast = raw.split("::", 1)
        if not CAST.match(cast):
            raise parse_error(f"failed to parse {context}", f'unexpected cast "{cast}"')
    if raw.endswith("()"):
        raise PgrstError(400, "PGRST123", "Use of aggregate functions is not allowed")
    return SelectItem(field=parse_field(raw, context), alias=alias, cast=cast)


def _list_values(text: str, context: str) -> list[str]:
    """`(a,"b,c",d)` → ['a', 'b,c', 'd']."""
    if not (text.startswith("(") and text.endswith(")")):
        raise parse_error(f"failed to parse filter ({context})", 'expecting "("')
    inner = text[1:-1]
    if not inner:
        return []
    return [_unquote(v.strip()) if v.strip().startswith('"') else v for v in split_top(inner)]


def parse_operation(field_: Field, text: str, context: str) -> Filter:
    """`[not.]op[(modifier)].value`."""
    negate = False
    if text.startswith("not."):
        negate, text = True, text[4:]
    op, dot, value = text.partition(".")
    if not dot:
        raise parse_error(
            f'"failed to parse filter ({context})" (line 1, column {len(text) + 1})',
            "unexpected end of input expecting operator (eq, gt, ...)",
        )
    modifier = None
    if "(" in op and op.endswith(")"):
        op, modifier = op[:-1].split("(", 1)
    if op in FTS:
        if modifier is not None and not FTS_LANG.match(modifier):
            raise parse_error(f"failed to parse filter ({context})", "invalid language")
        return Filter(field_, op, value, negate, language=modifier)
    if modifier is not None:
        if modifier not in ("any", "all") or op not in QUANTIFIABLE:
            raise parse_error(f"failed to parse filter ({context})", f'unexpected "{modifier}"')
        return Filter(field_, op, value, negate, quantifier=modifier)
    if op == "in":
        return Filter(field_, "in", _list_values(value, context), negate)
    if op == "is":
        if value.lower() not in IS_VALUES:
            raise parse_error(
                f"failed to parse filter ({context})",
                'unexpected "' + value + '" expecting null or trilean value (unknown, true, false)',
            )
        return Filter(field_, "is", value.lower(), negate)
    if op not in OPERATORS:
        raise parse_error(
            f"failed to parse filter ({context})",
            f'unexpected "{op}" expecting operator (eq, gt, ...)',
        )
    return Filter(field_, op, value, negate)


def parse_logic(op: str, text: str, negate: bool, context: str) -> Logic:
    """`(a.eq.1,b.gt.2,or(c.is.null,d.eq.x))` of an `or=` / `and=` parameter."""
    if not (text.startswith("(") and text.endswith(")")):
        raise parse_error(
            f'"failed to parse logic tree ({context})" (line 1, column 4)',
            'unexpected "' + text[:1] + '" expecting "("',
        )
    children: list[Filter | Logic] = []
    for part in split_top(text[1:-1]):
        part = part.strip()
        neg = False
        if part.startswith("not."):
            neg_candidate = part[4:]
            if neg_candidate.startswith(("and(", "or(")):
                neg, part = True, neg_candidate
        m = re.match(r"^(and|or)(\(.*\))$", part)
        if m:
            children.append(parse_logic(m.group(1), m.group(2), neg, context))
            continue
        # field.op.value — the field ends at the first '.' not inside a JSON path key.
        name, dot, rest = part.partition(".")
        if not dot:
            raise parse_error(
                f"failed to parse logic tree ({context})", f'unexpected "{part}" expecting "."'
            )
        leaf = parse_operation(parse_field(name, context), rest, context)
        value = leaf.value
        if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
            leaf.value = value[1:-1]  # values in logic trees may be double-quoted
        children.append(leaf)
    if not children:
        raise parse_error(f"failed to parse logic tree ({context})", "empty logic tree")
    return Logic(op, children, negate)


def parse_order(text: str) -> list[OrderTerm]:
    terms = []
    for raw in split_top(text):
        parts = raw.strip().split(".")
        name, mods = parts[0], parts[1:]
        if "(" in name:
            raise PgrstError(
                400,
                "PGRST127",
                "Feature not implemented",
                "Ordering by an embedded resource is not supported by this gateway",
            )
        term = OrderTerm(parse_field(name, f"order ({text})"))
        for mod in mods:
            if mod in ("asc", "desc"):
                term.desc = mod == "desc"
            elif mod in ("nullsfirst", "nullslast"):
                term.nulls = mod[5:]
            else:
                raise parse_error(
                    f'"failed to parse order ({text})" (line 1, column {len(raw)})',
                    f'unexpected "{mod}" expecting "asc", "desc", "nullsfirst" or "nullslast"',
                )
        terms.append(term)
    return terms


def _int(name: str, value: str) -> int:
    if not re.fullmatch(r"-?\d+", value):
        raise parse_error(f'"failed to parse {name} ({value})"', "expecting digit")
    number = int(value)
    if number < 0:
        if name == "limit":
            raise PgrstError(
                416,
                "PGRST103",
                "Requested range not satisfiable",
                "Limit should be greater than or equal to zero.",
            )
        raise parse_error(f"failed to parse {name} ({value})", "expecting a non-negative number")
    return number


@dataclass
class ParsedQuery:
    select: list[SelectItem]
    scopes: dict[tuple[str, ...], Scope]  # () is the root; ('child',) an embed
    on_conflict: list[str] | None
    columns: list[str] | None


def parse_query(pairs: list[tuple[str, str]]) -> ParsedQuery:
    """All the query-string parameters of a request."""
    select = [SelectItem()]
    scopes: dict[tuple[str, ...], Scope] = {(): Scope()}
    on_conflict = columns = None
    for key, value in pairs:
        if key == "apikey":
            continue
        if key == "select":
            select = parse_select(value)
            continue
        if key == "on_conflict":
            on_conflict = [c.strip() for c in value.split(",") if c.strip()]
            continue
        if key == "columns":
            columns = [_unquote(c.strip()) for c in split_top(value) if c.strip()]
            continue
        *path, last = key.split(".") if "->" not in key else _split_key(key)
        negate = False
        if last in ("and", "or") and path and path[-1] == "not":
            path, negate = path[:-1], True
        scope = scopes.setdefault(tuple(path), Scope())
        if last in ("and", "or"):
            scope.filters.append(parse_logic(last, value, negate, f"{last}={value}"))
        elif last == "order":
            scope.order = parse_order(value)
        elif last == "limit":
            scope.limit = _int("limit", value)
        elif last == "offset":
            scope.offset = _int("offset", value)
        else:
            scope.filters.append(parse_operation(parse_field(last, key), value, f"{key}={value}"))
    return ParsedQuery(select, scopes, on_conflict, columns)


def _split_key(key: str) -> list[str]:
    """`child.data->a.b` style keys: dots inside a JSON path belong to the last part."""
    head, arrow, tail = key.partition("->")
    parts = head.split(".")
    parts[-1] = parts[-1] + arrow + tail
    return parts
