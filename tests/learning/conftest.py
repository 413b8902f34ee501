"""Learning fixtures (helpers in learning_helpers.py)."""

from __future__ import annotations

import pytest
from learning_helpers import CourseScene, make_scene


@pytest.fixture
def scene(db) -> CourseScene:
    return make_scene(db)
