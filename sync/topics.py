"""Every topic the worker delivers: importing this module registers all handlers.

A new handler module is added to the imports below and declares its topics with
`@handler("topic")` (sync.handlers).
"""

from __future__ import annotations

from sync import (
    ai,
    ai_features,
    billing,
    cdn,
    ctf,
    email,
    files,
    lifecycle,
    newsletter,
    notifications,
    render,
)
from sync.handlers import REGISTRY, Handler
from sync.settings import WorkerSettings

MODULES = (
    ai,
    ai_features,
    billing,
    cdn,
    ctf,
    email,
    files,
    lifecycle,
    newsletter,
    notifications,
    render,
)


def build(settings: WorkerSettings) -> dict[str, Handler]:
    """Topic → handler, each built once from the worker's settings."""
    return {topic: factory(settings) for topic, factory in REGISTRY.items()}
