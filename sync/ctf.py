"""CTF jobs for the worker: approved community challenge proposals become hidden challenges."""

from __future__ import annotations

import json
import logging

from flagship.database import connect
from sync.handlers import Handler, Job

log = logging.getLogger("sync.ctf")


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
        log.info("job %s: proposal imported as challenge %s", job.id, row["id"])


def handlers(url: str) -> dict[str, Handler]:
    return {"community.challenge_proposal_approved": ProposalImport(url)}
