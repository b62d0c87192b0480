"""The vector index: a chroma collection of courses, embedded by our own embedding function.

`PersistentClient` under `GROWTHLOOP_DATA_DIR/chroma` by default, `HttpClient` when `CHROMA_URL` is set.
Anonymised telemetry is off, so chroma never tries the network on its own.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from knowledge.catalog import CourseRecord
from knowledge.embedders import Embedder, chroma_embedding_function


def chroma_settings() -> Any:
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def make_client(*, data_dir: Path, chroma_url: str | None = None) -> Any:
    """An HttpClient for `chroma_url`, else a PersistentClient in `data_dir/chroma`."""
    import chromadb

    if chroma_url:
        u = urlparse(chroma_url)
        port = u.port or (443 if u.scheme == "https" else 8000)
        return chromadb.HttpClient(
            host=u.hostname or "localhost", port=port, ssl=u.scheme == "https", settings=chroma_settings()
        )
    path = Path(data_dir) / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings())


def collection_name(embedder: Embedder) -> str:
    """One collection per embedder, so switching models never mixes vector spaces."""
    return "courses_" + re.sub(r"[^a-zA-Z0-9_-]+", "_", embedder.name)[:50]


def _meta(rec: CourseRecord) -> dict[str, Any]:
    return {
        "hash": rec.content_hash,
        "language": rec.language,
        "format": rec.format,
        "duration_minutes": rec.duration_minutes,
        "competencies": "," + ",".join(rec.competencies) + ",",
    }


class VectorStore:
    """Courses in chroma: upsert (embedding through our EmbeddingFunction), delete, read back, query."""

    def __init__(self, client: Any, embedder: Embedder) -> None:
        self.client = client
        self.embedder = embedder
        self.ef = chroma_embedding_function(embedder)
        self.collection = client.get_or_create_collection(
            collection_name(embedder), embedding_function=self.ef, configuration={"hnsw": {"space": "cosine"}}
        )

    def hashes(self) -> dict[str, str]:
        """Course id → content hash of what is indexed."""
        got = self.collection.get(include=["metadatas"])
        return {i: str((m or {}).get("hash", "")) for i, m in zip(got["ids"], got["metadatas"] or [], strict=False)}

    def upsert(self, records: list[CourseRecord], batch: int = 64, known: dict[str, np.ndarray] | None = None) -> int:
        """Store `records`; chroma calls our embedding function unless `known` (hash → vector) has them all."""
        for i in range(0, len(records), batch):
            part = records[i : i + batch]
            kw: dict[str, Any] = {}
            if known and all(r.content_hash in known for r in part):
                kw["embeddings"] = [np.asarray(known[r.content_hash], dtype=np.float32) for r in part]
            self.collection.upsert(
                ids=[r.id for r in part], documents=[r.text for r in part], metadatas=[_meta(r) for r in part], **kw
            )
        return len(records)

    def delete(self, ids: list[str]) -> None:
        for i in range(0, len(ids), 500):
            self.collection.delete(ids=ids[i : i + 500])

    def vectors(self) -> tuple[list[str], np.ndarray]:
        """Every indexed id and its embedding (for the in-memory copy used at query time)."""
        got = self.collection.get(include=["embeddings"])
        ids = list(got["ids"])
        emb = got.get("embeddings")
        if emb is None or len(ids) == 0:
            return ids, np.zeros((0, self.embedder.dim), dtype=np.float32)
        return ids, np.asarray(emb, dtype=np.float32)

    def query(self, text: str, n: int = 5, where: dict[str, Any] | None = None) -> list[tuple[str, float]]:
        """Nearest courses by chroma's own ANN search: (id, cosine similarity)."""
        res = self.collection.query(query_texts=[text or " "], n_results=max(1, n), where=where, include=["distances"])
        return [(i, 1.0 - float(d)) for i, d in zip(res["ids"][0], res["distances"][0], strict=True)]

    def count(self) -> int:
        return int(self.collection.count())

    def close(self) -> None:
        """Release the client (an embedded one stops when the process's last client on its path closes)."""
        close = getattr(self.client, "close", None)
        if close is not None:
            close()
