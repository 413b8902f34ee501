"""The production images and the compose topology, linted (Docker cannot run here).

Dockerfiles are parsed line by line (continuations joined) and checked for what matters in
production: a pinned base image, a non-root USER, a HEALTHCHECK, exec-form commands, files
that exist, apt lists cleaned. deploy/compose.yaml is parsed with PyYAML: every service of
the topology is there with a health check, the services go through PgBouncer with a direct
URL for LISTEN, and every variable they set is one the code reads.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from flagship import config

DEPLOY = config.ROOT / "deploy"
SERVICES = {"edge": "edge", "gateway": "gateway", "worker": "sync"}  # image -> module run
DOCKERFILES = sorted(DEPLOY.glob("*/Dockerfile"))
PINNED = re.compile(r"^[a-z0-9./-]+:\d+\.\d+(\.\d+)?[a-z0-9.-]*(@sha256:[0-9a-f]{64})?$")


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    out, pending = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def test_there_is_a_dockerfile_per_service():
    assert {p.parent.name for p in DOCKERFILES} >= {*SERVICES, "pgbouncer"}


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_rules(path: Path):
    ins = instructions(path)
    words = [w for w, _ in ins]
    froms = [a.split()[0] for w, a in ins if w == "FROM"]
    assert froms, "no FROM"
    for image in froms:
        assert PINNED.match(image) and ":latest" not in image, f"base image not pinned: {image}"
    users = [a for w, a in ins if w == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0"), "must end as a non-root USER"
    assert words.index("USER") > max(i for i, w in enumerate(words) if w == "RUN")
    checks = [a for w, a in ins if w == "HEALTHCHECK"]
    assert len(checks) == 1 and " CMD " in f" {checks[0]} ", "one HEALTHCHECK ... CMD"
    exec_form(checks[0].split(" CMD ", 1)[1] if " CMD " in checks[0] else "[]")
    for word, args in ins:
        if word in ("CMD", "ENTRYPOINT"):
            exec_form(args)  # exec form: signals reach the process (SIGTERM drains)
        if word == "RUN" and "apt-get install" in args:
            assert "--no-install-recommends" in args and "rm -rf /var/lib/apt/lists" in args
        if word in ("ADD",):
            pytest.fail("use COPY, not ADD")
    context = config.ROOT if path.parent.name in SERVICES else path.parent
    for word, args in ins:
        if word == "COPY" and "--from" not in args:
            *sources, _ = shlex.split(args)
            for source in sources:
                assert (context / source).exists(), f"COPY source missing: {source}"


@pytest.mark.parametrize("image,module", SERVICES.items())
def test_service_images_run_their_module_in_production_mode(image: str, module: str):
    ins = instructions(DEPLOY / image / "Dockerfile")
    cmd = exec_form(next(a for w, a in ins if w == "CMD"))
    assert cmd == ["python", "-m", module]
    env = " ".join(a for w, a in ins if w == "ENV")
    assert "FLAGSHIP_ENV=production" in env
    assert (config.ROOT / module / "__main__.py").exists()


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_has_the_production_topology(compose):
    services = compose["services"]
    assert set(services) >= {"edge", "worker", "gateway", "redis", "pgbouncer"}
    assert services["gateway"].get("profiles") == ["self-hosted"]  # only when self-hosting
    for name, service in services.items():
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name}: no health check"
        assert not service.get("privileged"), name
        build = service.get("build")
        if build:
            context = (DEPLOY / build["context"]).resolve()
            assert (context / build.get("dockerfile", "Dockerfile")).exists(), name
        else:
            assert PINNED.match(service["image"]), f"{name}: image not pinned"
    assert services["edge"]["deploy"]["replicas"] >= 2
    assert services["worker"]["deploy"]["replicas"] >= 2


def test_compose_health_checks_match_the_images(compose):
    for image in SERVICES:
        ins = instructions(DEPLOY / image / "Dockerfile")
        check = next(a for w, a in ins if w == "HEALTHCHECK").split(" CMD ", 1)[1]
        assert compose["services"][image]["healthcheck"]["test"] == ["CMD", *exec_form(check)]


def test_services_use_the_pooler_with_a_direct_url_for_listen(compose):
    for name in ("edge", "worker", "gateway"):
        env = compose["services"][name]["environment"]
        assert "@pgbouncer:6432/" in env["DATABASE_URL"], name
        assert "pgbouncer" not in env["DATABASE_DIRECT_URL"], name
        assert env["REDIS_URL"].startswith("redis://redis:"), name
        assert env["FLAGSHIP_ENV"] == "production"


def test_every_variable_compose_sets_is_read_by_the_code(compose):
    code = (
        "\n".join(
            p.read_text()
            for pkg in ("flagship", "edge", "sync", "gateway", "mail")
            for p in (config.ROOT / pkg).rglob("*.py")
        )
        + (DEPLOY / "pgbouncer" / "entrypoint.sh").read_text()
    )
    for name, service in compose["services"].items():
        for key in service.get("environment", {}):
            assert f'"{key}"' in code or f"${{{key}" in code or f"${key}" in code, (
                f"{name}: {key} is read nowhere"
            )
