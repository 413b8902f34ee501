"""Keywords and tags with YAKE (unsupervised, statistical; stop-word lists ship in `yake`).

`keywords(text)` returns the top phrases with YAKE's score (lower is more relevant);
`tags(text)` turns them into short lower-case slugs for contributions and posts. Near
duplicates ("SQL", "SQL injection", "sql injections") are folded by YAKE's deduplication
and by a final containment check, so tags stay distinct.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import yake

MAX_CHARS = 50_000
YAKE_LANGUAGES = {"en", "fr", "de", "es", "it", "pt", "nl"}
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Keyword:
    phrase: str
    score: float


@lru_cache(maxsize=16)
def _extractor(language: str, max_words: int, top: int) -> yake.KeywordExtractor:
    return yake.KeywordExtractor(lan=language, n=max_words, top=top, dedupLim=0.8)


def keywords(
    text: str, *, top: int = 10, max_words: int = 3, language: str = "en"
) -> list[Keyword]:
    """The `top` key phrases of `text`, most relevant first (empty text gives none)."""
    body = (text or "")[:MAX_CHARS]
    if not body.strip():
        return []
    lang = language if language in YAKE_LANGUAGES else "en"
    found = _extractor(lang, max_words, top * 2).extract_keywords(body)
    result: list[Keyword] = []
    for phrase, score in found:
        clean = " ".join(phrase.split())
        if not any(clean.lower() == kept.phrase.lower() for kept in result):
            result.append(Keyword(clean, round(float(score), 6)))
        if len(result) == top:
            break
    return result


def slug(phrase: str) -> str:
    return _SLUG.sub("-", phrase.lower()).strip("-")[:40]


def tags(text: str, *, top: int = 5, language: str = "en") -> list[str]:
    """Up to `top` distinct slugs; a tag contained in a better one is dropped."""
    chosen: list[str] = []
    for keyword in keywords(text, top=top * 3, max_words=2, language=language):
        tag = slug(keyword.phrase)
        if len(tag) < 2 or tag.isdigit():
            continue
        if any(tag in kept or kept in tag for kept in chosen):
            continue
        chosen.append(tag)
        if len(chosen) == top:
            break
    return chosen
