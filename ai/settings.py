"""What the AI layer needs to know, read once from the environment (edge and worker alike)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_CHAT_MODEL = "gpt-4o-mini"
DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"
DEFAULT_MODERATION_MODEL = "omni-moderation-latest"


@dataclass(frozen=True)
class AISettings:
    # OPENAI_API_KEY: chat and moderations through `openai` (OPENAI_BASE_URL for a
    # self-hosted compatible server). Without it: the local provider (no LLM).
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    chat_model: str = DEFAULT_CHAT_MODEL
    # "local" (default: all-MiniLM-L6-v2 shipped in a wheel) or "openai" (the embedding
    # model below, asked for 384 dimensions so the index keeps one shape).
    embeddings: str = "local"
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    moderation_model: str = DEFAULT_MODERATION_MODEL
    timeout_s: float = 30.0
    max_retries: int = 2
    max_output_tokens: int = 600
    cache_size: int = 512
    cache_ttl_s: float = 600.0

    @property
    def llm(self) -> bool:
        """Is a language model configured?"""
        return bool(self.openai_api_key)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AISettings:
        env = os.environ if env is None else env
        embeddings = env.get("AI_EMBEDDINGS", "local")
        if embeddings not in ("local", "openai"):
            raise ValueError("AI_EMBEDDINGS must be local or openai")
        return cls(
            openai_api_key=env.get("OPENAI_API_KEY") or None,
            openai_base_url=env.get("OPENAI_BASE_URL") or None,
            chat_model=env.get("AI_CHAT_MODEL", DEFAULT_CHAT_MODEL),
            embeddings=embeddings,
            embedding_model=env.get("AI_EMBEDDING_MODEL", DEFAULT_EMBEDDING_MODEL),
            moderation_model=env.get("AI_MODERATION_MODEL", DEFAULT_MODERATION_MODEL),
            timeout_s=float(env.get("AI_TIMEOUT_SECONDS", "30")),
            max_retries=int(env.get("AI_MAX_RETRIES", "2")),
            max_output_tokens=int(env.get("AI_MAX_OUTPUT_TOKENS", "600")),
        )
