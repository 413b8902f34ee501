"""The committed TypeScript types (types/) are current, compile, and refuse wrong code.

The types are regenerated from a fresh clone of the migrated template with the pinned
postgres-meta and json-schema-to-typescript; a difference from the committed files fails
(`FLAGSHIP_UPDATE_REFERENCE=1` rewrites them, as does `flagship reference types`). The
typed example app (examples/typed-app) is checked with the pinned TypeScript compiler, and
deliberately wrong snippets, added to that program in memory, must fail with the error a
developer would see.
"""

from __future__ import annotations

import json
import os
import re

import pytest

from flagship import config
from flagship.reference import typescript
from flagship.testing.node import run_node

APP = config.ROOT / "examples" / "typed-app"
TSC = config.ROOT / "tests" / "js" / "tsc.mjs"
DOMAINS = ("accounts", "learning", "ctf", "community", "billing", "events", "files", "ai")


@pytest.fixture(scope="module")
def fresh_url(test_server):
    with test_server.database() as (admin_url, _):
        yield admin_url


@pytest.fixture(scope="module")
def expected(fresh_url):
    return typescript.render(fresh_url)


def tsc(**extra: str) -> dict:
    # The compiler reads all of supabase-js's types: seconds alone, minutes on a loaded machine.
    env = {"TSC_EXTRA_FILES": json.dumps(extra)}
    return run_node(TSC, str(APP), env=env, package="typescript", timeout=600)


def test_the_committed_types_are_current(expected):
    if os.environ.get("FLAGSHIP_UPDATE_REFERENCE") == "1":
        typescript.write(expected)
    stale = [str(p.relative_to(config.ROOT)) for p in typescript.stale(expected)]
    assert stale == [], f"{stale} are stale: run `flagship reference types`"


def test_the_types_cover_the_api_schema(fresh_url, expected, db):
    ts = expected[typescript.DATABASE_TS]
    views = [
        r["relname"]
        for r in db.execute(
            "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = 'api' and c.relkind in ('v', 'm') order by 1"
        )
    ]
    functions = [
        r["proname"]
        for r in db.execute(
            "select distinct p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
            " where n.nspname = 'api' order by 1"
        )
    ]
    assert views and functions
    database = ts[ts.index("export type Database = {") :]
    database = database[: database.index("\n}\n")]
    declared = set(re.findall(r"^      (\w+): \{", database, flags=re.M))
    assert [v for v in views if v not in declared] == []
    assert [f for f in functions if f not in declared] == []
    # Only the api schema: no domain schema leaks into a client's types.
    assert re.findall(r"^  (\w+): \{", database, flags=re.M) == ["__InternalSupabase", "api"]


def test_every_declared_shape_has_its_result_type(db, expected):
    shapes = typescript.result_shapes(db)
    results = expected[typescript.RESULTS_TS]
    generated = expected[typescript.DATABASE_TS]
    for fn in shapes:
        assert re.search(rf"^  {fn}: \w+Result;$", results, flags=re.M), fn
        # The merge replaces a `Json` result only: a shape never overrides a typed one.
        returns = re.search(rf"^      {fn}: \{{.*?Returns: ([\w\[\]]+)", generated, re.M | re.S)
        assert returns and returns.group(1) == "Json", fn


def test_a_shape_compiles_to_a_strict_type():
    out = typescript.result_types(
        {
            "ctf_example": {
                "type": "object",
                "required": ["status", "points"],
                "properties": {
                    "status": {"enum": ["correct", "incorrect"]},
                    "points": {"type": "integer"},
                    "team": {
                        "title": "Team",
                        "type": ["object", "null"],
                        "properties": {"id": {"type": "string"}},
                        "required": ["id"],
                    },
                },
            }
        }
    )
    assert "export interface CtfExampleResult {" in out
    assert "status: 'correct' | 'incorrect';" in out
    assert "team?: CtfExampleTeam;" in out  # nested titles are prefixed by the function
    assert "[k: string]" not in out  # no undeclared keys unless the schema allows them
    assert "ctf_example: CtfExampleResult;" in out


def test_clashing_type_names_are_refused():
    shape = {"type": "object", "properties": {"x": {"title": "Result", "type": "string"}}}
    with pytest.raises(typescript.TypesError, match="declared by the shapes of both"):
        typescript.result_types(
            {
                "a_b": shape,
                "a": {**shape, "properties": {"y": {"title": "BResult", "type": "string"}}},
            }
        )


def test_a_database_that_cannot_be_reached_is_a_clear_error():
    with pytest.raises(typescript.TypesError, match=r"server\.js failed"):
        typescript.database_types("postgresql://postgres@127.0.0.1:1/postgres")


WRONG = {
    "argument name": (
        "const r = await api.rpc('ctf_submit', { p_challenge_id: id, p_flagg: 'flag{x}' });",
        2561,
        "'p_flagg' does not exist",
    ),
    "argument type": (
        "const r = await api.rpc('community_create_thread',"
        " { p_category_id: 'seven', p_title: 't', p_body: 'b' });",
        2322,
        "Type 'string' is not assignable to type 'number'",
    ),
    "function name": (
        "const r = await api.rpc('ctf_submit_flag', { p_challenge_id: id });",
        2345,
        "ctf_submit_flag",
    ),
    "result field": (
        "const { data } = await api.rpc('learning_enroll', { p_course_id: id });"
        " const r = data?.score;",
        2339,
        "Property 'score' does not exist on type",
    ),
    "outcome field": (
        "const { data } = await api.rpc('ctf_submit', { p_challenge_id: id, p_flag: 'f' });"
        " const r = data?.status === 'incorrect' ? data.points : 0;",
        2339,
        "Property 'points' does not exist on type",
    ),
    "view column": (
        "const { data } = await api.from('learning_courses').select('id, title').single();"
        " const r: number | null | undefined = data?.title;",
        2322,
        "Type 'string | null | undefined' is not assignable to type 'number | null | undefined'",
    ),
}


def wrong_file(case: str) -> str:
    return f"src/wrong_{case.replace(' ', '_')}.ts"


@pytest.fixture(scope="module")
def checked() -> dict:
    """One compiler run: the app, plus each wrong snippet as a file of its own in memory."""
    files = {}
    for case, (line, _, _) in WRONG.items():
        files[wrong_file(case)] = (
            "import type { Api } from './client.js';\n"
            "export async function wrong(api: Api, id: string) {\n"
            f"  {line}\n"
            "  return r;\n"
            "}\n"
        )
    return tsc(**files)


def test_the_example_app_compiles(checked):
    app_errors = [e for e in checked["errors"] if "/wrong_" not in (e["file"] or "")]
    assert app_errors == []
    checked_files = {p.rsplit("/", 1)[-1] for p in checked["files"]}
    assert {f"{d}.ts" for d in DOMAINS} <= checked_files
    assert len([p for p in checked["files"] if "/wrong_" in p]) == len(WRONG)


@pytest.mark.parametrize("case", WRONG, ids=list(WRONG))
def test_wrong_code_does_not_compile(checked, case):
    _, code, message = WRONG[case]
    errors = [e for e in checked["errors"] if e["file"] == f"examples/typed-app/{wrong_file(case)}"]
    assert any(e["code"] == code and message in e["message"] for e in errors), errors
