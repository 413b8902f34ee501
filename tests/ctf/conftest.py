"""CTF fixtures (helpers live in ctfkit.py)."""

from __future__ import annotations

import pytest
from ctfkit import Scene, build_scene


@pytest.fixture
def ctf(db) -> Scene:
    return build_scene(db)
