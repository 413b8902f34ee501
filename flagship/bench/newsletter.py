"""Newsletter benchmark: a 10,000-recipient campaign through the local fake Resend.

`send_newsletter(admin_url, app_url, recipients)` generates opted-in members, composes and
schedules a campaign, starts it (audience → recipients in chunks of 100 → one
`newsletter.send` job per chunk), and runs one worker that sends every chunk through the
real `resend` client's batch API to a fake Resend on 127.0.0.1. It returns the timings; the
target is under 60 s for 10,000 recipients. `flagship bench newsletter [--scale S]` prints
the per-chunk p50/p95 and the totals.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from flagship.bench.runner import Bench, Result
from flagship.database import connect
from flagship.testing.fake_resend import FakeResend
from sync.handlers import Job
from sync.newsletter import NewsletterSend
from sync.settings import WorkerSettings
from sync.worker import Worker

RECIPIENTS = 10_000
BODY = "# Winter CTF\n\nTeams of **four**, 48 hours, [the rules](https://example.test/rules)."


def generate_members(admin_url: str, count: int) -> None:
    """`count` confirmed members who opted in to the newsletter (every sign-up trigger fires)."""
    with connect(admin_url) as conn:
        conn.execute(
            """
            insert into auth.users (id, aud, role, email, email_confirmed_at,
                                    raw_app_meta_data, raw_user_meta_data)
            select gen_random_uuid(), 'authenticated', 'authenticated',
                   format('reader%%s@bench.example.test', n), now(),
                   '{"provider": "email", "providers": ["email"]}',
                   jsonb_build_object('username', format('reader%%s', n))
            from generate_series(1, %s) as n
            """,
            (count,),
        )
        conn.execute(
            "insert into accounts.settings (user_id, prefs)"
            ' select id, \'{"email_categories": {"newsletter": true}}\' from auth.users'
            " where email like 'reader%%@bench.example.test'"
            " on conflict (user_id) do update set prefs = excluded.prefs"
        )
        conn.commit()
        # Fresh bulk data has no statistics yet; a live database has them.
        conn.execute("analyze auth.users, accounts.settings, accounts.contact_emails")
        conn.commit()


def start_campaign(admin_url: str) -> int:
    """A campaign to everyone, due now, started: its id (its chunks are queued)."""
    with connect(admin_url) as conn:
        campaign = conn.execute(
            "insert into ops.newsletter_campaigns (subject, headline, body, audience, status,"
            " scheduled_at) values ('Winter CTF', 'Winter is coming', %s,"
            " '{\"kind\": \"everyone\"}', 'scheduled', now()) returning id",
            (BODY,),
        ).fetchone()["id"]
        conn.execute("select private.events_start_due_newsletters()")
        conn.commit()
    return campaign


def send_newsletter(admin_url: str, app_url: str, recipients: int = RECIPIENTS) -> dict[str, Any]:
    """Send a `recipients`-strong newsletter through a local fake Resend; the timings."""
    generate_members(admin_url, recipients)
    started = time.perf_counter()
    campaign = start_campaign(admin_url)
    queued = time.perf_counter()
    chunk_ms: list[float] = []
    with FakeResend(record_bodies=False) as fake:
        base = WorkerSettings.from_env({"DATABASE_URL": app_url})
        mail = dataclasses.replace(
            base.mail, resend_api_key="re_bench_newsletter", resend_api_url=fake.url
        )
        send = NewsletterSend(dataclasses.replace(base, mail=mail))

        def timed(job: Job) -> None:
            t = time.perf_counter()
            send(job)
            chunk_ms.append((time.perf_counter() - t) * 1000)

        with Worker(app_url, handlers={"newsletter.send": timed}, batch_size=50) as worker:
            while worker.run_once():
                pass
        batches = sum(1 for r in fake.requests if r["path"].endswith("/emails/batch"))
        delivered = len(fake.delivered)
    finished = time.perf_counter()
    with connect(admin_url) as conn:
        stats = conn.execute(
            "select status, count(*) as n from ops.newsletter_recipients where campaign_id = %s"
            " group by status",
            (campaign,),
        ).fetchall()
    return {
        "recipients": recipients,
        "delivered": delivered,
        "batches": batches,
        "statuses": {r["status"]: r["n"] for r in stats},
        "start_s": queued - started,
        "send_s": finished - queued,
        "total_s": finished - started,
        "chunk_ms": chunk_ms,
    }


def run(bench: Bench, scale: float) -> None:
    admin_url, app_url = bench.database()
    result = send_newsletter(admin_url, app_url, max(100, int(RECIPIENTS * scale)))
    bench.results.append(
        Result("newsletter.send chunk (100 recipients)", result["chunk_ms"], note="batch API")
    )
    bench.add_line(
        f"recipients={result['recipients']} delivered={result['delivered']}"
        f" batches={result['batches']} statuses={result['statuses']}"
    )
    bench.add_line(
        f"newsletter_total_s={result['total_s']:.2f} (audience+chunks {result['start_s']:.2f} s,"
        f" sending {result['send_s']:.2f} s; target < 60 s for 10,000)"
    )
