"""`python -m edge`: serve the edge with uvicorn on EDGE_HOST:EDGE_PORT (EDGE_LOG_LEVEL).

DATABASE_URL is required (`flagship up` sets it). The client address is resolved by the app
itself from TRUSTED_PROXIES (edge.client), so uvicorn's own X-Forwarded-For handling is off.
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
    uvicorn.run(
        app,
        host=settings.edge_host,
        port=settings.edge_port,
        log_level=level,
        proxy_headers=False,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
