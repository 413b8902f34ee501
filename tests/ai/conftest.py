"""AI fixtures (the scene lives in aikit.py)."""

from __future__ import annotations

import pytest
from aikit import AIScene, build_scene


@pytest.fixture
def scene(db) -> AIScene:
    return build_scene(db)
