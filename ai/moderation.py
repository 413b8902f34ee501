"""Moderation assist scoring: OpenAI moderation through the provider when a key is set, the
local heuristics (ai.nlp.moderation) otherwise — or when the provider fails, so a text is
never left unscored because a remote service is down.

`moderate(text, provider)` returns the dict the database records
(private.ai_record_moderation): {score, categories, top_category, source, model}.
"""

from __future__ import annotations

from ai.nlp.moderation import score_moderation
from ai.provider import AIUnavailable, BaseProvider, ProviderError, Recorder
from flagship.logs import logger

log = logger("ai.moderation")
LOCAL_MODEL = "flagship-heuristics-1"


def local(text: str) -> dict:
    return score_moderation(text).as_dict() | {"model": LOCAL_MODEL}


def moderate(text: str, provider: BaseProvider | None, recorder: Recorder | None = None) -> dict:
    """Score `text` with the provider's moderation model, else locally."""
    if provider is None:
        return local(text)
    try:
        result = provider.moderate(text, recorder=recorder)
    except AIUnavailable:
        return local(text)
    except ProviderError as exc:
        log.warning("moderation provider failed; local heuristics used", error=str(exc)[:200])
        return local(text)
    scores = {k.replace("/", "_"): round(v, 4) for k, v in result.scores.items()}
    top = max(result.scores, key=result.scores.get) if result.scores else ""
    score = max(result.scores.values(), default=0.0)
    if result.flagged:
        score = max(score, 0.6)  # the provider's own verdict reaches the threshold
    return {
        "score": round(min(1.0, score), 4),
        "categories": scores,
        "top_category": top if score > 0 else "",
        "matched": [],
        "source": "openai",
        "model": result.model or provider.settings.moderation_model,
    }
