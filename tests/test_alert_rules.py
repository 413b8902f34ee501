"""The Prometheus alert rules (ops/alerts.yml) are valid and behave as their unit tests say
(ops/alerts.test.yml): promtool, from Debian's prometheus package (installed by the
bootstrap). Skipped only where promtool is absent."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from flagship import config

OPS = config.ROOT / "ops"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")
# What docs/operations.md promises: one alert per operational risk.
EXPECTED = {
    "EdgeHighErrorRate",
    "EdgeHighLatency",
    "OutboxBacklogOld",
    "OutboxDeadLetters",
    "OutboxUnreadable",
    "SyncWorkerDown",
    "SyncJobsFailing",
    "ReplicaLagHigh",
    "WebhookEndpointFailing",
}


def promtool(*args: str) -> subprocess.CompletedProcess:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], cwd=OPS, capture_output=True, text=True, timeout=60, check=False
    )


def rules() -> dict[str, dict]:
    doc = yaml.safe_load((OPS / "alerts.yml").read_text())
    return {r["alert"]: r for g in doc["groups"] for r in g["rules"]}


def test_every_alert_exists_and_is_unit_tested():
    assert set(rules()) == EXPECTED
    tests = yaml.safe_load((OPS / "alerts.test.yml").read_text())
    tested = {
        case["alertname"]
        for t in tests["tests"]
        for case in t["alert_rule_test"]
        if case["exp_alerts"]
    }
    assert tested == EXPECTED  # each one is shown to fire at least once


def test_every_alert_is_documented():
    doc = (config.ROOT / "docs" / "operations.md").read_text()
    assert [a for a in EXPECTED if f"`{a}`" not in doc] == []


@needs_promtool
def test_promtool_check_rules():
    result = promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(EXPECTED)} rules found" in result.stdout


@needs_promtool
def test_promtool_test_rules():
    result = promtool("test", "rules", "alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
