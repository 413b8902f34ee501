"""Reach the database and bring it up to date: shared by `flagship db ...` and `flagship up`.

Dev tooling (embedded server, migrator): the edge and the worker never import it.
"""

from __future__ import annotations


class CliError(RuntimeError):
    """A failure reported as one line on stderr with exit status 1."""


def _target():
    from flagship.target import resolve

    return resolve()


def bootstrap_database(*, tcp: bool = False, seed: bool = True, quiet: bool = False) -> object:
    """Start (or reach) the database, apply platform, migrations and optionally the seed."""
    from flagship import migrate

    target = _target()
    if target.cluster is not None:
        target.cluster.start(tcp=tcp)
    platform = migrate.apply_platform(target.admin_url)
    applied = migrate.migrate(target.url)
    if seed:
        migrate.seed(target.url)
    if not quiet:
        if platform:
            print(f"platform contract applied: {', '.join(platform)}")
        print(f"migrations applied: {len(applied)}" + (" (up to date)" if not applied else ""))
    return target
