"""CTF jobs for the worker: approved community challenge proposals become hidden challenges."""

from __future__ import annotations

import json

from flagship.database import connect
from flagship.logs import logger
from sync.handlers import Handler, Job, handler
from sync.settings import WorkerSettings

log = logger("sync.ctf")


class ProposalImport:
    """`community.challenge_proposal_approved` → `private.ctf_import_proposal` (idempotent)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __call__(self, job: Job) -> None:
        with connect(self.url, application_name="flagship-sync-ctf") as conn:
            row = conn.execute(
                "select private.ctf_import_proposal(%s::jsonb) as id", (json.dumps(job.payload),)
            ).fetchone()
            conn.commit()
        log.info("proposal imported", job_id=job.id, challenge_id=str(row["id"]))


@handler("community.challenge_proposal_approved")
def proposal_import(settings: WorkerSettings) -> Handler:
    return ProposalImport(settings.database_url)
