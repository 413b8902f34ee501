"""pytest plugin: database fixtures and the pgTAP collector (loaded via `-p` in pyproject).

Fixtures
- `test_server`: the throw-away server with the migrated template (session).
- `db_url` / `app_db_url`: the session's clone, as superuser / as `postgres`.
- `db`: a connection in a transaction that is rolled back after the test.
- `module_db`: the same for a whole module (a scene built once; every test rolls back its own).
- `fresh_db`: a clone of its own for tests that commit (concurrency, the worker).

pgTAP: each `supabase/tests/*.sql` file is collected without touching a database — one item
per assertion of its `plan(n)`, plus a `file` item (psql's exit status, plan vs. assertions
run). The first of its items to run runs the file once with psql against the session clone;
the TAP result is cached on the file for its other items.
"""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from flagship import config
from flagship import config as config_module
from flagship.database import connect
from flagship.embedded import binary
from flagship.testing.harness import TestServer, pgtap_sql

_STATE: dict = {}
TAP_LINE = re.compile(
    r"^(?P<ok>ok|not ok) (?P<n>\d+)(?: - (?P<desc>.*?))?(?P<directive> # (?:SKIP|TODO).*)?$"
)
TAP_PLAN = re.compile(r"^1\.\.(?P<n>\d+)")


def _server() -> TestServer:
    """The server with a migrated template, and this process's session clone.

    Under pytest-xdist every worker calls this: a lock in the state directory lets the first
    start the server and build the template once per run (PYTEST_XDIST_TESTRUNUID); the
    others reuse both. Each worker still works in a clone of its own.
    """
    if "server" not in _STATE:
        run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
        config.STATE_DIR.mkdir(parents=True, exist_ok=True)
        with (config.STATE_DIR / "test-db.lock").open("a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            server = TestServer.start()
            marker = config.STATE_DIR / "test-db.template-run"
            if run is None or not marker.exists() or marker.read_text() != run:
                marker.unlink(missing_ok=True)
                server.build_template()
                if run is not None:
                    marker.write_text(run)
            fcntl.flock(lock, fcntl.LOCK_UN)
        _STATE["server"] = server
        _STATE["session_db"] = server.clone()
    return _STATE["server"]


def pytest_configure(config: pytest.Config) -> None:
    # The local Auth and the edge agree on the public development hook secret only on the
    # embedded default; against DATABASE_URL (the PostgreSQL 15 stage, any test server) the
    # tests still run a local Auth and edge, so they share that same secret explicitly.
    if os.environ.get("DATABASE_URL"):
        os.environ.setdefault("SEND_EMAIL_HOOK_SECRET", config_module.LOCAL_SEND_EMAIL_HOOK_SECRET)


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


@pytest.fixture(scope="module")
def module_db(db_url: str) -> Iterator:
    """One superuser connection for a whole module, in a transaction that is rolled back at
    its end: a scene built once, for tests that each work in a savepoint they roll back
    (the RLS matrices)."""
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


PLAN_CALL = re.compile(r"\bplan\s*\(\s*(\d+)\s*\)", re.IGNORECASE)


@dataclass
class TapResult:
    """What one run of a pgTAP file printed: assertions by number, and what went wrong."""

    assertions: dict[int, tuple[re.Match, list[str]]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    diagnostics: list[str] = field(default_factory=list)


def run_pgtap_file(url: str, path: Path) -> TapResult:
    """Run one pgTAP file with psql and parse its TAP output."""
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
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    tap, planned, last = TapResult(), None, None
    for line in result.stdout.splitlines():
        if plan := TAP_PLAN.match(line):
            planned = int(plan["n"])
        elif match := TAP_LINE.match(line):
            last = int(match["n"])
            tap.assertions[last] = (match, [])
        elif line.startswith("#") and last is not None:
            tap.assertions[last][1].append(line)
        elif line.startswith("#"):
            tap.diagnostics.append(line)
    if result.returncode != 0:
        tap.problems.append(f"psql exited {result.returncode}: {result.stderr.strip()[-2000:]}")
    if planned is None:
        tap.problems.append("no plan: the file must call plan(n) or no_plan()")
    elif planned != len(tap.assertions):
        tap.problems.append(f"planned {planned} assertions but ran {len(tap.assertions)}")
    if not tap.assertions:
        tap.problems.append("no assertions ran")
    return tap


class PgTapFile(pytest.File):
    """One pgTAP file: an item per planned assertion and one for the file as a whole."""

    def collect(self):
        if pgtap_sql() is None:
            yield PgTapAssertion.from_parent(self, name="pgtap-missing", number=None)
            return
        plan = PLAN_CALL.search(self.path.read_text())
        for n in range(1, int(plan[1]) + 1 if plan else 1):
            yield PgTapAssertion.from_parent(self, name=f"{n:03d}", number=n)
        yield PgTapAssertion.from_parent(self, name="file", number=None)

    def tap(self) -> TapResult:
        """The file's TAP result, running it on first use."""
        cached = getattr(self, "_tap", None)
        if cached is None:
            server = _server()
            cached = self._tap = run_pgtap_file(server.app_direct(_STATE["session_db"]), self.path)
        return cached


class PgTapFailure(Exception):
    pass


class PgTapAssertion(pytest.Item):
    """One assertion of a pgTAP file (number n), or the file itself (number None)."""

    def __init__(self, *, number: int | None, **kwargs):
        super().__init__(**kwargs)
        self.number = number
        self.description = ""

    def runtest(self) -> None:
        if self.name == "pgtap-missing":
            raise PgTapFailure(
                "pgTAP is not installed: `make test` installs postgresql-15-pgtap "
                "(Debian/Ubuntu), or set PGTAP_SQL to a standalone pgtap.sql"
            )
        tap = self.parent.tap()
        if self.number is None:
            if tap.problems:
                raise PgTapFailure("\n".join(tap.problems + tap.diagnostics))
            return
        if self.number not in tap.assertions:
            raise PgTapFailure(
                f"assertion {self.number} did not run\n" + "\n".join(tap.problems + tap.diagnostics)
            )
        match, notes = tap.assertions[self.number]
        self.description = match["desc"] or "(no description)"
        self.user_properties.append(("pgtap", self.description))
        if match["ok"] != "ok" and not match["directive"]:
            raise PgTapFailure("\n".join(notes))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, PgTapFailure):
            return f"pgTAP: not ok {self.name} {self.description}\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"pgTAP {self.name}"
