"""One logging path for every process: structlog JSON lines, secrets redacted.

Lines go through the standard library (so handlers, levels and pytest's caplog see them).
Any key whose name looks like a credential is replaced by `[redacted]` before rendering.
"""

from __future__ import annotations

import logging
import sys

import structlog

SECRET_KEYS = ("authorization", "token", "secret", "password", "api_key", "apikey", "key")
_configured = False


def _drop_secrets(logger, method, event_dict):
    for key in list(event_dict):
        if key != "event" and any(s in key.lower() for s in SECRET_KEYS):
            event_dict[key] = "[redacted]"
    return event_dict


def configure() -> None:
    """Install the structlog pipeline (idempotent)."""
    global _configured
    if _configured:
        return
    _configured = True
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _drop_secrets,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def logger(name: str):
    """The structured logger `name` (the standard library logger of that name underneath)."""
    configure()
    return structlog.get_logger(name)


def setup_process(level: str) -> None:
    """For a process entry point: JSON lines on stderr at `level` (debug, info, ...)."""
    configure()
    logging.basicConfig(level=level.upper(), stream=sys.stderr, format="%(message)s")
