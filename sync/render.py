"""`content.render` jobs: markdown columns rendered to sanitised HTML (sync/markup.py).

The database queues a job whenever a rendered markdown column is written (see
ops.render_targets); the job is idempotent: it reads the current markdown with its hash, and
the store keeps the HTML only if the markdown still has that hash.
"""

from __future__ import annotations

from flagship.database import connect
from flagship.logs import logger
from sync.handlers import Handler, Job, handler
from sync.markup import render_markdown
from sync.settings import WorkerSettings

TOPIC = "content.render"
log = logger("sync.render")


class Render:
    """`content.render` {table, id, column} → `private.content_store_render`."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __call__(self, job: Job) -> None:
        target = (job.payload["table"], str(job.payload["id"]), job.payload["column"])
        with connect(self.url, application_name="flagship-sync-render") as conn:
            source = conn.execute(
                "select private.content_render_source(%s, %s, %s) as s", target
            ).fetchone()["s"]
            if source is None:
                log.info("render.gone", job=job.id, table=target[0], id=target[1])
                return
            html = render_markdown(source["markdown"])
            stored = conn.execute(
                "select private.content_store_render(%s, %s, %s, %s, %s) as ok",
                (*target, source["hash"], html),
            ).fetchone()["ok"]
            conn.commit()
        log.info("render.done", job=job.id, table=target[0], id=target[1], stored=stored)


@handler(TOPIC)
def render_content(settings: WorkerSettings) -> Handler:
    """The `content.render` handler for the worker's database."""
    return Render(settings.database_url)
