"""A small learned gap classifier: logistic regression over e5 sentence embeddings plus lexical features.

Trained offline by `bench/train_gap_model.py` on `knowledge/data/gap_training.jsonl` (sentences written for
training only; the evaluation transcripts are never used), saved as `bot/coach/data/gap_model.npz`. Two heads:
P(gap | sentence) and P(competency | gap sentence). Pure numpy at run time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from bot.coach.gaps import gap_features

MODEL_FILE = Path(__file__).parent / "data" / "gap_model.npz"


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def featurize(embeddings: np.ndarray, sentences: Sequence[str], managers: Sequence[bool]) -> np.ndarray:
    lex = np.array(
        [gap_features(s, author_is_manager=m) for s, m in zip(sentences, managers, strict=True)], dtype=np.float32
    ).reshape(len(sentences), -1)
    return np.hstack([embeddings.astype(np.float32), lex, np.ones((len(sentences), 1), np.float32)])


def train_logistic(
    x: np.ndarray,
    y: np.ndarray,
    *,
    l2: float = 1e-2,
    epochs: int = 400,
    lr: float = 0.5,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Binary logistic regression by full-batch gradient descent (deterministic)."""
    w = np.zeros(x.shape[1], dtype=np.float64)
    sw = np.ones(len(y)) if weights is None else weights
    for _ in range(epochs):
        p = _sigmoid(x @ w)
        grad = x.T @ ((p - y) * sw) / sw.sum() + l2 * w
        w -= lr * grad
    return w


def train_softmax(
    x: np.ndarray, y: np.ndarray, n_classes: int, *, l2: float = 1e-2, epochs: int = 400, lr: float = 0.5
) -> np.ndarray:
    w = np.zeros((x.shape[1], n_classes), dtype=np.float64)
    onehot = np.eye(n_classes)[y]
    for _ in range(epochs):
        p = _softmax(x @ w)
        w -= lr * (x.T @ (p - onehot) / len(y) + l2 * w)
    return w


@dataclass
class GapModel:
    gap_w: np.ndarray
    comp_w: np.ndarray
    competencies: list[str]
    threshold: float

    def gap_proba(self, feats: np.ndarray) -> np.ndarray:
        return _sigmoid(feats @ self.gap_w)

    def competency_proba(self, comp_feats: np.ndarray) -> np.ndarray:
        return _softmax(comp_feats @ self.comp_w)

    def save(self, path: Path = MODEL_FILE) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path,
            gap_w=self.gap_w.astype(np.float32),
            comp_w=self.comp_w.astype(np.float32),
            competencies=np.array(self.competencies),
            threshold=np.array(self.threshold),
        )


@lru_cache(maxsize=1)
def load_gap_model(path: Path = MODEL_FILE) -> GapModel | None:
    """The shipped model, or None when it has not been trained (the rule-based detector is used then)."""
    if not path.exists():
        return None
    data = np.load(path)
    return GapModel(
        data["gap_w"].astype(np.float64),
        data["comp_w"].astype(np.float64),
        [str(c) for c in data["competencies"]],
        float(data["threshold"]),
    )
