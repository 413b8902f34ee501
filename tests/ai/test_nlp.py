"""ai.nlp: the offline sentiment, keyword, summary, language and moderation helpers."""

from __future__ import annotations

from ai.nlp import detect_language, keywords, score_moderation, sentiment, summarize, tags
from ai.nlp.evaluation import evaluate_sentiment, load_labelled

LESSON = (
    "SQL injection is a code injection technique that attacks data-driven applications. "
    "An attacker inserts SQL statements into an entry field for execution. "
    "The cafeteria serves lunch at noon. "
    "Parameterised queries keep user input out of the SQL statement, which prevents SQL "
    "injection. "
    "Stored procedures and input validation help, but parameterised queries are the main "
    "defence against SQL injection."
)


def test_labelled_set_is_big_enough_and_covers_both_sources():
    rows = load_labelled()
    assert len(rows) >= 60
    assert {r.kind for r in rows} == {"review", "ctf"}
    assert {r.label for r in rows} == {"positive", "negative", "neutral"}


def test_sentiment_beats_the_majority_baseline_on_the_labelled_set():
    report = evaluate_sentiment()
    assert report.accuracy_domain > report.accuracy_majority
    assert report.accuracy_vader > report.accuracy_majority
    assert set(report.per_label) == {"positive", "negative", "neutral"}


def test_sentiment_labels_and_domain_words():
    assert sentiment("Loved this course, brilliant labs!").label == "positive"
    assert sentiment("Terrible, a waste of money.").label == "negative"
    assert sentiment("").label == "neutral"
    # "guessy" is not in VADER's general lexicon; the domain lexicon scores it.
    assert sentiment("Way too guessy.", domain=False).label == "neutral"
    assert sentiment("Way too guessy.").label == "negative"


def test_keywords_and_tags():
    found = [k.phrase.lower() for k in keywords(LESSON, top=5)]
    assert any("sql" in k for k in found) and any("injection" in k for k in found)
    assert keywords("   ") == []
    produced = tags(LESSON, top=4)
    assert 0 < len(produced) <= 4
    assert all(t == t.lower() and " " not in t for t in produced)
    assert len(set(produced)) == len(produced)


def test_summary_is_extractive_and_skips_the_off_topic_sentence():
    summary = summarize(LESSON, sentences=2)
    assert summary.total_sentences == 5
    assert len(summary.sentences) == 2
    assert all(s in LESSON for s in summary.sentences)
    assert "cafeteria" not in summary.text
    # Original order is kept.
    positions = [LESSON.index(s) for s in summary.sentences]
    assert positions == sorted(positions)
    short = summarize("One sentence only.", sentences=3)
    assert short.sentences == ["One sentence only."]


def test_language_detection():
    assert detect_language("This lesson explains how cross-site scripting works.").code == "en"
    assert detect_language("Ce cours explique le fonctionnement des injections SQL.").code == "fr"
    assert detect_language("Dieser Kurs erklärt, wie Pufferüberläufe funktionieren.").code == "de"
    assert detect_language("ok").code == "und"


def test_local_moderation_signals():
    assert score_moderation("Thanks, great write-up!").score < 0.2
    abuse = score_moderation("You are a pathetic 1d10t, kill yourself")
    assert abuse.score >= 0.9 and abuse.top_category() == "toxicity"
    assert "idiot" in abuse.matched and "kill yourself" in abuse.matched
    links = score_moderation("cheap flags http://bit.ly/a http://bit.ly/b http://bit.ly/c")
    assert links.top_category() == "link_spam" and links.score >= 0.7
    repeated = score_moderation("\n".join(["JOIN MY DISCORD NOW"] * 6))
    assert repeated.categories["repetition_spam"] >= 0.7
    # A harsh but civil review stays below any sensible threshold on tone alone.
    harsh = score_moderation("This challenge is broken, guessy and frustrating. I hated it.")
    assert harsh.categories["negativity"] > 0 and harsh.score < 0.5
