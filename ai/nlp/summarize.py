"""Extractive summaries with TextRank (Mihalcea & Tarau, 2004) over sentences.

Sentences are split with `segtok`; two sentences are linked by their word overlap
normalised by their lengths (the paper's similarity); PageRank (damping 0.85, power
iteration) ranks them, and the best `sentences` are returned in their original order. No
sentence is invented or rewritten, so a summary never says what the text did not.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from segtok.segmenter import split_multi

MAX_CHARS = 100_000
MAX_SENTENCES = 400  # sentences considered (the graph is quadratic)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "which",
        "who",
        "will",
        "with",
        "you",
        "your",
    ]
)


@dataclass(frozen=True)
class Summary:
    sentences: list[str]
    total_sentences: int

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


def _split(text: str) -> list[str]:
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        for sentence in split_multi(" ".join(paragraph.split())):
            if sentence.strip():
                out.append(sentence.strip())
    return out


def _words(sentence: str) -> set[str]:
    return {w for w in (m.lower() for m in _WORD.findall(sentence)) if w not in _STOP}


def _rank(bags: list[set[str]], iterations: int = 50, damping: float = 0.85) -> list[float]:
    n = len(bags)
    weights = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            common = len(bags[i] & bags[j])
            if common and len(bags[i]) > 1 and len(bags[j]) > 1:
                w = common / (math.log(len(bags[i])) + math.log(len(bags[j])))
                weights[i][j] = weights[j][i] = w
    out_sum = [sum(row) for row in weights]
    scores = [1.0 / n] * n
    for _ in range(iterations):
        new = []
        for i in range(n):
            incoming = sum(
                weights[j][i] / out_sum[j] * scores[j] for j in range(n) if weights[j][i]
            )
            new.append((1 - damping) / n + damping * incoming)
        if max(abs(a - b) for a, b in zip(new, scores, strict=True)) < 1e-6:
            scores = new
            break
        scores = new
    return scores


def summarize(text: str, *, sentences: int = 3) -> Summary:
    """The `sentences` most central sentences of `text`, in the order they appear."""
    all_sentences = _split((text or "")[:MAX_CHARS])
    candidates = all_sentences[:MAX_SENTENCES]
    if len(candidates) <= sentences:
        return Summary(candidates, len(all_sentences))
    scores = _rank([_words(s) for s in candidates])
    best = sorted(range(len(candidates)), key=lambda i: (-scores[i], i))[:sentences]
    return Summary([candidates[i] for i in sorted(best)], len(all_sentences))
