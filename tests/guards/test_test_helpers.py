"""One set of test helpers: users, roles, "run SQL as a caller" and RLS matrices each live in
flagship.testing, and test modules use them instead of keeping copies of their own.

- nobody defines `grant_roles` or inserts into accounts.user_roles from a helper
  (flagship.testing.harness.grant_roles does it);
- no helper function calls `as_user` / `as_caller` (query, one_row, scalar and rpc in the
  harness do; tests themselves may use `with as_user(...)` inline);
- no module calls `matrix_outcome` or builds positional `row()` cells by hand, and every
  `*rls_matrix*` module is a `flagship.testing.matrix.Matrix` that asserts its coverage.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
RUN_AS = {"as_user", "as_caller"}
MODULES = sorted(p for p in TESTS.rglob("*.py") if p != Path(__file__).resolve())


def _imported_from_flagship(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("flagship"):
            names |= {a.asname or a.name for a in node.names}
    return names


def _helpers(tree: ast.Module):
    """Functions that are not tests: at module level and in classes."""
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.ClassDef):
            todo.extend(node.body)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not (
            node.name.startswith("test_")
        ):
            yield node


def _calls(node: ast.AST) -> set[str]:
    return {
        n.func.id
        for n in ast.walk(node)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    }


def _strings(node: ast.AST) -> str:
    return " ".join(
        n.value.lower()
        for n in ast.walk(node)
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
    )


def _problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    flagship = _imported_from_flagship(tree)
    found = []
    for fn in _helpers(tree):
        where = f"{fn.name}() at line {fn.lineno}"
        if fn.name == "grant_roles":
            found.append(f"defines its own grant_roles: {where}")
        elif "insert into accounts.user_roles" in _strings(fn):
            found.append(f"grants roles itself (use harness.grant_roles): {where}")
        used = _calls(fn) & RUN_AS & flagship
        if used:
            found.append(
                f"runs SQL as a caller in a helper ({', '.join(sorted(used))}; use harness"
                f" query/one_row/scalar/rpc): {where}"
            )
        if fn.name == "row":
            found.append(f"builds matrix rows by hand (use flagship.testing.matrix): {where}")
    if "matrix_outcome" in flagship:
        found.append("calls matrix_outcome directly (use flagship.testing.matrix.Matrix)")
    uses_matrix = "Matrix" in flagship
    if "rls_matrix" in path.name and not uses_matrix:
        found.append("an RLS matrix without flagship.testing.matrix")
    if uses_matrix and ".uncovered(" not in path.read_text():
        found.append("an RLS matrix that does not assert its coverage (M.uncovered(db) == [])")
    return found


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(TESTS)) for p in MODULES])
def test_module_uses_the_shared_helpers(path):
    assert _problems(path) == []


def test_the_guard_catches_copies(tmp_path):
    """The checks above fail on each kind of copy they exist to catch."""
    bad = tmp_path / "test_bad_rls_matrix.py"
    bad.write_text(
        "from flagship.testing.harness import as_user, matrix_outcome\n"
        'ROLES = ["anon"]\n'
        "def grant_roles(db, user, *roles):\n"
        "    pass\n"
        "def q(db, who, sql):\n"
        "    with as_user(db, who):\n"
        "        return db.execute(sql).fetchall()\n"
        "def new_user(db, role):\n"
        "    db.execute('insert into accounts.user_roles (user_id, role) values (1, 2)')\n"
        "def row(*values):\n"
        "    return dict(zip(ROLES, values))\n"
    )
    problems = " | ".join(_problems(bad))
    for expected in (
        "defines its own grant_roles",
        "grants roles itself",
        "runs SQL as a caller in a helper",
        "builds matrix rows by hand",
        "calls matrix_outcome directly",
        "an RLS matrix without flagship.testing.matrix",
    ):
        assert expected in problems
    good = tmp_path / "test_good.py"
    good.write_text(
        "from flagship.testing.harness import as_user\n"
        "def test_inline(db, user):\n"
        "    with as_user(db, user):\n"
        "        db.execute('select 1')\n"
    )
    assert _problems(good) == []
