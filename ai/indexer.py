"""Index one source: read its public text, chunk it, embed the chunks, swap them in.

Shared by the worker's `ai.index_source` handler, the bench and `flagship ai load-docs`.
The source is read now (not from the job), so a repeated or late job converges on the
current state; a source that is gone, hidden or deleted ends with no chunks.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg

from ai.chunking import chunk_text

KINDS = ("lesson", "challenge", "forum_post", "doc")


def index_source(conn: psycopg.Connection, provider: Any, kind: str, source_id: str) -> int:
    """Re-index one source in the caller's transaction; returns the number of chunks."""
    if kind not in KINDS:
        raise ValueError(f"unknown source kind {kind!r}")
    row = conn.execute(
        "select private.ai_source_document(%s, %s) as doc", (kind, source_id)
    ).fetchone()
    doc = row["doc"] if isinstance(row, dict) else row[0]
    chunks: list[dict[str, Any]] = []
    if doc is not None:
        texts = chunk_text(doc.get("body") or "") or [doc.get("title") or ""]
        title = doc.get("title") or ""
        vectors = provider.embed([f"{title}\n{t}" for t in texts], operation="index")
        chunks = [{"content": t, "embedding": v} for t, v in zip(texts, vectors, strict=True)]
    row = conn.execute(
        "select private.ai_replace_chunks(%s, %s, %s::jsonb, %s::jsonb, %s) as n",
        (
            kind,
            source_id,
            json.dumps(doc) if doc is not None else None,
            json.dumps(chunks),
            provider.embedding_model,
        ),
    ).fetchone()
    return row["n"] if isinstance(row, dict) else row[0]
