"""Database advisor: fails on what Supabase's linter (splinter) flags, and on our own rules.

Each check lists the offending objects, so a failure says exactly what to fix.
"""

from __future__ import annotations

from pathlib import Path

PLATFORM_SCHEMAS = (
    "pg_catalog",
    "information_schema",
    "pg_toast",
    "auth",
    "storage",
    "realtime",
    "extensions",
    "supabase_migrations",
    "tests",  # tests: pgTAP helpers, test databases only
)
HERE = Path(__file__).parent


def allowlist(kind: str) -> set[str]:
    """The union of allowlists/<kind>/*.txt (one file per domain, so domains never clash)."""
    entries = set()
    for path in sorted((HERE / "allowlists" / kind).glob("*.txt")):
        for line in path.read_text().splitlines():
            entry = line.split("#", 1)[0].strip()
            if entry:
                entries.add(entry)
    return entries


def ours(column: str) -> str:
    """SQL condition: the namespace column names one of our schemas."""
    return f"{column} not in {PLATFORM_SCHEMAS!r} and {column} not like 'pg\\_%%'"


def offenders(db, sql: str) -> list[str]:
    return sorted(r["o"] for r in db.execute(sql).fetchall())


def test_every_table_has_rls_primary_key_and_comment(db):
    base = f"""
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and {ours("n.nspname")}
    """
    assert (
        offenders(db, f"select n.nspname || '.' || c.relname as o {base} and not c.relrowsecurity")
        == []
    )
    assert (
        offenders(
            db,
            f"select n.nspname || '.' || c.relname as o {base} and not exists"
            " (select 1 from pg_constraint k where k.conrelid = c.oid"
            " and k.contype = 'p')",
        )
        == []
    )
    assert (
        offenders(
            db,
            f"select n.nspname || '.' || c.relname as o {base}"
            " and obj_description(c.oid, 'pg_class') is null",
        )
        == []
    )


def test_every_function_has_fixed_search_path(db):
    sql = f"""
        select p.oid::regprocedure::text as o
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where {ours("n.nspname")} and p.prokind = 'f'
          and not exists (select 1 from unnest(coalesce(p.proconfig, '{{}}')) c
                          where c like 'search_path=%%')
          and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')
    """
    assert offenders(db, sql) == []


def test_api_views_are_security_invoker_and_commented(db):
    sql = """
        select c.relname as o from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'api' and c.relkind = 'v'
          and not coalesce('security_invoker=true' = any(c.reloptions), false)
    """
    assert offenders(db, sql) == []
    sql = """
        select c.relname as o from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'api' and c.relkind in ('v', 'm')
          and obj_description(c.oid, 'pg_class') is null
    """
    assert offenders(db, sql) == []


def test_api_functions_are_commented(db):
    sql = """
        select p.oid::regprocedure::text as o
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'api' and obj_description(p.oid, 'pg_proc') is null
    """
    assert offenders(db, sql) == []


def test_foreign_keys_are_indexed(db):
    sql = f"""
        select k.conrelid::regclass::text || ' (' || k.conname || ')' as o
        from pg_constraint k join pg_class c on c.oid = k.conrelid
        join pg_namespace n on n.oid = c.relnamespace
        where k.contype = 'f' and {ours("n.nspname")}
          and not exists (
              select 1 from pg_index i
              where i.indrelid = k.conrelid
                and (i.indkey::int2[])[0:cardinality(k.conkey) - 1] = k.conkey
          )
    """
    assert offenders(db, sql) == []


def test_policies_wrap_auth_calls_in_select(db):
    # splinter's auth_rls_initplan: auth.uid() per row instead of once per statement.
    rows = db.execute(
        "select schemaname || '.' || tablename || ':' || policyname as o,"
        " coalesce(qual, '') || ' ' || coalesce(with_check, '') as expr from pg_policies"
    ).fetchall()
    import re

    bare = re.compile(r"(?<!SELECT )auth\.(uid|jwt|role|email)\(\)")
    assert sorted(r["o"] for r in rows if bare.search(r["expr"])) == []


def test_no_permissive_policy_overlap(db):
    # splinter's multiple_permissive_policies (storage.objects is exempt: one policy per
    # bucket is the documented Supabase pattern).
    sql = """
        select schemaname || '.' || tablename || ' ' || cmd || ' for ' || r as o
        from pg_policies, unnest(roles) as r
        where permissive = 'PERMISSIVE' and schemaname <> 'storage'
        group by schemaname, tablename, cmd, r having count(*) > 1
    """
    rows = offenders(db, sql)
    # 'ALL' policies overlap with every command: check them too.
    sql_all = """
        select a.schemaname || '.' || a.tablename || ' ALL/' || b.cmd || ' for ' || ra as o
        from pg_policies a cross join unnest(a.roles) ra
        join pg_policies b on b.schemaname = a.schemaname and b.tablename = a.tablename
            and b.policyname <> a.policyname and ra = any(b.roles)
        where a.cmd = 'ALL' and a.permissive = 'PERMISSIVE' and b.permissive = 'PERMISSIVE'
          and a.schemaname <> 'storage'
    """
    assert rows + offenders(db, sql_all) == []


def test_no_always_true_write_policies(db):
    sql = """
        select schemaname || '.' || tablename || ':' || policyname as o from pg_policies
        where cmd in ('INSERT', 'UPDATE', 'DELETE', 'ALL')
          and (qual = 'true' or with_check = 'true')
          and roles && array['anon', 'authenticated', 'public']::name[]
    """
    assert offenders(db, sql) == []


def test_policies_do_not_trust_user_metadata(db):
    sql = """
        select schemaname || '.' || tablename || ':' || policyname as o from pg_policies
        where coalesce(qual, '') || coalesce(with_check, '') ~ 'user_metadata'
    """
    assert offenders(db, sql) == []


def test_definer_functions_in_api_are_reviewed(db):
    """A definer function in the exposed schema runs with its owner's rights: each one is
    listed in allowlists/definer/<domain>.txt after review (it re-checks the caller itself)."""
    sql = """
        select p.oid::regprocedure::text as o
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'api' and p.prosecdef
    """
    found = set(offenders(db, sql))
    listed = allowlist("definer")
    assert sorted(found - listed) == [], "new definer functions: review and list them"
    assert sorted(listed - found) == [], "stale entries in allowlists/definer"


def test_anon_reaches_only_the_allowlist(db):
    """Everything anon can read or call, in every schema of ours, is on allowlists/anon."""
    sql = f"""
        select 'table ' || n.nspname || '.' || c.relname as o
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'v', 'm', 'p') and {ours("n.nspname")}
          and has_schema_privilege('anon', n.oid, 'usage')
          and (has_table_privilege('anon', c.oid, 'select')
               or has_table_privilege('anon', c.oid, 'insert')
               or has_table_privilege('anon', c.oid, 'update')
               or has_table_privilege('anon', c.oid, 'delete')
               or has_any_column_privilege('anon', c.oid, 'select'))
        union all
        select 'function ' || p.oid::regprocedure::text
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where {ours("n.nspname")} and p.prokind = 'f'
          and has_schema_privilege('anon', n.oid, 'usage')
          and has_function_privilege('anon', p.oid, 'execute')
          and p.prorettype <> 'trigger'::regtype
    """
    found = set(offenders(db, sql))
    listed = allowlist("anon")
    assert sorted(found - listed) == [], "anon can reach objects not on allowlists/anon/*.txt"
    assert sorted(listed - found) == [], "stale entries in allowlists/anon"


def test_no_default_privileges_leak(db):
    """Tables get grants explicitly: no default privileges may hand them to API roles."""
    rows = db.execute(
        "select defaclrole::regrole::text as o from pg_default_acl"
        " where array_to_string(defaclacl, ',') ~ '(anon|authenticated)='"
    ).fetchall()
    assert rows == []
