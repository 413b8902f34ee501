"""`python -m sync`: run the outbox worker on DATABASE_URL until SIGTERM/SIGINT.

Tuning: SYNC_BATCH_SIZE (jobs per claim, 10), SYNC_POLL_INTERVAL (seconds between polls when
no notification arrives, 5), SYNC_STALE_AFTER (seconds before a lost worker's claims are given
back, 300: must exceed the slowest handler), SYNC_RELEASE_EVERY (seconds between those sweeps,
60), SYNC_SCHEDULE_EVERY (seconds between looks at ops.schedules, 15), SYNC_LOG_LEVEL (info);
outgoing webhooks: WEBHOOK_* (see sync.settings.WebhookSettings). Operations: SYNC_PROBE_PORT
(and SYNC_PROBE_HOST, 127.0.0.1) serves /healthz, /readyz and /metrics; SENTRY_DSN reports
failed deliveries. Settings are read once, here. Run as many workers as needed: claims skip
locked rows.
"""

from __future__ import annotations

import sys
from datetime import timedelta

from flagship.config import ConfigError
from flagship.logs import setup_process
from flagship.observability import init_sentry
from sync import topics
from sync.settings import WorkerSettings
from sync.webhooks import WebhookQueue
from sync.worker import Worker


def main() -> int:
    try:
        settings = WorkerSettings.from_env()
    except ConfigError as exc:
        print(f"sync: {exc}", file=sys.stderr)
        return 2
    setup_process(settings.log_level)
    init_sentry(settings.sentry_dsn, service="sync")
    worker = Worker(
        settings.database_url,
        handlers=topics.build(settings),
        batch_size=settings.batch_size,
        poll_interval=settings.poll_interval,
        stale_after=timedelta(seconds=settings.stale_after),
        release_every=settings.release_every,
        schedule_every=settings.schedule_every,
        queues=[WebhookQueue(settings.webhooks)],
    )
    worker.install_signal_handlers()
    probe = None
    if settings.probe_port is not None:
        probe = worker.metrics.serve(settings.probe_host, settings.probe_port)
    try:
        worker.run()
    finally:
        if probe is not None:
            probe.stop()
        worker.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
