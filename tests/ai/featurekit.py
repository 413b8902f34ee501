"""Helpers of the AI feature tests: run the worker's work for queued jobs in the test's
transaction (as sync/ai_features.py does, without committing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def drain_jobs(db, topic: str, work: Callable[[dict], Any]) -> list[Any]:
    """`work(payload)` for every pending job of `topic`, oldest first; each marked done."""
    jobs = db.execute(
        "select id, payload from ops.outbox where topic = %s and status = 'pending' order by id",
        (topic,),
    ).fetchall()
    out = []
    for job in jobs:
        out.append(work(job["payload"]))
        db.execute("update ops.outbox set status = 'done' where id = %s", (job["id"],))
    return out
