"""Cut a document into retrieval chunks: paragraphs packed up to a size, with overlap.

Markdown is kept as text (headings and code stay readable in citations); blank lines split
paragraphs, and a paragraph longer than the limit is split at sentence ends, then at spaces.
"""

from __future__ import annotations

import re

MAX_CHARS = 900
OVERLAP_CHARS = 120
MAX_CHUNKS = 200  # a source longer than this is indexed up to here (200 x 900 characters)
_PARAGRAPHS = re.compile(r"\n\s*\n")
_SENTENCES = re.compile(r"(?<=[.!?])\s+")


def _pieces(paragraph: str, limit: int) -> list[str]:
    if len(paragraph) <= limit:
        return [paragraph]
    out: list[str] = []
    current = ""
    for sentence in _SENTENCES.split(paragraph):
        while len(sentence) > limit:  # one enormous "sentence": cut at a space
            cut = sentence.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            out.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if current and len(current) + 1 + len(sentence) > limit:
            out.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    if current:
        out.append(current)
    return out


def chunk_text(text: str, max_chars: int = MAX_CHARS, overlap: int = OVERLAP_CHARS) -> list[str]:
    """Chunks of at most `max_chars` (+ overlap carried from the previous chunk)."""
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        return []
    pieces: list[str] = []
    for raw in _PARAGRAPHS.split(text):
        para = raw.strip()
        if para:
            flat = para if "```" in para else " ".join(para.split())
            pieces.extend(_pieces(flat, max_chars))
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        if current and len(current) + 2 + len(piece) > max_chars:
            chunks.append(current)
            tail = current[-overlap:]
            space = tail.find(" ")
            tail = tail[space + 1 :] if 0 <= space < len(tail) - 1 else ""
            current = f"{tail} {piece}".strip() if tail else piece
        else:
            current = f"{current}\n\n{piece}" if current else piece
        if len(chunks) >= MAX_CHUNKS:
            break
    if current and len(chunks) < MAX_CHUNKS:
        chunks.append(current)
    return chunks
