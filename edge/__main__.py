"""`python -m edge`: serve the edge with uvicorn on EDGE_HOST:EDGE_PORT (EDGE_LOG_LEVEL).

DATABASE_URL is required (`flagship up` sets it). EDGE_WORKERS (default 1) runs that many
processes on the one port (the kernel spreads accepted connections over them), each with its
own pool and limiter; with more than one, set REDIS_URL so that limits are shared. The client
address is resolved by the app itself from TRUSTED_PROXIES (edge.client), so uvicorn's own
X-Forwarded-For handling is off.
"""

from __future__ import annotations

import os
import sys

import uvicorn

from edge.app import create_app
from flagship import config
from flagship.logs import setup_process


def main() -> int:
    level = os.environ.get("EDGE_LOG_LEVEL", "info").lower()
    try:
        settings = config.Settings.from_env()
        app = create_app(settings)  # refuses bad production configurations before listening
    except config.ConfigError as exc:
        print(f"edge: {exc}", file=sys.stderr)
        return 2
    setup_process(level)
    try:
        workers = int(os.environ.get("EDGE_WORKERS", "1"))
    except ValueError:
        workers = 0
    if workers < 1:
        print("edge: EDGE_WORKERS must be a whole number of processes, 1 or more", file=sys.stderr)
        return 2
    uvicorn.run(
        # one process: the app already built; several: each worker builds its own from the
        # same environment (the check above has refused a bad configuration before any).
        app if workers == 1 else "edge.app:create_app",
        factory=workers > 1,
        workers=workers,
        host=settings.edge_host,
        port=settings.edge_port,
        log_level=level,
        proxy_headers=False,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
