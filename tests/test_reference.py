"""flagship.reference: what it reads from pg_catalog and how it describes it, on objects made
in the test's transaction (rolled back), and `flagship reference check` on a stale document."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from flagship.database import connect
from flagship.reference import catalogue, openapi, raises

SCHEMA = """
create schema ref_test;
create table ref_test.items (id int primary key, label text not null, note text);
comment on column ref_test.items.label is 'What it is.';
create view ref_test.plain as select id, label, note from ref_test.items;
create view ref_test.joined as
  select a.id, b.label from ref_test.items as a left join ref_test.items as b on b.id = a.id;
create function private.ref_test_guard(p int) returns void language plpgsql as $$
begin
  if p < 0 then perform private.arg_error('p', 'negative'); end if;
  if p = 0 then perform private.raise_error('conflict', 'zero', 'PT409'); end if;
end $$;
create function ref_test.checked(p_n int, p_tag text default null, p_limit int default 20)
returns int language plpgsql stable as $$
begin perform private.ref_test_guard(p_n); return p_n; end $$;
comment on function ref_test.checked(int, text, int) is
'Checks a number. Errors: forbidden, no_such_code_anywhere.';
create function ref_test.rows(p_min int) returns table (id int, label text)
language sql stable as $$ select id, label from ref_test.items where id >= p_min $$;
create function ref_test.touch() returns void language sql as $$ select $$;
create function ref_test.whole(jsonb) returns jsonb language sql as $$ select $1 $$;
create function ref_test.positional(int) returns int language sql as $$ select $1 $$;
revoke execute on function ref_test.touch() from public;
grant execute on function ref_test.touch() to authenticated;
"""


@pytest.fixture
def cat(db):
    db.execute(SCHEMA)
    return catalogue.load(db, "ref_test")


def _fn(cat, name):
    return next(f for f in cat.functions if f.name == name)


def test_errors_follow_the_helpers_a_function_calls(cat):
    checked = _fn(cat, "checked")
    # arg_error → raise_error('invalid_argument'); the guard's own conflict; the comment's
    # catalogued codes (an unknown word in the list is not a code).
    assert {"invalid_argument", "conflict", "forbidden"} <= set(checked.errors)
    assert "no_such_code_anywhere" not in checked.errors
    assert _fn(cat, "touch").errors == []


def test_arguments_defaults_and_volatility(cat):
    checked = _fn(cat, "checked")
    assert [(a.name, a.default) for a in checked.args] == [
        ("p_n", None),
        ("p_tag", "NULL::text"),
        ("p_limit", "20"),
    ]
    assert checked.read_only and not _fn(cat, "touch").read_only
    schema = openapi.args_schema(cat, checked)
    assert schema["required"] == ["p_n"]
    assert schema["properties"]["p_tag"]["type"] == ["string", "null"]
    assert schema["properties"]["p_limit"]["x-pg-default"] == "20"


def test_results(cat):
    rows = openapi.result_schema(cat, _fn(cat, "rows"))
    assert rows["type"] == "array"
    assert set(rows["items"]["properties"]) == {"id", "label"}
    assert openapi.result_schema(cat, _fn(cat, "touch")) is None  # void: 204
    assert openapi.result_schema(cat, _fn(cat, "checked"))["type"] == "integer"
    whole = openapi.result_schema(cat, _fn(cat, "whole"))
    assert whole["x-flagship-shape"] == "undeclared"


def test_grants_and_callability(cat):
    assert _fn(cat, "touch").grantees == ["authenticated"]
    assert openapi.callable_by_name(cat, _fn(cat, "whole"))
    assert not openapi.callable_by_name(cat, _fn(cat, "positional"))
    part = openapi.rest_part(cat)
    assert "/rest/v1/rpc/positional" not in part["paths"]
    touch = part["paths"]["/rest/v1/rpc/touch"]
    assert set(touch) == {"post"} and "204" in touch["post"]["responses"]
    assert touch["post"]["security"] == [{"apikey": [], "userSession": []}]
    assert touch["post"]["x-flagship-scope"] == {"access": "none", "scope": None}


def test_view_nullability_follows_base_columns_unless_outer_joined(cat):
    views = {v.name: v for v in cat.views}
    plain = {c.name: c for c in views["plain"].columns}
    assert not plain["id"].nullable and not plain["label"].nullable and plain["note"].nullable
    assert all(c.nullable for c in views["joined"].columns)
    assert plain["label"].comment is None  # view columns have comments of their own
    items = {c.name: c for c in views["items"].columns}
    assert items["label"].comment == "What it is."


def test_views_without_write_grants_are_read_only(cat):
    part = openapi.rest_part(cat)
    assert set(part["paths"]["/rest/v1/plain"]) == {"get"}  # auto-updatable, not granted


def test_defaults_split_at_top_level_commas_only():
    text = "NULL::text, '{a,b}'::text[], ARRAY[1, 2], 'it''s, ok'::text"
    assert catalogue.split_defaults(text) == [
        "NULL::text",
        "'{a,b}'::text[]",
        "ARRAY[1, 2]",
        "'it''s, ok'::text",
    ]


def test_errors_list_in_comments():
    graph = raises.CallGraph({}, {}, {"forbidden", "conflict"})
    comment = "Does things.\nErrors: forbidden (when not yours),\nconflict.\n\nNot: invalid."
    assert graph.errors_of_function("api", "x", comment) == ["conflict", "forbidden"]


def test_check_fails_on_a_stale_document(fresh_db):
    """The committed document describes the migrations; a changed COMMENT makes it stale."""
    env = {**os.environ, "DATABASE_URL": fresh_db}
    run = [sys.executable, "-m", "flagship.cli", "reference", "check"]
    ok = subprocess.run(run, capture_output=True, text=True, timeout=300, env=env)
    assert ok.returncode == 0, ok.stderr
    with connect(fresh_db, autocommit=True) as conn:
        conn.execute("comment on view api.ops_error_codes is 'Changed.'")
    stale = subprocess.run(run, capture_output=True, text=True, timeout=300, env=env)
    assert stale.returncode == 1
    assert "is stale: run `flagship reference build`" in stale.stderr


def test_errors_follow_the_triggers_of_written_tables(db):
    db.execute(
        """
        create schema ref_test;
        create table ref_test.guarded (id int primary key);
        create function private.ref_test_refuse() returns trigger language plpgsql as $$
        begin perform private.raise_error('conflict', 'no', 'PT409'); return new; end $$;
        create trigger refuse before insert on ref_test.guarded
        for each row execute function private.ref_test_refuse();
        create function ref_test.add(p_id int) returns void language sql as $$
            insert into ref_test.guarded (id) values (p_id) $$;
        """
    )
    fn = next(f for f in catalogue.load(db, "ref_test").functions if f.name == "add")
    assert fn.errors == ["conflict"]


def test_summaries_are_the_first_sentence():
    text = "Courses you may see: published ones; drafts of\ncourses you teach. More here."
    assert (
        openapi.summary_of(text)
        == "Courses you may see: published ones; drafts of courses you teach"
    )
    assert openapi.summary_of("word " * 40).endswith("…")
    assert len(openapi.summary_of("word " * 40)) <= 120
