"""AI feature fixtures: the learning and CTF scene builders are shared with those suites."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
for suite in ("learning", "ctf"):
    if str(TESTS / suite) not in sys.path:
        sys.path.append(str(TESTS / suite))
