"""Language detection with `langdetect` (Google's n-gram profiles, shipped in the package).

The detector is seeded, so one text always gets one answer. Texts with fewer than
`MIN_LETTERS` letters are `und` (undetermined): n-gram statistics mean nothing on "ok".
"""

from __future__ import annotations

from dataclasses import dataclass
from threading import Lock

from langdetect import DetectorFactory, LangDetectException, detect_langs

MIN_LETTERS = 12
MAX_CHARS = 5_000
_LOCK = Lock()  # langdetect's factory seeds a shared random generator
DetectorFactory.seed = 0


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1 (e.g. "en", "fr"), or "und"
    probability: float
    alternatives: list[tuple[str, float]]


def detect_language(text: str) -> Language:
    """The most probable language of `text`, with up to three alternatives."""
    sample = (text or "")[:MAX_CHARS]
    if sum(ch.isalpha() for ch in sample) < MIN_LETTERS:
        return Language("und", 0.0, [])
    try:
        with _LOCK:
            found = detect_langs(sample)
    except LangDetectException:
        return Language("und", 0.0, [])
    ranked = [(item.lang, round(float(item.prob), 4)) for item in found]
    code, prob = ranked[0]
    return Language(code, prob, ranked[1:4])
