"""AI jobs for the worker: keep the retrieval index current (`ai.index_source`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from ai.indexer import index_source
from ai.provider import db_recorder, make_provider
from ai.settings import AISettings
from flagship.database import connect
from flagship.logs import logger
from sync.handlers import Handler, Job, handler
from sync.settings import WorkerSettings

log = logger("sync.ai")


class SourceIndexer:
    """`ai.index_source` {kind, id} → chunks of the source's current public text."""

    def __init__(self, url: str, settings: AISettings) -> None:
        self.url = url
        # Background work: usage rows with user_id null.
        self.provider = make_provider(settings, db_recorder(self._session, None))

    @contextmanager
    def _session(self) -> Iterator[psycopg.Connection]:
        with connect(self.url, application_name="flagship-sync-ai") as conn:
            yield conn
            conn.commit()

    def __call__(self, job: Job) -> None:
        kind, source_id = job.payload["kind"], str(job.payload["id"])
        with connect(self.url, application_name="flagship-sync-ai") as conn:
            count = index_source(conn, self.provider, kind, source_id)
            conn.commit()
        log.info("source indexed", job_id=job.id, kind=kind, source_id=source_id, chunks=count)


@handler("ai.index_source")
def source_indexer(settings: WorkerSettings) -> Handler:
    return SourceIndexer(settings.database_url, AISettings.from_env())
