"""AI jobs for the worker: keep the retrieval index current (`ai.index_source`)."""

from __future__ import annotations

from ai.indexer import index_source
from ai.provider import Usage, make_provider
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
        self.provider = make_provider(settings, self._record)

    def _record(self, usage: Usage) -> None:
        with connect(self.url, application_name="flagship-sync-ai") as conn:
            conn.execute(
                "select private.ai_record_usage(null, %s, %s, %s, %s, %s, %s, %s)",
                (
                    usage.operation,
                    usage.provider,
                    usage.model,
                    usage.prompt_tokens,
                    usage.completion_tokens,
                    usage.cached,
                    usage.latency_ms,
                ),
            )
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
