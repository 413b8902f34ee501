"""Sentiment with VADER (a lexicon and rules that ship inside `vaderSentiment`).

`sentiment(text)` returns the compound score in [-1, 1] and a label: `positive` at
compound >= 0.05, `negative` at <= -0.05, `neutral` between (VADER's published cut-offs).
A short domain lexicon (`DOMAIN_LEXICON`) adds words course reviews and CTF feedback use
that VADER's general-purpose lexicon does not score ("guessy", "outdated", "broken"...);
`ai.nlp.evaluation` measures both variants on the labelled set in `data/`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

POSITIVE_AT = 0.05
NEGATIVE_AT = -0.05
MAX_CHARS = 20_000  # longer texts are scored on their beginning

# Valences on VADER's scale (-4 .. 4). Words of the platform's feedback that VADER lacks.
DOMAIN_LEXICON: dict[str, float] = {
    "guessy": -2.0,
    "guessing": -1.2,
    "outdated": -1.6,
    "broken": -2.0,
    "unsolvable": -2.2,
    "buggy": -2.0,
    "confusing": -1.8,
    "tedious": -1.8,
    "shallow": -1.5,
    "overpriced": -2.0,
    "rushed": -1.5,
    "unclear": -1.6,
    "frustrating": -2.0,
    "crashed": -1.8,
    "crashes": -1.8,
    "typos": -1.0,
    "insightful": 2.0,
    "hands-on": 1.2,
    "well-paced": 1.8,
    "well-structured": 1.8,
    "clear": 1.2,
    "clever": 1.8,
    "solid": 1.4,
    "polished": 1.6,
    "instructive": 1.8,
    "practical": 1.2,
}


@dataclass(frozen=True)
class Sentiment:
    compound: float
    positive: float
    negative: float
    neutral: float
    label: str

    def as_dict(self) -> dict[str, float | str]:
        return {
            "compound": self.compound,
            "positive": self.positive,
            "negative": self.negative,
            "neutral": self.neutral,
            "label": self.label,
        }


@lru_cache(maxsize=2)
def _analyzer(domain: bool) -> SentimentIntensityAnalyzer:
    analyzer = SentimentIntensityAnalyzer()
    if domain:
        analyzer.lexicon.update(DOMAIN_LEXICON)
    return analyzer


def label_of(compound: float) -> str:
    if compound >= POSITIVE_AT:
        return "positive"
    if compound <= NEGATIVE_AT:
        return "negative"
    return "neutral"


def sentiment(text: str, *, domain: bool = True) -> Sentiment:
    """VADER scores of `text` (empty text is neutral, compound 0)."""
    scores = _analyzer(domain).polarity_scores((text or "")[:MAX_CHARS])
    compound = round(float(scores["compound"]), 4)
    return Sentiment(
        compound=compound,
        positive=round(float(scores["pos"]), 4),
        negative=round(float(scores["neg"]), 4),
        neutral=round(float(scores["neu"]), 4),
        label=label_of(compound),
    )
