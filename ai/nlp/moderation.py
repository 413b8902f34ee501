"""Local moderation heuristics, used when no OpenAI moderation endpoint is configured.

Four signals, each in [0, 1]:

- `toxicity`: a small lexicon of insults, threats and harassment phrases (whole words, with
  common obfuscations folded: `1d10t` → `idiot`), saturating at two strong hits;
- `negativity`: VADER's negative share, counted only when the compound score is clearly
  negative (a frank "this challenge is broken" is not abuse, so it weighs little alone);
- `link_spam`: many links, link shorteners, or text that is mostly links;
- `repetition_spam`: the same word or line over and over, long character runs, shouting.

The overall `score` is the strongest signal, reinforced a little by the others; callers
compare it with a threshold (`ai.moderation_settings`). It is advice for moderators, never
a verdict: content is flagged for review, not removed.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from ai.nlp.sentiment import sentiment

MAX_CHARS = 20_000
NEGATIVITY_CAP = 0.45

# phrase → weight (1.0 = clearly abusive on its own)
TOXIC_LEXICON: dict[str, float] = {
    "idiot": 0.6,
    "idiots": 0.6,
    "moron": 0.6,
    "morons": 0.6,
    "stupid": 0.35,
    "dumb": 0.3,
    "loser": 0.5,
    "losers": 0.5,
    "pathetic": 0.4,
    "worthless": 0.6,
    "scum": 0.7,
    "trash": 0.3,
    "shut up": 0.5,
    "stfu": 0.6,
    "go to hell": 0.7,
    "hate you": 0.6,
    "kill yourself": 1.0,
    "kys": 1.0,
    "i will find you": 0.9,
    "you will regret": 0.6,
    "fuck you": 0.9,
    "fucking": 0.45,
    "fuck": 0.5,
    "shit": 0.3,
    "bastard": 0.7,
    "asshole": 0.8,
    "bitch": 0.8,
    "dox": 0.6,
    "doxx": 0.7,
}
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)
_URL = re.compile(r"(?:https?://|www\.)[^\s<>()]+", re.IGNORECASE)
_SHORTENERS = ("bit.ly", "tinyurl.com", "t.co/", "goo.gl", "is.gd", "ow.ly", "cutt.ly", "rb.gy")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_RUN = re.compile(r"(.)\1{7,}")


@dataclass(frozen=True)
class ModerationScore:
    score: float
    categories: dict[str, float] = field(default_factory=dict)
    matched: list[str] = field(default_factory=list)
    source: str = "local"

    def top_category(self) -> str:
        if not self.categories or max(self.categories.values()) <= 0:
            return ""
        return max(self.categories, key=lambda k: self.categories[k])

    def as_dict(self) -> dict:
        return {
            "score": self.score,
            "categories": self.categories,
            "matched": self.matched,
            "source": self.source,
            "top_category": self.top_category(),
        }


def _toxicity(lowered: str) -> tuple[float, list[str]]:
    folded = lowered.translate(_LEET)
    text = " " + " ".join(_WORD.findall(folded)) + " "
    hits = [(p, w) for p, w in TOXIC_LEXICON.items() if f" {p} " in text]
    total = sum(w for _, w in hits)
    return min(1.0, total / 1.2), sorted(p for p, _ in hits)


def _negativity(text: str) -> float:
    s = sentiment(text)
    if s.compound > -0.5:
        return 0.0
    # Capped at NEGATIVITY_CAP: a harsh but civil review is never flagged on tone alone.
    return round(min(NEGATIVITY_CAP, s.negative * 1.5), 4)


def _link_spam(text: str, words: int) -> float:
    links = _URL.findall(text)
    if not links:
        return 0.0
    link_chars = sum(len(u) for u in links)
    short = sum(1 for u in links if any(s in u.lower() for s in _SHORTENERS))
    score = 0.0
    if len(links) >= 3:
        score = max(score, min(1.0, 0.25 * len(links)))
    if short:
        score = max(score, min(1.0, 0.5 + 0.25 * short))
    if link_chars / max(1, len(text)) > 0.6:
        score = max(score, 0.7)
    if words and len(links) / words > 0.3 and len(links) >= 2:
        score = max(score, 0.8)
    return round(score, 4)


def _repetition(text: str, tokens: list[str]) -> float:
    score = 0.0
    if len(tokens) >= 8:
        top, count = Counter(tokens).most_common(1)[0]
        share = count / len(tokens)
        if share > 0.3 and len(top) > 1:
            score = max(score, min(1.0, share * 1.4))
        distinct = len(set(tokens)) / len(tokens)
        if distinct < 0.3:
            score = max(score, 0.8)
    lines = [line.strip().lower() for line in text.splitlines() if line.strip()]
    if len(lines) >= 4:
        dup = 1 - len(set(lines)) / len(lines)
        if dup >= 0.5:
            score = max(score, min(1.0, dup + 0.2))
    if _RUN.search(text):
        score = max(score, 0.5)
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 30 and sum(c.isupper() for c in letters) / len(letters) > 0.8:
        score = max(score, 0.5)
    return round(score, 4)


def combine(categories: dict[str, float]) -> float:
    """The strongest signal plus a fifth of the rest, capped at 1."""
    values = sorted(categories.values(), reverse=True)
    if not values:
        return 0.0
    return round(min(1.0, values[0] + 0.2 * sum(values[1:])), 4)


def score_moderation(text: str) -> ModerationScore:
    """Local moderation score of `text` (0 = nothing to see, 1 = almost surely abuse/spam)."""
    body = (text or "")[:MAX_CHARS]
    lowered = body.lower()
    tokens = [t.lower() for t in _WORD.findall(body)]
    toxicity, matched = _toxicity(lowered)
    categories = {
        "toxicity": round(toxicity, 4),
        "negativity": _negativity(body),
        "link_spam": _link_spam(body, len(tokens)),
        "repetition_spam": _repetition(body, tokens),
    }
    return ModerationScore(combine(categories), categories, matched, "local")
