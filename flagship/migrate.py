"""Apply the platform contract, the migrations and the seed, as the Supabase CLI would.

Migrations are `supabase/migrations/<timestamp>_<name>.sql`, applied in order, each in its
own transaction, and recorded in `supabase_migrations.schema_migrations` — the table the
Supabase CLI keeps — so a database migrated here looks migrated to `supabase db push`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

from flagship import config
from flagship.database import connect
from flagship.schema_version import MIGRATION_NAME, applied_versions

__all__ = ["MIGRATION_NAME", "applied_versions", "migrate", "migrations", "pending", "seed"]
PROBE = re.compile(r"^--\s*probe:\s*(?P<sql>.+)$", re.MULTILINE)
LOCK_KEY = 8_472_019  # advisory lock: one migrator at a time

HISTORY_DDL = """
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (
    version text primary key,
    statements text[],
    name text,
    created_by text,
    idempotency_key text
);
"""


class MigrationError(RuntimeError):
    """A migration failed; nothing of it was applied."""


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text()


def migrations(directory: Path = config.MIGRATIONS_DIR) -> list[Migration]:
    """The migration files in version order; a badly named file is an error, not skipped."""
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = MIGRATION_NAME.match(path.name)
        if not match:
            raise MigrationError(
                f"bad migration file name: {path.name} (want <14 digits>_<name>.sql)"
            )
        found.append(Migration(match["version"], match["name"], path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migrations share a version")
    return found


def apply_platform(admin_url: str, directory: Path = config.PLATFORM_DIR) -> list[str]:
    """Apply each `sql/platform/` file whose probe says the database lacks it."""
    applied = []
    with connect(admin_url, autocommit=True) as conn:
        for path in sorted(directory.glob("*.sql")):
            text = path.read_text()
            probe = PROBE.search(text)
            if not probe:
                raise MigrationError(f"{path.name} has no '-- probe:' line")
            present = conn.execute(probe["sql"]).fetchone()
            if present and next(iter(present.values())):
                continue
            with conn.transaction():
                conn.execute(text)
            applied.append(path.name)
    return applied


def pending(url: str) -> list[Migration]:
    with connect(url, autocommit=True) as conn:
        done = applied_versions(conn)
    return [m for m in migrations() if m.version not in done]


def migrate(url: str, directory: Path = config.MIGRATIONS_DIR) -> list[Migration]:
    """Apply the pending migrations; re-running applies nothing new."""
    applied = []
    with connect(url, autocommit=True) as conn:
        conn.execute(HISTORY_DDL)
        for migration in migrations(directory):
            with conn.transaction():
                conn.execute("select pg_advisory_xact_lock(%s)", (LOCK_KEY,))
                if migration.version in applied_versions(conn):
                    continue
                try:
                    conn.execute(migration.sql)
                except psycopg.Error as exc:
                    raise MigrationError(
                        f"{migration.path.name}: {exc.diag.message_primary or exc}"
                    ) from exc
                conn.execute(
                    "insert into supabase_migrations.schema_migrations"
                    " (version, statements, name, created_by)"
                    " values (%s, %s, %s, 'flagship')",
                    (migration.version, [migration.sql], migration.name),
                )
            applied.append(migration)
        # PostgREST (and the local gateway) reload their schema cache on this notification.
        conn.execute("notify pgrst, 'reload schema'")
    return applied


def seed(url: str, path: Path = config.SEED_FILE) -> bool:
    """Run `supabase/seed.sql` in one transaction (it is written to be re-runnable)."""
    if not path.exists():
        return False
    with connect(url) as conn:
        try:
            conn.execute(path.read_text())
        except psycopg.Error as exc:
            raise MigrationError(f"seed.sql: {exc.diag.message_primary or exc}") from exc
        conn.commit()
    return True
