"""`python -m gateway`: serve every API path on the edge's address (127.0.0.1:54321).

GATEWAY_WORKERS (default 1) runs that many processes on the one port, each with its own
pools, schema cache and NOTIFY listener; GATEWAY_LOG_LEVEL sets uvicorn's log level.
"""

from __future__ import annotations

import os

import uvicorn

from flagship import config


def main() -> None:
    settings = config.Settings.from_env()
    uvicorn.run(
        "gateway.app:create_app",
        factory=True,
        host=settings.edge_host,
        port=settings.edge_port,
        workers=int(os.environ.get("GATEWAY_WORKERS", "1")),
        log_level=os.environ.get("GATEWAY_LOG_LEVEL", "warning").lower(),
        access_log=False,
        # Idle keep-alive connections stay open 75 s (nginx's default, which Kong uses):
        # uvicorn's 5 s races clients that pause between requests under load.
        timeout_keep_alive=int(os.environ.get("GATEWAY_KEEPALIVE_SECONDS", "75")),
        # Behind a proxy the client address comes from X-Forwarded-For, trusted from
        # FORWARDED_ALLOW_IPS only (uvicorn's default: 127.0.0.1).
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
