"""Which catalogued error codes an api object can answer with, read from the SQL itself.

A function raises what its body names (`private.raise_error('code', ...)`, `hint = 'code'`)
and what the functions it calls raise, followed transitively through every schema of the
project (so `private.arg_error` brings `invalid_argument`, `private.require_user`
`not_authenticated` and, through `require_calling_scope`, `scope_missing`), and through the
triggers of the tables a body writes (`insert into` / `update` / `delete from`). A view
raises what the functions in its definition raise. The COMMENT's "Errors:" list is added,
for codes raised in ways a text scan cannot see (a code held in a variable, dynamic SQL).
Only codes of ops.error_codes are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import psycopg

BODIES = """
select n.nspname as schema, p.proname as name, p.prosrc as body
  from pg_proc as p join pg_namespace as n on n.oid = p.pronamespace
 where n.nspname not in ('pg_catalog', 'information_schema', 'extensions')
   and n.nspname not like 'pg\\_%%' and p.prokind in ('f', 'p')
"""

VIEW_DEFS = """
select n.nspname as schema, c.relname as name, pg_get_viewdef(c.oid) as body
  from pg_class as c join pg_namespace as n on n.oid = c.relnamespace
 where c.relkind in ('v', 'm') and n.nspname not in ('pg_catalog', 'information_schema')
"""

# Triggers: a statement writing a table runs its triggers' functions too.
TRIGGERS = """
select n.nspname as schema, c.relname as name, fn.nspname as fn_schema, p.proname as fn_name
  from pg_trigger as t
  join pg_class as c on c.oid = t.tgrelid
  join pg_namespace as n on n.oid = c.relnamespace
  join pg_proc as p on p.oid = t.tgfoid
  join pg_namespace as fn on fn.oid = p.pronamespace
 where not t.tgisinternal
"""
WRITE = re.compile(
    r"\b(?:insert\s+into|update|delete\s+from)\s+([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)",
    re.IGNORECASE,
)
RAISED = re.compile(r"raise_error\(\s*'([a-z][a-z0-9_]*)'|hint\s*=\s*'([a-z][a-z0-9_]*)'")
CALL = re.compile(r"\b([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)\s*\(")
ERRORS_LIST = re.compile(r"Errors?:\s*([^\n]*(?:\n(?!\s*\n)[^\n]*)*)", re.IGNORECASE)
CODE = re.compile(r"\b[a-z][a-z0-9_]*\b")


@dataclass
class CallGraph:
    """Direct codes and callees of every function and view, by (schema, name)."""

    direct: dict[tuple[str, str], set[str]]
    calls: dict[tuple[str, str], set[tuple[str, str]]]
    known: set[str]  # the catalogued codes

    @classmethod
    def load(cls, conn: psycopg.Connection, codes) -> CallGraph:
        direct: dict[tuple[str, str], set[str]] = {}
        calls: dict[tuple[str, str], set[tuple[str, str]]] = {}
        rows = conn.execute(BODIES).fetchall() + conn.execute(VIEW_DEFS).fetchall()
        functions = {(r["schema"], r["name"]) for r in rows}
        triggers: dict[tuple[str, str], set[tuple[str, str]]] = {}
        for t in conn.execute(TRIGGERS).fetchall():
            triggers.setdefault((t["schema"], t["name"]), set()).add((t["fn_schema"], t["fn_name"]))
        for r in rows:
            key = (r["schema"], r["name"])
            body = r["body"] or ""
            direct.setdefault(key, set()).update(
                m.group(1) or m.group(2) for m in RAISED.finditer(body)
            )
            callees = {c for c in CALL.findall(body) if c in functions}
            for table in WRITE.findall(body):
                callees |= triggers.get((table[0].lower(), table[1].lower()), set())
            calls.setdefault(key, set()).update(callees - {key})
        return cls(direct, calls, set(codes))

    def _reach(self, key: tuple[str, str]) -> set[str]:
        seen, todo, found = {key}, [key], set()
        while todo:
            node = todo.pop()
            found |= self.direct.get(node, set())
            for nxt in self.calls.get(node, ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return found

    def _with_comment(self, found: set[str], comment: str | None) -> list[str]:
        for block in ERRORS_LIST.findall(comment or ""):
            found |= set(CODE.findall(block))
        return sorted(found & self.known)

    def errors_of_function(self, schema: str, name: str, comment: str | None) -> list[str]:
        return self._with_comment(self._reach((schema, name)), comment)

    def errors_of_view(self, schema: str, name: str, comment: str | None) -> list[str]:
        return self._with_comment(self._reach((schema, name)), comment)

    def errors_of_regproc(self, regproc: str) -> list[str]:
        schema, _, name = regproc.rpartition(".")
        return sorted(self._reach((schema or "public", name.strip('"'))) & self.known)
