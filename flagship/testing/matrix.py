"""RLS matrices: role × object × action, with labelled cells and a coverage check.

A domain's test module builds one `Matrix` of its roles and adds its cases:

    M = Matrix(["accounts"], ["anon", "member", "admin"])
    M.select("accounts.profiles", "id = %(owner)s", M.cells(anon="no", member="yes", admin="yes"))
    M.write("accounts.profiles", "update", "update accounts.profiles set bio = 'x'")
    M.execute("api.accounts_get_user", "select api.accounts_get_user(%(owner)s)", M.same("deny"))

Every cell names its role (`cells` refuses a missing or unknown role), every case has a
unique key (a second case with the same key is an error when the module is imported), and
`uncovered(db)` lists the objects of the domain (its schema's tables, the `api` views and
functions of its prefix, read from pg_catalog) that no case touches — each domain's
module asserts that list is empty.

Outcomes are the words of `harness.matrix_outcome`: "yes", "no", "deny", "readonly" or an
API error code. An expected cell is one word, or a set of words any of which is right
(writes: "refused one way or another").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from flagship.testing.harness import matrix_outcome

Expected = str | frozenset[str]
REFUSED = frozenset({"deny", "no"})  # a write that changed nothing
# also a view that cannot be written at all (joins, aggregates)
REFUSED_OR_READONLY = frozenset({"deny", "no", "readonly"})
ACTIONS = ("insert", "update", "delete")


class MatrixError(ValueError):
    """The matrix itself is wrong: unknown/missing role, duplicate key, bad action."""


class Cells(Mapping[str, Expected]):
    """The expected outcome for each role, every role named. Immutable."""

    def __init__(self, roles: tuple[str, ...], values: Mapping[str, Expected]) -> None:
        unknown = sorted(set(values) - set(roles))
        missing = [r for r in roles if r not in values]
        if unknown or missing:
            raise MatrixError(f"cells: unknown roles {unknown}, missing roles {missing}")
        self._roles = roles
        self._values = {r: values[r] for r in roles}

    def __getitem__(self, role: str) -> Expected:
        return self._values[role]

    def __iter__(self) -> Iterator[str]:
        return iter(self._roles)

    def __len__(self) -> int:
        return len(self._roles)

    def __or__(self, changes: Mapping[str, Expected]) -> Cells:
        """The same cells with some roles changed (each must be a known role)."""
        unknown = sorted(set(changes) - set(self._roles))
        if unknown:
            raise MatrixError(f"cells: unknown roles {unknown}")
        return Cells(self._roles, {**self._values, **changes})

    def __repr__(self) -> str:
        return "cells(" + ", ".join(f"{r}={v!r}" for r, v in self._values.items()) + ")"


@dataclass(frozen=True)
class Case:
    """One row of the matrix: an object, an action on it, and the outcome per role."""

    kind: str  # "select" | "write" | "execute"
    obj: str  # the database object this row covers, schema-qualified
    label: str  # the action of a write, or what tells two rows on one object apart
    sql: str | Callable[[psycopg.Connection], str]  # a callable gets the connection
    expected: Cells

    @property
    def key(self) -> str:
        return f"{self.obj} ({self.label})" if self.label else self.obj

    def statement(self, conn: psycopg.Connection) -> str:
        return self.sql(conn) if callable(self.sql) else self.sql


@dataclass(frozen=True)
class Cell:
    """One role's cell of a case; what a parametrized test receives."""

    matrix: Matrix
    case: Case
    role: str

    @property
    def expected(self) -> Expected:
        return self.case.expected[self.role]

    def outcome(self, conn: psycopg.Connection, who: Any, params: Any = None) -> str:
        """What `who` (the user standing for this role) gets; always rolled back."""
        return matrix_outcome(
            conn,
            who,
            self.case.statement(conn),
            params,
            count_rows=self.case.kind == "select",
            denied=self.matrix.denied,
        )

    def check(self, conn: psycopg.Connection, who: Any, params: Any = None) -> None:
        """Assert the outcome is the expected one."""
        got = self.outcome(conn, who, params)
        want = self.expected
        ok = got in want if isinstance(want, frozenset) else got == want
        shown = sorted(want) if isinstance(want, frozenset) else want
        assert ok, f"{self.role} on {self.case.kind} {self.case.key}: got {got!r}, want {shown!r}"

    def __str__(self) -> str:
        return f"{self.case.key}-{self.role}"


class Matrix:
    """The RLS matrix of one domain (or a few): roles, cases, and what they must cover."""

    def __init__(
        self,
        domains: Iterable[str],
        roles: Iterable[str],
        *,
        denied: frozenset[str | None] = frozenset({None}),
        write_refused: Expected = REFUSED,
    ) -> None:
        self.domains = tuple(domains)
        self.roles = tuple(roles)
        if len(set(self.roles)) != len(self.roles):
            raise MatrixError(f"duplicate role in {self.roles}")
        self.denied = denied  # the 42501 hints that count as "deny" (see matrix_outcome)
        self.write_refused = write_refused
        self.cases: dict[tuple[str, str], Case] = {}

    # -- cells -----------------------------------------------------------------------------
    def cells(self, **by_role: Expected) -> Cells:
        """Expected outcomes, one per role, every role named."""
        return Cells(self.roles, by_role)

    def same(self, outcome: Expected) -> Cells:
        """The same outcome for every role."""
        return Cells(self.roles, dict.fromkeys(self.roles, outcome))

    # -- cases -----------------------------------------------------------------------------
    def _add(self, case: Case) -> Case:
        if not isinstance(case.expected, Cells) or case.expected._roles != self.roles:
            raise MatrixError(f"{case.kind} {case.key}: expected must be this matrix's cells")
        key = (case.kind, case.key)
        if key in self.cases:
            raise MatrixError(f"duplicate {case.kind} case {case.key!r}")
        self.cases[key] = case
        return case

    def select(self, obj: str, where: str, expected: Cells, *, label: str = "") -> Case:
        """Does each role see the scene's rows of `obj` matching `where`?"""
        sql = f"select count(*) as n from {obj} where {where}"
        return self._add(Case("select", obj, label, sql, expected))

    def write(
        self,
        obj: str,
        action: str,
        sql: str | Callable[[psycopg.Connection], str],
        expected: Cells | None = None,
    ) -> Case:
        """A write aimed at the scene's rows; by default refused for every role."""
        if action not in ACTIONS:
            raise MatrixError(f"write {obj}: unknown action {action!r}")
        return self._add(Case("write", obj, action, sql, expected or self.same(self.write_refused)))

    def execute(self, obj: str, sql: str, expected: Cells, *, label: str = "") -> Case:
        """A representative call of function `obj` and its outcome per role."""
        return self._add(Case("execute", obj, label, sql, expected))

    def of(self, kind: str) -> list[Case]:
        return [c for (k, _), c in sorted(self.cases.items()) if k == kind]

    def objects(self, kind: str | None = None) -> list[str]:
        """The objects with at least one case (of `kind`), sorted, each once."""
        return sorted({c.obj for c in self.cases.values() if kind in (None, c.kind)})

    def outcome(
        self, conn: psycopg.Connection, who: Any, sql: str, params: Any = None, **kw: Any
    ) -> str:
        """The outcome word of any statement for `who`, by this matrix's rules (rolled back);
        for tests that check a rule against the matrix's vocabulary outside a case."""
        return matrix_outcome(conn, who, sql, params, denied=self.denied, **kw)

    # -- pytest ----------------------------------------------------------------------------
    def parametrize(self, kind: str):
        """`@M.parametrize("select")`: one test item per case × role, argument `cell`."""
        cells = [Cell(self, case, role) for case in self.of(kind) for role in self.roles]
        if not cells:
            raise MatrixError(f"no {kind} cases")
        return pytest.mark.parametrize("cell", cells, ids=[str(c) for c in cells])

    # -- coverage --------------------------------------------------------------------------
    def domain_objects(self, conn: psycopg.Connection) -> set[str]:
        """Tables of each domain's schema; `api` views and functions of its prefix."""
        found: set[str] = set()
        for domain in self.domains:
            rows = conn.execute(
                "select n.nspname || '.' || c.relname as o from pg_class c"
                " join pg_namespace n on n.oid = c.relnamespace"
                " where (n.nspname = %(d)s and c.relkind in ('r', 'p'))"
                " or (n.nspname = 'api' and c.relkind in ('v', 'm')"
                "     and starts_with(c.relname, %(prefix)s))"
                " union"
                " select 'api.' || p.proname from pg_proc p"
                " where p.pronamespace = 'api'::regnamespace"
                " and starts_with(p.proname, %(prefix)s)",
                {"d": domain, "prefix": f"{domain}_"},
            ).fetchall()
            found |= {r["o"] for r in rows}
        return found

    def uncovered(self, conn: psycopg.Connection) -> list[str]:
        """The domain's objects that no case of this matrix touches (should be [])."""
        return sorted(self.domain_objects(conn) - set(self.objects()))
