"""Supply-chain checks `make test` runs (`flagship audit`): secrets, bandit, pip-audit.

1. The secret scan (flagship.secretscan) over the tree, with secret-scan-allowlist.txt.
2. bandit on the Python services and tooling, configured in pyproject.toml [tool.bandit].
3. pip-audit of requirements.lock against PyPI's vulnerability data (PyPI only: no other
   service is asked). When PyPI does not answer for the pinned versions, the step fails and
   says so: an audit that could not look is not a pass.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from flagship import config, secretscan

BANDIT_PATHS = ["edge", "sync", "flagship", "mail", "gateway"]
NOT_FOUND = "Dependency not found on PyPI"


def _tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def secrets() -> bool:
    print("audit: secret scan", flush=True)
    try:
        findings = secretscan.scan()
    except ValueError as exc:
        print(f"  {exc}")
        return False
    for finding in findings:
        print(f"  {finding}  (a secret? remove it; a fixture? add it to the allowlist)")
    return not findings


def bandit() -> bool:
    print("audit: bandit", flush=True)
    paths = [p for p in BANDIT_PATHS if (config.ROOT / p).is_dir()]
    done = subprocess.run(
        [_tool("bandit"), "-c", "pyproject.toml", "-r", *paths, "-q", "-f", "custom"],
        cwd=config.ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        print(done.stdout.strip() or done.stderr.strip())
    return done.returncode == 0


def dependencies() -> bool:
    print("audit: pip-audit (requirements.lock, PyPI)", flush=True)
    done = subprocess.run(
        [
            _tool("pip-audit"),
            "-r",
            "requirements.lock",
            "--no-deps",
            "--disable-pip",
            "-s",
            "pypi",
            "--progress-spinner",
            "off",
        ],
        cwd=config.ROOT,
        capture_output=True,
        text=True,
    )
    output = f"{done.stdout}\n{done.stderr}"
    pinned = [
        line
        for line in (config.ROOT / "requirements.lock").read_text().splitlines()
        if "==" in line
    ]
    skipped = output.count(NOT_FOUND)
    if pinned and skipped >= len(pinned):
        print(
            "  pip-audit could not reach PyPI's vulnerability data for the pinned versions"
            f" ({skipped} of {len(pinned)} packages answered 'not found'): nothing was audited."
            " Run `flagship audit` where pypi.org answers (CI does)."
        )
        return False
    if done.returncode != 0:
        print(done.stdout.strip() or done.stderr.strip())
        return False
    if skipped:
        print(f"  {skipped} package(s) could not be audited (not on PyPI)")
    return True


def run_audit(*, dependencies_too: bool = True) -> bool:
    """Every check, even after a failure; True when all pass."""
    results = [secrets(), bandit()]
    if dependencies_too:
        results.append(dependencies())
    return all(results)
