"""Run one of the repo's JavaScript test scripts (tests/js/*.mjs) with the pinned npm
packages, and read the JSON it prints: how tests drive supabase-js and the JS
Standard Webhooks library."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from flagship import config


def run_node(
    script: Path,
    *args: str,
    env: dict[str, str],
    package: str = "@supabase/supabase-js",
    timeout: float = 60,
) -> Any:
    """`node script args…` with `env` added to the environment; its stdout as JSON. Fails the
    test (never skips) when Node.js or `package` is missing: bootstrap installs both."""
    node = shutil.which("node")
    if node is None or not (config.ROOT / "node_modules" / package).exists():
        pytest.fail(f"Node.js and the pinned {package} are required: run scripts/bootstrap.sh")
    done = subprocess.run(
        [node, str(script), *args],
        cwd=config.ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
