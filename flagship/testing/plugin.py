"""pytest plugin: database fixtures and the pgTAP collector (loaded via `-p` in pyproject).

Fixtures
- `test_server`: the throw-away server with the migrated template (session).
- `db_url` / `app_db_url`: the session's clone, as superuser / as `postgres`.
- `db`: a connection in a transaction that is rolled back after the test.
- `fresh_db`: a clone of its own for tests that commit (concurrency, the worker).

pgTAP: every `supabase/tests/*.sql` file is run with psql against the session clone while
pytest collects, and each TAP line becomes a test item, so each assertion is reported.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from flagship import config
from flagship.database import connect
from flagship.embedded import binary
from flagship.testing.harness import TestServer, pgtap_sql

_STATE: dict = {}
TAP_LINE = re.compile(
    r"^(?P<ok>ok|not ok) (?P<n>\d+)(?: - (?P<desc>.*?))?(?P<directive> # (?:SKIP|TODO).*)?$"
)
TAP_PLAN = re.compile(r"^1\.\.(?P<n>\d+)")


def _server() -> TestServer:
    if "server" not in _STATE:
        server = TestServer.start()
        server.build_template()
        _STATE["server"] = server
        _STATE["session_db"] = server.clone()
    return _STATE["server"]


def pytest_sessionfinish(session: pytest.Session) -> None:
    server: TestServer | None = _STATE.get("server")
    if server is not None:
        server.cleanup()


@pytest.fixture(scope="session")
def test_server() -> TestServer:
    return _server()


@pytest.fixture(scope="session")
def db_url(test_server: TestServer) -> str:
    return test_server.admin(_STATE["session_db"])


@pytest.fixture(scope="session")
def app_db_url(test_server: TestServer) -> str:
    return test_server.app(_STATE["session_db"])


@pytest.fixture
def db(db_url: str) -> Iterator:
    """A superuser connection inside a transaction that is always rolled back."""
    conn = connect(db_url)
    try:
        yield conn
    finally:
        conn.rollback()
        conn.close()


@pytest.fixture
def fresh_db(test_server: TestServer) -> Iterator[str]:
    """The superuser URL of a database of this test's own, dropped afterwards."""
    name = test_server.clone()
    try:
        yield test_server.admin(name)
    finally:
        test_server.drop(name)


# -- pgTAP ---------------------------------------------------------------------------------
def pytest_collect_file(parent: pytest.Collector, file_path: Path):
    if file_path.suffix == ".sql" and file_path.parent == config.PGTAP_DIR:
        return PgTapFile.from_parent(parent, path=file_path)
    return None


class PgTapFile(pytest.File):
    """One pgTAP file; its assertions become the items."""

    def collect(self):
        if pgtap_sql() is None:
            yield PgTapAssertion.from_parent(
                self,
                name="pgtap-missing",
                ok=False,
                detail="pgTAP is not installed: `make test` installs postgresql-15-pgtap "
                "(Debian/Ubuntu), or set PGTAP_SQL to a standalone pgtap.sql",
            )
            return
        server = _server()
        url = server.app(_STATE["session_db"])
        result = subprocess.run(
            [
                binary("psql"),
                url,
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-P",
                "pager=off",
                "-f",
                str(self.path),
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        planned, seen, diagnostics = None, [], []
        for line in result.stdout.splitlines():
            if plan := TAP_PLAN.match(line):
                planned = int(plan["n"])
            elif tap := TAP_LINE.match(line):
                seen.append([tap, []])
            elif line.startswith("#") and seen:
                seen[-1][1].append(line)
            elif line.startswith("#"):
                diagnostics.append(line)
        for tap, notes in seen:
            desc = tap["desc"] or "(no description)"
            yield PgTapAssertion.from_parent(
                self,
                name=f"{int(tap['n']):03d} {desc}",
                ok=tap["ok"] == "ok" or bool(tap["directive"]),
                detail="\n".join(notes),
            )
        problems = []
        if result.returncode != 0:
            problems.append(f"psql exited {result.returncode}: {result.stderr.strip()[-2000:]}")
        if planned is None:
            problems.append("no plan: the file must call plan(n) or no_plan()")
        elif planned != len(seen):
            problems.append(f"planned {planned} assertions but ran {len(seen)}")
        if problems or not seen:
            yield PgTapAssertion.from_parent(
                self,
                name="file",
                ok=not problems and bool(seen),
                detail="\n".join(problems + diagnostics) or "no assertions ran",
            )


class PgTapFailure(Exception):
    pass


class PgTapAssertion(pytest.Item):
    def __init__(self, *, ok: bool, detail: str, **kwargs):
        super().__init__(**kwargs)
        self.ok = ok
        self.detail = detail

    def runtest(self) -> None:
        if not self.ok:
            raise PgTapFailure(self.detail)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, PgTapFailure):
            return f"pgTAP: not ok {self.name}\n{self.detail}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"pgTAP {self.name}"
