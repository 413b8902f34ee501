"""Benchmarks: `flagship bench <domain> [--scale S]`.

Each domain is a module `flagship/bench/<domain>.py` exposing
`run(bench: Bench, scale: float) -> None`; it generates its data in a database of its own
(see `Bench.database`) and times its operations with `Bench.measure`. The runner prints one
row per operation (p50, p95, calls) and, last, `worst_p95_ms=<number>`.
"""

from __future__ import annotations

import importlib
import pkgutil

RUNNER_MODULES = {"runner"}


def domains() -> list[str]:
    """The benchmark modules present, by name."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in RUNNER_MODULES)


def load(domain: str):
    if domain not in domains():
        raise KeyError(domain)
    return importlib.import_module(f"flagship.bench.{domain}")
