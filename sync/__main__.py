"""`python -m sync`: run the outbox worker on DATABASE_URL until SIGTERM/SIGINT.

Tuning: SYNC_BATCH_SIZE (jobs per claim, 10), SYNC_POLL_INTERVAL (seconds between polls when
no notification arrives, 5), SYNC_LOG_LEVEL (info); outgoing webhooks: WEBHOOK_* (see
sync.settings.WebhookSettings). Settings are read once, here.
"""

from __future__ import annotations

import sys

from flagship.config import ConfigError
from flagship.logs import setup_process
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
    worker = Worker(
        settings.database_url,
        handlers=topics.build(settings),
        batch_size=settings.batch_size,
        poll_interval=settings.poll_interval,
        queues=[WebhookQueue(settings.webhooks)],
    )
    worker.install_signal_handlers()
    worker.run()
    worker.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
