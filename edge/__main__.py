"""`python -m edge`: serve the edge with uvicorn on EDGE_HOST:EDGE_PORT (EDGE_LOG_LEVEL)."""

from __future__ import annotations

import logging
import os

import uvicorn

from flagship import config


def main() -> None:
    settings = config.Settings.from_env()
    level = os.environ.get("EDGE_LOG_LEVEL", "info").lower()
    logging.basicConfig(level=level.upper(), format="%(levelname)s: [%(name)s] %(message)s")
    uvicorn.run(
        "edge.app:create_app",
        factory=True,
        host=settings.edge_host,
        port=settings.edge_port,
        log_level=level,
        # Behind a proxy the client address comes from X-Forwarded-For, trusted from
        # FORWARDED_ALLOW_IPS only (uvicorn's default: 127.0.0.1).
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
