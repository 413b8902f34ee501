"""Offline evaluation of the sentiment scorer on the hand-labelled set in `data/`.

`evaluate_sentiment()` reports accuracy for VADER alone and VADER with the domain lexicon,
next to the majority-class baseline (always answering the most frequent label); the
`flagship bench ai` run prints it and a test asserts the scorer beats the baseline.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ai.nlp.sentiment import sentiment

LABELLED = Path(__file__).with_name("data") / "sentiment_labelled.tsv"


@dataclass(frozen=True)
class Labelled:
    kind: str
    label: str
    text: str


@dataclass(frozen=True)
class SentimentReport:
    items: int
    accuracy_vader: float
    accuracy_domain: float
    majority_label: str
    accuracy_majority: float
    per_label: dict[str, float]  # recall per label, domain lexicon

    def line(self) -> str:
        recall = " ".join(f"{k}={v:.2f}" for k, v in sorted(self.per_label.items()))
        return (
            f"sentiment_accuracy={self.accuracy_domain:.3f} vader_only={self.accuracy_vader:.3f}"
            f" majority_baseline={self.accuracy_majority:.3f} ({self.majority_label})"
            f" items={self.items} recall: {recall}"
        )


def load_labelled(path: Path = LABELLED) -> list[Labelled]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, label, text = line.split("\t", 2)
        rows.append(Labelled(kind, label, text))
    return rows


def evaluate_sentiment(rows: list[Labelled] | None = None) -> SentimentReport:
    rows = rows if rows is not None else load_labelled()
    counts = Counter(r.label for r in rows)
    majority, majority_n = counts.most_common(1)[0]
    plain = sum(sentiment(r.text, domain=False).label == r.label for r in rows)
    hits: Counter[str] = Counter()
    for r in rows:
        if sentiment(r.text).label == r.label:
            hits[r.label] += 1
    return SentimentReport(
        items=len(rows),
        accuracy_vader=plain / len(rows),
        accuracy_domain=sum(hits.values()) / len(rows),
        majority_label=majority,
        accuracy_majority=majority_n / len(rows),
        per_label={label: hits[label] / n for label, n in counts.items()},
    )
