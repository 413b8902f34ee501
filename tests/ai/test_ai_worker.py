"""The worker's `ai.index_source` handler, as the worker runs it (its own connections, as the
application role), on a database of its own."""

from __future__ import annotations

from urllib.parse import urlsplit

from aikit import has_pgvector

from ai.settings import AISettings
from flagship.database import connect
from flagship.testing.harness import with_database
from sync.ai import SourceIndexer
from sync.handlers import Job


def test_the_handler_indexes_a_source_and_records_usage(fresh_db, test_server):
    app_url = with_database(fresh_db, urlsplit(fresh_db).path.lstrip("/"), test_server.app_user)
    with connect(fresh_db, autocommit=True) as admin:
        admin.execute(
            "insert into ai.docs (slug, title, body_md) values ('worker-doc', 'Worker', %s)",
            ("Canaries guard the stack.\n\n" + "A long paragraph about overflows. " * 60,),
        )
        job = admin.execute("select * from ops.outbox where topic = 'ai.index_source'").fetchone()
        assert job["payload"] == {"kind": "doc", "id": "worker-doc"}
        indexer = SourceIndexer(app_url, AISettings())
        indexer(Job.from_row(job))
        indexer(Job.from_row(job))  # at least once: a repeat converges on the same chunks
        vector = "embedding is not null" if has_pgvector(admin) else "false"
        chunks = admin.execute(
            f"select position, embedding_model, {vector} as has_vector"
            " from ai.chunks where source_id = 'worker-doc' order by position"
        ).fetchall()
        assert len(chunks) >= 2 and [c["position"] for c in chunks] == list(range(len(chunks)))
        # without pgvector (a plain Postgres) the chunks are full text only
        assert all(c["has_vector"] == has_pgvector(admin) for c in chunks)
        if has_pgvector(admin):
            assert all(c["embedding_model"] for c in chunks)
        usage = admin.execute(
            "select user_id, operation, provider from ai.usage where operation = 'index'"
        ).fetchall()
        assert len(usage) == 2 and usage[0] == {
            "user_id": None,
            "operation": "index",
            "provider": "local",
        }
        admin.execute("delete from ai.docs where slug = 'worker-doc'")
        indexer(Job.from_row(job))
        assert (
            admin.execute(
                "select count(*) as n from ai.chunks where source_id = 'worker-doc'"
            ).fetchone()["n"]
            == 0
        )
