"""Linear classifiers from sentence vectors to courses, for the "learned" list of the hybrid index.

- `train_softmax`: multinomial logistic regression, trained offline on the shipped situations.
- `ridge_classifier`: the closed-form fallback fitted at index build (situations of other catalogs).
- `pseudo_classifier`: ridge onto the courses that borrowed each reference sentence (`knowledge.expansion`).
"""

from __future__ import annotations

import numpy as np


def train_softmax(
    x: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    *,
    l2: float = 1e-3,
    epochs: int = 300,
    lr: float = 2.0,
    scale: float = 20.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression on unit vectors by full-batch gradient descent from zeros (deterministic;
    ~30 s for the shipped situations, so it runs offline): (dim × classes weights, bias), logits = x·w + b."""
    x = np.asarray(x, dtype=np.float32)
    w = np.zeros((x.shape[1], n_classes), dtype=np.float32)
    b = np.zeros(n_classes, dtype=np.float32)
    onehot = np.eye(n_classes, dtype=np.float32)[labels]
    for _ in range(epochs):
        z = scale * (x @ w) + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) / len(labels)
        w -= lr * (scale * (x.T @ g) + l2 * w)
        b -= lr * g.sum(axis=0)
    return w * scale, b


def ridge_classifier(x: np.ndarray, labels: np.ndarray, n_classes: int, lam: float) -> np.ndarray:
    """Closed-form ridge regression onto centred one-hot targets: (dim, n_classes) weights."""
    y = np.eye(n_classes, dtype=np.float64)[labels]
    y -= y.mean(axis=0)
    x64 = x.astype(np.float64)
    return np.linalg.solve(x64.T @ x64 + lam * np.eye(x.shape[1]), x64.T @ y).astype(np.float32)


def pseudo_classifier(
    ref: np.ndarray, rows: np.ndarray, table: np.ndarray, lam: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ridge regression of the reference sentences onto the courses that borrowed them (multi-hot targets)."""
    y = np.zeros((len(ref), len(rows)), dtype=np.float64)
    for j, picks in enumerate(table):
        y[picks[picks >= 0], j] = 1.0
    y -= y.mean(axis=0)
    x64 = ref.astype(np.float64)
    w = np.linalg.solve(x64.T @ x64 + lam * np.eye(ref.shape[1]), x64.T @ y).astype(np.float32)
    return np.ascontiguousarray(w), np.zeros(len(rows), np.float32), rows
