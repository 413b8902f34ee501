"""The migrator: ordered, transactional, recorded like the Supabase CLI, idempotent."""

from __future__ import annotations

import pytest

from flagship import config, migrate
from flagship.database import connect


def test_rerun_applies_nothing_and_history_matches_files(fresh_db):
    assert migrate.apply_platform(fresh_db) == []  # the template has the platform already
    assert migrate.migrate(fresh_db) == []
    with connect(fresh_db) as conn:
        rows = conn.execute(
            "select version, name from supabase_migrations.schema_migrations order by version"
        ).fetchall()
    assert [(r["version"], r["name"]) for r in rows] == [
        (m.version, m.name) for m in migrate.migrations()
    ]


def test_seed_is_rerunnable(fresh_db):
    assert migrate.seed(fresh_db) and migrate.seed(fresh_db)
    with connect(fresh_db) as conn:
        n = conn.execute("select count(*) as n from auth.users").fetchone()["n"]
        admins = conn.execute(
            "select count(*) as n from accounts.user_roles where role = 'admin'"
        ).fetchone()["n"]
    assert (n, admins) == (5, 1)


def test_failed_migration_changes_nothing(fresh_db, tmp_path):
    (tmp_path / "20990101000000_good.sql").write_text("create table public.half_done (id int);")
    (tmp_path / "20990101000001_bad.sql").write_text(
        "create table public.also_half (id int);\nselect 1/0;"
    )
    with pytest.raises(migrate.MigrationError, match=r"20990101000001_bad\.sql"):
        migrate.migrate(fresh_db, tmp_path)
    with connect(fresh_db) as conn:
        assert conn.execute("select to_regclass('public.half_done') as t").fetchone()["t"]
        assert conn.execute("select to_regclass('public.also_half') as t").fetchone()["t"] is None
        versions = {
            r["version"]
            for r in conn.execute("select version from supabase_migrations.schema_migrations")
        }
    assert "20990101000000" in versions and "20990101000001" not in versions


@pytest.mark.parametrize("name", ["1_x.sql", "20990101000000-x.sql", "20990101000000_X.sql"])
def test_badly_named_migration_is_an_error(tmp_path, name):
    (tmp_path / name).write_text("select 1;")
    with pytest.raises(migrate.MigrationError, match="bad migration file name"):
        migrate.migrations(tmp_path)


def test_platform_files_have_probes():
    for path in config.PLATFORM_DIR.glob("*.sql"):
        assert migrate.PROBE.search(path.read_text()), path.name
