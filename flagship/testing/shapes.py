"""Declared result shapes: validate what an api function returned against its JSON Schema.

`ops.api_result_shapes` holds a JSON Schema (draft 2020-12) per api function that returns
jsonb; the reference generators read it, and `harness.rpc` checks every real result against
it here, so a shape that drifts from its function fails the test that called it. Validators
are built once per database (each clone has the migrated registry), and every function whose
result was checked is remembered so a coverage test can ask which shapes real results reached.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from jsonschema import Draft202012Validator

from flagship.json_schema import validator

_VALIDATORS: dict[tuple[str, str, str], dict[str, Draft202012Validator]] = {}
_CHECKED: set[str] = set()
_RECORDERS: list[set[str]] = []


class ShapeMismatch(AssertionError):
    """A real result does not match the JSON Schema its function declares."""


def validators(conn: psycopg.Connection) -> dict[str, Draft202012Validator]:
    """One validator per declared shape of the connection's database (built once)."""
    info = conn.info
    key = (info.host, str(info.port), info.dbname)
    if key not in _VALIDATORS:
        found = conn.execute("select to_regclass('ops.api_result_shapes') as t").fetchone()
        rows = []
        if found["t"] is not None:
            rows = conn.execute("select object, shape from ops.api_result_shapes").fetchall()
        _VALIDATORS[key] = {r["object"]: validator(r["shape"]) for r in rows}
    return _VALIDATORS[key]


def check(conn: psycopg.Connection, function: str, value: Any) -> None:
    """Fail with the function and the JSON path when `value` is not of its declared shape.

    A function without a declared shape is not checked here; the guard
    tests/guards/test_api_result_shapes.py fails for an api function returning jsonb
    without one.
    """
    validator = validators(conn).get(function)
    if validator is None:
        return
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    _CHECKED.add(function)
    for recorder in _RECORDERS:
        recorder.add(function)
    if errors:
        lines = [f"{e.json_path}: {e.message[:300]}" for e in errors[:5]]
        more = f"\n  ... and {len(errors) - 5} more" if len(errors) > 5 else ""
        raise ShapeMismatch(
            f"{function} returned a result that does not match its declared shape"
            f" (ops.api_result_shapes):\n  " + "\n  ".join(lines) + more
        )


@contextmanager
def recording() -> Iterator[set[str]]:
    """Collect the functions whose results are validated inside the block (a coverage test
    asks which shapes its own calls reached, whatever ran before in the process)."""
    found: set[str] = set()
    _RECORDERS.append(found)
    try:
        yield found
    finally:
        _RECORDERS.remove(found)


def checked() -> set[str]:
    """The functions whose results this process has validated so far (a copy)."""
    return set(_CHECKED)
