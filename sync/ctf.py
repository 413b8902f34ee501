"""CTF jobs for the worker: solves move the live scoreboard, first bloods are announced,
shared flags reach the organisers, approved community proposals become hidden challenges.

Each delivery is one definer function called with the payload (sync.handlers.PayloadCall);
what it writes (notifications, realtime.messages, challenges) is in the events and ctf
migrations.
"""

from __future__ import annotations

from sync.handlers import Handler, PayloadCall, handler
from sync.settings import WorkerSettings


@handler("community.challenge_proposal_approved")
def proposal_import(settings: WorkerSettings) -> Handler:
    """→ `private.ctf_import_proposal`: a hidden challenge (idempotent per contribution)."""
    return PayloadCall(settings.database_url, "private.ctf_import_proposal")


@handler("ctf.solve")
def solve(settings: WorkerSettings) -> Handler:
    """→ settle the solved challenge (its earlier solvers' stored scores take its new
    value), then the live top ten on the event's scoreboard topic (nothing while frozen)."""
    return PayloadCall(settings.database_url, "private.ctf_solve_delivered")


@handler("ctf.first_blood")
def first_blood(settings: WorkerSettings) -> Handler:
    """→ the solving team's notification and the announcement on the scoreboard topic."""
    return PayloadCall(settings.database_url, "private.events_ctf_first_blood")


@handler("ctf.flag_shared")
def flag_shared(settings: WorkerSettings) -> Handler:
    """→ a notification to each organiser of the event."""
    return PayloadCall(settings.database_url, "private.events_ctf_flag_shared")
