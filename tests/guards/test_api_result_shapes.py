"""Every api function that returns JSON declares the shape of its result.

The OpenAPI document, the TypeScript types and the Python SDK read the JSON Schemas in
ops.api_result_shapes; a function returning bare jsonb without one would reach clients as
`any`. `flagship.testing.harness.rpc` validates real results against these schemas, and
tests/guards/test_api_result_shapes_live.py reaches every one of them.
"""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from flagship.json_schema import FORMATS
from flagship.testing import shapes
from flagship.testing.harness import create_user, rpc


def json_functions(db) -> set[str]:
    rows = db.execute(
        "select distinct 'api.' || p.proname as fn from pg_proc as p"
        " where p.pronamespace = 'api'::regnamespace"
        " and p.prorettype in ('json'::regtype, 'jsonb'::regtype)"
    ).fetchall()
    return {r["fn"] for r in rows}


def declared(db) -> dict[str, dict]:
    rows = db.execute("select object, shape from ops.api_result_shapes").fetchall()
    return {r["object"]: r["shape"] for r in rows}


def test_the_scan_finds_json_functions(db):
    assert {"api.ctf_submit", "api.accounts_get_my_settings"} <= json_functions(db)


def test_every_json_function_declares_its_result_shape(db):
    missing = sorted(json_functions(db) - set(declared(db)))
    assert missing == [], (
        f"api functions returning json/jsonb without a result shape: {missing}; declare one"
        " with ops.declare_result_shape in the owner's migration"
    )


def test_no_shape_names_a_missing_function(db):
    stale = sorted(set(declared(db)) - json_functions(db))
    assert stale == [], f"result shapes of functions that do not exist or return no JSON: {stale}"


def test_every_shape_is_a_valid_draft_2020_12_schema_with_a_description(db):
    for name, shape in sorted(declared(db).items()):
        Draft202012Validator.check_schema(shape)
        description = shape.get("description")
        assert isinstance(description, str) and description.strip(), f"{name}: no description"


def test_every_declared_property_is_described(db):
    """The reference documents each key: a property without a description is a gap."""

    def walk(node, path, name):
        if isinstance(node, dict):
            for key, sub in (node.get("properties") or {}).items():
                assert isinstance(sub, dict) and sub.get("description"), (
                    f"{name}: {path}.{key} has no description"
                )
            for key, sub in node.items():
                walk(sub, f"{path}.{key}" if key != "properties" else path, name)
        elif isinstance(node, list):
            for sub in node:
                walk(sub, path, name)

    for name, shape in declared(db).items():
        walk(shape, "$", name)


def test_rpc_fails_a_result_that_does_not_match_naming_function_and_path(db):
    user = create_user(db, username="shape_guard")
    settings = rpc(db, user, "accounts_get_my_settings")
    assert "api.accounts_get_my_settings" in shapes.checked()
    wrong = settings | {"privacy": settings["privacy"] | {"allow_messages": "anyone"}}
    with pytest.raises(shapes.ShapeMismatch) as failure:
        shapes.check(db, "api.accounts_get_my_settings", wrong)
    message = str(failure.value)
    assert "api.accounts_get_my_settings" in message
    assert "$.privacy.allow_messages" in message
    with pytest.raises(shapes.ShapeMismatch, match=r"'surprise' was unexpected"):
        shapes.check(db, "api.accounts_get_my_settings", settings | {"surprise": 1})


def test_date_times_need_a_time_and_an_offset():
    assert FORMATS.conforms("2026-12-01T14:50:00.123456+00:00", "date-time")
    assert not FORMATS.conforms("2026-12-01", "date-time")
    assert not FORMATS.conforms("2026-12-01T14:50:00", "date-time")
    assert not FORMATS.conforms("yesterday", "date-time")
