"""Which database the commands talk to: `DATABASE_URL` when set, else the embedded server."""

from __future__ import annotations

from dataclasses import dataclass

from flagship import config
from flagship.embedded import SUPERUSER, EmbeddedCluster


@dataclass
class Target:
    url: str  # the application role (`postgres`): migrations, seed, services
    admin_url: str  # the platform owner: applies `sql/platform/`
    cluster: EmbeddedCluster | None

    @property
    def embedded(self) -> bool:
        return self.cluster is not None


def embedded_cluster(settings: config.Settings | None = None) -> EmbeddedCluster:
    settings = settings or config.Settings.from_env()
    return EmbeddedCluster(config.STATE_DIR / "db", port=settings.db_port)


def resolve(settings: config.Settings | None = None) -> Target:
    settings = settings or config.Settings.from_env()
    if settings.database_url:
        return Target(settings.database_url, settings.database_url, None)
    cluster = embedded_cluster(settings)
    return Target(cluster.url(), cluster.url(user=SUPERUSER), cluster)
