"""Supply-chain checks `make test` runs (`flagship audit`): secrets, bandit, pip-audit.

1. The secret scan (flagship.secretscan) over the tree, with secret-scan-allowlist.txt.
2. bandit on the Python services and tooling, configured in pyproject.toml [tool.bandit].
3. pip-audit of requirements.lock against PyPI's vulnerability data (PyPI only: no other
   service is asked). A known vulnerability fails the step. Where the registry serves packages
   but not its per-version vulnerability data (a registry mirror), nothing can be looked up:
   the step says NOT AUDITED on its own line and does not fail, because that is the
   environment's limit, not a finding; `flagship audit --strict` fails there too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from flagship import config, secretscan

BANDIT_PATHS = ["edge", "sync", "flagship", "mail", "files", "gateway"]
# The gateway's SQL builders compose statements from the request's shape: every identifier
# goes through ident() (double quotes doubled) and every value is a bound parameter, which
# B608 ("SQL built from strings") cannot see. They are scanned for everything else.
SQL_BUILDERS = ["gateway/rest/sqlbuild.py", "gateway/rest/plan.py", "gateway/auth/store.py"]
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
    builders = [p for p in SQL_BUILDERS if (config.ROOT / p).is_file()]
    runs = [["-r", *paths, "-x", ",".join(builders)] if builders else ["-r", *paths]]
    if builders:
        runs.append(["-s", "B608", *builders])
    ok = True
    for args in runs:
        done = subprocess.run(
            [_tool("bandit"), "-c", "pyproject.toml", *args, "-q", "-f", "custom"],
            cwd=config.ROOT,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            print(done.stdout.strip() or done.stderr.strip())
            ok = False
    return ok


def dependencies(*, strict: bool = False) -> bool:
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
            "  NOT AUDITED: the registry answered 'not found' for the vulnerability data of"
            f" {skipped} of {len(pinned)} pinned packages (a mirror without PyPI's JSON API)."
            " Run `flagship audit --strict` where pypi.org answers."
        )
        return not strict
    if done.returncode != 0:
        print(done.stdout.strip() or done.stderr.strip())
        return False
    if skipped:
        print(f"  {skipped} package(s) could not be audited (not on PyPI)")
    return True


def run_audit(*, dependencies_too: bool = True, strict: bool = False) -> bool:
    """Every check, even after a failure; True when all pass."""
    results = [secrets(), bandit()]
    if dependencies_too:
        results.append(dependencies(strict=strict))
    return all(results)
