"""`python -m gateway`: serve every API path on the edge's address (127.0.0.1:54321)."""

from __future__ import annotations

import uvicorn

from flagship import config


def main() -> None:
    settings = config.Settings.from_env()
    uvicorn.run(
        "gateway.app:create_app",
        factory=True,
        host=settings.edge_host,
        port=settings.edge_port,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
