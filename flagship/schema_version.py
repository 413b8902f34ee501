"""Which migrations this code ships with and which a database has: readiness, no migrator.

Runtime core (the edge's /ready uses it): it lists migration file *names* only; applying
them is flagship.migrate's job (dev tooling).
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg

from flagship import config

MIGRATION_NAME = re.compile(r"^(?P<version>\d{14})_(?P<name>[a-z0-9_]+)\.sql$")


def shipped_versions(directory: Path = config.MIGRATIONS_DIR) -> list[str]:
    """Versions of the migration files next to this code, in order."""
    return sorted(
        m["version"] for p in directory.glob("*.sql") if (m := MIGRATION_NAME.match(p.name))
    )


HISTORY_EXISTS_SQL = "select to_regclass('supabase_migrations.schema_migrations') is not null as e"
HISTORY_SQL = "select version from supabase_migrations.schema_migrations"


def applied_versions(conn: psycopg.Connection) -> set[str]:
    """Versions recorded in the Supabase CLI's history table (empty when it is absent)."""
    if not conn.execute(HISTORY_EXISTS_SQL).fetchone()["e"]:
        return set()
    return {r["version"] for r in conn.execute(HISTORY_SQL).fetchall()}


async def applied_versions_async(conn: psycopg.AsyncConnection) -> set[str]:
    """`applied_versions` on an async connection (the edge's /ready)."""
    if not (await (await conn.execute(HISTORY_EXISTS_SQL)).fetchone())["e"]:
        return set()
    return {r["version"] for r in await (await conn.execute(HISTORY_SQL)).fetchall()}
