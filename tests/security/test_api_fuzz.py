"""Property-based fuzzing of every api function: generated, well-typed arguments (read from
pg_proc), called as anon, a member, an admin and an admin's API key token. Every refusal must
carry a catalogued code (the hint is in ops.error_codes, with that SQLSTATE) or be a bare
privilege refusal (42501 without a hint); anything else — an internal error, an undefined
object, a raw cast, range or constraint error, a timeout — is a bug. Bounded and
deterministic: 8 examples per function, derandomized, no shrinking, each call in a savepoint
of one transaction."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from psycopg import sql
from psycopg.types.json import Jsonb
from scopekit import create_key, key_claims

from flagship.database import as_caller, connect
from flagship.testing.harness import User, create_user, grant_roles, scalar

FUZZ = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
STATEMENT_TIMEOUT = "4s"


SURFACE = Path(__file__).parents[1] / "guards" / "api_surface.json"


def api_functions() -> list[tuple[str, list[str]]]:
    """(signature, argument types) of every api function in the recorded api surface (the
    surface guard keeps it equal to pg_catalog; test_fuzz_covers_every_function checks)."""
    signatures = sorted(json.loads(SURFACE.read_text())["functions"])
    return [(s, [t for t in s[s.index("(") + 1 : -1].split(",") if t]) for s in signatures]


def test_fuzz_covers_every_function(db) -> None:
    rows = db.execute(
        "select p.oid::regprocedure::text as sig from pg_proc as p"
        " where p.pronamespace = 'api'::regnamespace"
    ).fetchall()
    assert {r["sig"] for r in rows} == {s for s, _ in api_functions()}


# -- strategies, one per declared argument type ---------------------------------------------
NUL_FREE = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
WORDS = st.sampled_from(
    [
        "",
        " ",
        "x",
        "admin",
        "member",
        "moderator",
        "instructor",
        "author",
        "article",
        "video",
        "quiz",
        "open",
        "public",
        "private",
        "draft",
        "published",
        "spam",
        "hide",
        "flag{x}",
        "%",
        "_",
        "\\",
        "'; select 1; --",
        "😀",
        "ünïcödé",
        "a" * 101,
    ]
)
TEXT = st.one_of(
    WORDS,
    st.text(NUL_FREE, max_size=40),
    st.integers(1_000, 200_000).map(lambda n: "é" * n),  # huge
)
KEYS = st.one_of(
    st.sampled_from(
        [
            "title",
            "name",
            "body",
            "slug",
            "display_name",
            "username",
            "bio",
            "kind",
            "status",
            "visibility",
            "starts_at",
            "ends_at",
            "points",
            "position",
            "options",
            "answers",
            "settings",
        ]
    ),
    st.text(NUL_FREE, max_size=12),
)
JSON_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
JSON = st.recursive(
    JSON_SCALAR,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=12,
)
INT4 = st.one_of(st.sampled_from([0, 1, -1, 2**31 - 1, -(2**31)]), st.integers(-(2**31), 2**31 - 1))
INT8 = st.one_of(st.sampled_from([0, 1, -1, 2**63 - 1, -(2**63)]), st.integers(-(2**63), 2**63 - 1))
FLOAT4 = st.floats(width=32, allow_nan=False, allow_infinity=False)
TIMESTAMP = st.one_of(
    st.sampled_from(["infinity", "-infinity"]),
    st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    ),
)
INTERVAL = st.one_of(
    st.sampled_from(["0", "-1 day", "1 hour", "1000 years", "-178000000 years"]),
    st.timedeltas(min_value=timedelta(days=-(10**6)), max_value=timedelta(days=10**6)),
)


def strategy(argtype: str, ids: list[str]) -> st.SearchStrategy[Any]:
    uuid = st.one_of(st.sampled_from(ids), st.uuids().map(str))
    base = {
        "uuid": uuid,
        "text": TEXT,
        "integer": INT4,
        "bigint": INT8,
        "boolean": st.booleans(),
        "jsonb": JSON.map(Jsonb),
        "timestamp with time zone": TIMESTAMP,
        "interval": INTERVAL,
        "text[]": st.lists(TEXT, max_size=5),
        "uuid[]": st.lists(uuid, max_size=5),
        "bigint[]": st.lists(INT8, max_size=5),
        # query vectors (api.ai_search): short ones, and the model's 384 dimensions
        "real[]": st.one_of(
            st.lists(FLOAT4, max_size=5), st.lists(FLOAT4, min_size=384, max_size=384)
        ),
    }[argtype]
    return st.one_of(st.none(), base)


# -- the callers -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fuzz_db(db_url) -> Iterator[tuple[psycopg.Connection, dict[str, Any], set[tuple], list]]:
    """One transaction for the module (rolled back): callers and the error catalogue."""
    conn = connect(db_url)
    try:
        member = create_user(conn, username="fuzz_member")
        admin = grant_roles(conn, create_user(conn, username="fuzz_admin"), "admin")
        catalogue = {
            (r["code"], r["sqlstate"])
            for r in conn.execute("select code, sqlstate from ops.error_codes")
        }
        ids = [member.id, admin.id, *world(conn, admin)]
        key = create_key(conn, admin, ["ctf:play", "learning:courses:write", "profile:read"])
        callers: dict[str, Any] = {
            "anon": None,
            "member": member,
            "admin": admin,
            "admin's API key": key_claims(admin, key),
        }
        yield conn, callers, catalogue, ids
    finally:
        conn.rollback()
        conn.close()


def world(conn: psycopg.Connection, admin: User) -> list[str]:
    """A course with a module and a lesson, and a CTF event, so generated ids can hit them."""

    def run(statement: str, *args: Any) -> Any:
        return scalar(conn, admin, f"select {statement} as r", args)

    course = run("api.learning_create_course('fuzz-course', 'Fuzz course')")["id"]
    module = run("api.learning_create_module(%s, 'Module')", course)
    lesson = run("api.learning_create_lesson(%s, 'Lesson', 'article')", module)
    event = run(
        "api.ctf_create_event(%s::jsonb)", json.dumps({"slug": "fuzz-ctf", "title": "Fuzz CTF"})
    )
    event = event["id"] if isinstance(event, dict) else event
    return [str(course), str(module), str(lesson), str(event)]


def claims_of(who: User | dict | None) -> dict[str, Any]:
    if isinstance(who, dict):
        return who
    return who.claims if who is not None else {"role": "anon"}


def verdict(exc: psycopg.Error, catalogue: set[tuple]) -> str | None:
    """None when the error is an acceptable refusal, else why it is a bug."""
    state, code = exc.diag.sqlstate, exc.diag.message_hint
    if code is None:
        if state == "42501":
            return None  # privilege refusal (no execute grant, RLS)
        return f"uncatalogued error {state}: {exc.diag.message_primary}"
    if (code, state) not in catalogue:
        return f"code {code!r} with SQLSTATE {state} is not in ops.error_codes"
    return None


@pytest.mark.parametrize(("signature", "argtypes"), api_functions())
def test_api_function_fuzz(fuzz_db, signature: str, argtypes: list[str]) -> None:
    conn, callers, catalogue, ids = fuzz_db
    name = signature.split("(")[0]
    schema, fn = name.split(".")
    statement = sql.SQL("select * from {}.{}({})").format(
        sql.Identifier(schema),
        sql.Identifier(fn),
        sql.SQL(", ").join(sql.SQL("%s::{}").format(sql.SQL(t)) for t in argtypes),
    )

    @FUZZ
    @given(st.tuples(*(strategy(t, ids) for t in argtypes)))
    def run(args: tuple) -> None:
        for label, who in callers.items():
            conn.execute("savepoint fuzz")
            try:
                with as_caller(conn, claims_of(who), path=f"/rpc/{fn}"):
                    conn.execute(f"set local statement_timeout = '{STATEMENT_TIMEOUT}'")
                    conn.execute(statement, args).fetchall()
            except psycopg.Error as exc:
                problem = verdict(exc, catalogue)
                assert problem is None, f"{signature} as {label} with {args!r:.500}: {problem}"
            finally:
                conn.execute("rollback to savepoint fuzz")

    run()
