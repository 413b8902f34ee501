"""Offline natural-language helpers: sentiment (VADER), keywords (YAKE), extractive
summaries (TextRank), language detection (langdetect) and local moderation heuristics.

Everything here loads from installed packages only: no network, no model download, no
large language model. Each function is pure (text in, result out) so the edge, the worker
and the benchmarks share one implementation.
"""

from __future__ import annotations

from ai.nlp.keywords import keywords, tags
from ai.nlp.language import detect_language
from ai.nlp.moderation import ModerationScore, score_moderation
from ai.nlp.sentiment import Sentiment, sentiment
from ai.nlp.summarize import summarize

__all__ = [
    "ModerationScore",
    "Sentiment",
    "detect_language",
    "keywords",
    "score_moderation",
    "sentiment",
    "summarize",
    "tags",
]
