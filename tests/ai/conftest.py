"""AI fixtures (the scene lives in aikit.py). The learning and CTF scene builders are shared
with those suites (the recommendation, sentiment and generation tests use them)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
for suite in ("learning", "ctf"):
    if str(TESTS / suite) not in sys.path:
        sys.path.append(str(TESTS / suite))

from aikit import AIScene, build_scene  # noqa: E402


@pytest.fixture
def scene(db) -> AIScene:
    return build_scene(db)
