"""`python -m sync`: run the outbox worker against the target database until SIGTERM/SIGINT.

Tuning: SYNC_BATCH_SIZE (jobs per claim, 10), SYNC_POLL_INTERVAL (seconds between polls when
no notification arrives, 5), SYNC_LOG_LEVEL (info).
"""

from __future__ import annotations

import logging
import os

from flagship.target import resolve
from sync import (
    billing,  # noqa: F401  (registers the billing.receipt handler)
    ctf,
    email,
    render,  # noqa: F401  (registers the content.render handler)
)
from sync.handlers import HANDLERS
from sync.worker import Worker


def main() -> int:
    level = os.environ.get("SYNC_LOG_LEVEL", "info").upper()
    logging.basicConfig(level=level, format="%(levelname)s: [%(name)s] %(message)s")
    url = resolve().url
    worker = Worker(
        url,
        handlers={**HANDLERS, **email.handlers(url), **ctf.handlers(url)},
        batch_size=int(os.environ.get("SYNC_BATCH_SIZE", "10")),
        poll_interval=float(os.environ.get("SYNC_POLL_INTERVAL", "5")),
    )
    worker.install_signal_handlers()
    worker.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
