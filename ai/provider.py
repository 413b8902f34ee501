"""One provider interface for every AI call: the official `openai` library, or the local
embedded default that needs no key.

- `OpenAIProvider`: chat completions (streamed or not), embeddings and moderations through
  `openai.OpenAI` (`OPENAI_BASE_URL` honoured, so any OpenAI-compatible server works). The
  client's own timeout and retries with exponential backoff (it honours Retry-After on 429
  and retries 408/409/429/5xx and connection errors) are configured from AISettings.
- `LocalProvider`: embeddings from the packaged all-MiniLM-L6-v2 model; no language model, so
  `chat` raises `AIUnavailable` (the edge answers 503 `ai_unavailable`).

Every call is accounted: a `Usage` (operation, provider, model, tokens, cache hit, latency)
goes to the `recorder` the caller passes (the edge and the worker write it to ai.usage
through private.ai_record_usage, which prices it from ai.prices). Identical requests are
answered from an in-process LRU cache with a TTL (embeddings, moderations, and chat at
temperature 0) and recorded as cached, at no cost.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ai.embeddings import DIMENSIONS, LocalEmbedder, local_embedder
from ai.settings import AISettings
from flagship.logs import logger

log = logger("ai.provider")


class AIUnavailable(RuntimeError):
    """No language model is configured for an operation that needs one."""


class ProviderError(RuntimeError):
    """The provider failed after its retries."""


@dataclass(frozen=True)
class Usage:
    operation: str
    provider: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False
    latency_ms: int = 0


Recorder = Callable[[Usage], None]


def _no_record(_usage: Usage) -> None:
    return None


@dataclass
class ChatResult:
    text: str
    model: str
    usage: Usage | None = None


@dataclass
class Moderation:
    flagged: bool
    categories: dict[str, bool] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    model: str = ""


class TTLCache:
    """A small thread-safe LRU with a time to live."""

    def __init__(self, size: int, ttl_s: float) -> None:
        self.size, self.ttl_s = size, ttl_s
        self._data: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(*parts: Any) -> str:
        raw = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(raw.encode()).hexdigest()

    def get(self, key: str) -> Any | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is None:
                return None
            if time.monotonic() - hit[0] > self.ttl_s:
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return hit[1]

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._data[key] = (time.monotonic(), value)
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


def _ms(start: float) -> int:
    return int((time.perf_counter() - start) * 1000)


class BaseProvider:
    name = "local"

    def __init__(self, settings: AISettings, recorder: Recorder | None = None) -> None:
        self.settings = settings
        self.recorder = recorder or _no_record
        self.cache = TTLCache(settings.cache_size, settings.cache_ttl_s)
        self._local: LocalEmbedder | None = None

    # -- accounting ---------------------------------------------------------------------
    def _record(self, usage: Usage, recorder: Recorder | None) -> Usage:
        try:
            (recorder or self.recorder)(usage)
        except Exception as exc:  # accounting must never break the answer already computed
            log.warning("ai usage not recorded", error=type(exc).__name__, model=usage.model)
        return usage

    # -- embeddings ---------------------------------------------------------------------
    @property
    def embedding_model(self) -> str:
        if self.settings.embeddings == "openai":
            return self.settings.embedding_model
        return LocalEmbedder.model

    def embed(
        self, texts: Sequence[str], *, operation: str = "embed", recorder: Recorder | None = None
    ) -> list[list[float]]:
        """One 384-dimension unit vector per text, from the configured embedding model."""
        texts = list(texts)
        key = TTLCache.key("embed", self.embedding_model, texts)
        cached = self.cache.get(key)
        if cached is not None:
            self._record(
                Usage(operation, self._embed_provider, self.embedding_model, cached=True), recorder
            )
            return cached
        start = time.perf_counter()
        vectors, tokens = self._embed(texts)
        self.cache.put(key, vectors)
        self._record(
            Usage(
                operation, self._embed_provider, self.embedding_model, tokens, latency_ms=_ms(start)
            ),
            recorder,
        )
        return vectors

    @property
    def _embed_provider(self) -> str:
        return "openai" if self.settings.embeddings == "openai" else "local"

    def _embed(self, texts: list[str]) -> tuple[list[list[float]], int]:
        if self._local is None:
            self._local = local_embedder()
        return self._local.embed(texts), 0

    # -- language model -------------------------------------------------------------------
    @property
    def chat_model(self) -> str:
        return self.settings.chat_model

    @property
    def can_chat(self) -> bool:
        return False

    def chat_stream(
        self,
        messages: list[dict[str, str]],
        *,
        operation: str = "chat",
        max_tokens: int | None = None,
        temperature: float = 0.0,
        recorder: Recorder | None = None,
    ) -> Iterator[str]:
        raise AIUnavailable("No language model is configured on this deployment.")

    def chat(self, messages: list[dict[str, str]], **kwargs: Any) -> ChatResult:
        """The whole answer at once (the stream, joined)."""
        text = "".join(self.chat_stream(messages, **kwargs))
        return ChatResult(text=text, model=self.chat_model)

    def moderate(self, text: str, *, recorder: Recorder | None = None) -> Moderation:
        raise AIUnavailable("No moderation model is configured on this deployment.")


class LocalProvider(BaseProvider):
    """The embedded default: local embeddings only; no key, no network."""

    name = "local"


class OpenAIProvider(BaseProvider):
    """The official `openai` client (api.openai.com, or OPENAI_BASE_URL)."""

    name = "openai"

    def __init__(self, settings: AISettings, recorder: Recorder | None = None) -> None:
        super().__init__(settings, recorder)
        import openai

        self._openai = openai
        self.client = openai.OpenAI(
            api_key=settings.openai_api_key,
            base_url=settings.openai_base_url,
            timeout=settings.timeout_s,
            max_retries=settings.max_retries,
        )

    @property
    def can_chat(self) -> bool:
        return True

    def _embed(self, texts: list[str]) -> tuple[list[list[float]], int]:
        if self.settings.embeddings != "openai":
            return super()._embed(texts)
        with self._errors():
            response = self.client.embeddings.create(
                model=self.settings.embedding_model, input=texts, dimensions=DIMENSIONS
            )
        vectors = [list(d.embedding) for d in sorted(response.data, key=lambda d: d.index)]
        return vectors, getattr(response.usage, "prompt_tokens", 0) or 0

    def chat_stream(
        self,
        messages: list[dict[str, str]],
        *,
        operation: str = "chat",
        max_tokens: int | None = None,
        temperature: float = 0.0,
        recorder: Recorder | None = None,
    ) -> Iterator[str]:
        """Yield the answer as it arrives; usage is recorded when the stream ends."""
        model = self.settings.chat_model
        max_tokens = max_tokens or self.settings.max_output_tokens
        key = TTLCache.key("chat", model, messages, max_tokens, temperature)
        if temperature == 0 and (cached := self.cache.get(key)) is not None:
            self._record(Usage(operation, self.name, model, cached=True), recorder)
            yield from cached
            return
        start = time.perf_counter()
        parts: list[str] = []
        prompt_tokens = completion_tokens = 0
        with self._errors():
            stream = self.client.chat.completions.create(
                model=model,
                messages=messages,
                max_tokens=max_tokens,
                temperature=temperature,
                stream=True,
                stream_options={"include_usage": True},
            )
            for chunk in stream:
                if chunk.usage is not None:
                    prompt_tokens = chunk.usage.prompt_tokens or 0
                    completion_tokens = chunk.usage.completion_tokens or 0
                for choice in chunk.choices or ():
                    delta = choice.delta.content if choice.delta else None
                    if delta:
                        parts.append(delta)
                        yield delta
        if temperature == 0:
            self.cache.put(key, parts)
        self._record(
            Usage(
                operation, self.name, model, prompt_tokens, completion_tokens, latency_ms=_ms(start)
            ),
            recorder,
        )

    def moderate(self, text: str, *, recorder: Recorder | None = None) -> Moderation:
        model = self.settings.moderation_model
        key = TTLCache.key("moderate", model, text)
        if (cached := self.cache.get(key)) is not None:
            self._record(Usage("moderate", self.name, model, cached=True), recorder)
            return cached
        start = time.perf_counter()
        with self._errors():
            response = self.client.moderations.create(model=model, input=text)
        result = response.results[0]
        moderation = Moderation(
            flagged=bool(result.flagged),
            categories={
                k: bool(v) for k, v in result.categories.model_dump().items() if v is not None
            },
            scores={
                k: float(v) for k, v in result.category_scores.model_dump().items() if v is not None
            },
            model=response.model or model,
        )
        self.cache.put(key, moderation)
        self._record(Usage("moderate", self.name, model, latency_ms=_ms(start)), recorder)
        return moderation

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except self._openai.OpenAIError as exc:
            log.warning("ai provider failed", error=type(exc).__name__)
            raise ProviderError(str(exc)) from exc


def make_provider(settings: AISettings | None = None, recorder: Recorder | None = None):
    """The provider for these settings: OpenAI when a key is set, else the local one."""
    settings = settings or AISettings.from_env()
    if settings.llm:
        return OpenAIProvider(settings, recorder)
    return LocalProvider(settings, recorder)


def db_recorder(session: Callable[[], Any], user_id: str | None) -> Recorder:
    """A recorder that writes each call to ai.usage through private.ai_record_usage.

    `session()` is a context manager yielding a connection allowed to call it (service_role,
    or the worker's own connection) and committing on a clean exit; usage rows are never
    written by API callers themselves."""

    def record(usage: Usage) -> None:
        with session() as conn:
            conn.execute(RECORD_USAGE_SQL, usage_params(user_id, usage))

    return record


RECORD_USAGE_SQL = "select private.ai_record_usage(%s, %s, %s, %s, %s, %s, %s, %s)"


def usage_params(user_id: str | None, usage: Usage) -> tuple:
    """The arguments of private.ai_record_usage for one provider call."""
    return (
        user_id,
        usage.operation,
        usage.provider,
        usage.model,
        usage.prompt_tokens,
        usage.completion_tokens,
        usage.cached,
        usage.latency_ms,
    )
