"""The linters `make test` runs: sqlfluff (postgres dialect) on SQL, ruff on Python."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from flagship import config

SQL_PATHS = ["supabase/migrations", "supabase/tests", "supabase/seed.sql", "sql"]
PY_PATHS = ["flagship", "edge", "sync", "mail", "files", "tests", "sdk"]


def _tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def run_linters(fix: bool = False) -> bool:
    """Run both linters; True when both pass."""
    sql_paths = [p for p in SQL_PATHS if (config.ROOT / p).exists()]
    py_paths = [p for p in PY_PATHS if (config.ROOT / p).exists()]
    ok = True
    sqlfluff = [_tool("sqlfluff"), "fix" if fix else "lint", "--processes", "1", *sql_paths]
    print("lint: sqlfluff", flush=True)
    if subprocess.run(sqlfluff, cwd=config.ROOT).returncode != 0:
        ok = False
    print("lint: ruff", flush=True)
    fmt = [_tool("ruff"), "format", *([] if fix else ["--check"]), *py_paths]
    if subprocess.run(fmt, cwd=config.ROOT).returncode != 0:
        ok = False
    ruff = [_tool("ruff"), "check", *(["--fix"] if fix else []), *py_paths]
    if subprocess.run(ruff, cwd=config.ROOT).returncode != 0:
        ok = False
    return ok
