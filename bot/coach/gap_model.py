"""A small learned gap model over e5 sentence embeddings plus lexical features (pure numpy at run time).

Trained offline by `bench/train_gap_model.py` on `knowledge/data/gap_training.jsonl` (sentences written for
training only; the evaluation transcripts are never used), saved as `bot/coach/data/gap_model.npz`. Parts:

* gap head: logistic regression, P(gap | sentence);
* competency head: softmax regression over the embedding and the competency cue hits;
* neighbour bank: the training gap sentences and the competency descriptors, so that a story-told gap can be
  matched to the most similar written stories of each competency (k nearest, mean cosine);
* `mix`: how the two competency signals are combined (neighbour weight, temperature, k: chosen by grouped
  cross-validation on the training sentences) and the scale of the cue features in the head (`cue_scale`).

The model is read-only once loaded, so listener threads and the analysis thread can share it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from bot.coach.gaps import gap_features

MODEL_FILE = Path(__file__).parent / "data" / "gap_model.npz"
DEFAULT_MIX = {"knn": 1.0, "temp": 0.05, "k": 3.0, "cue_scale": 1.0}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def featurize(embeddings: np.ndarray, sentences: Sequence[str], managers: Sequence[bool]) -> np.ndarray:
    """Gap-head features: the embedding, the lexical features of `bot.coach.gaps`, a bias."""
    lex = np.array(
        [gap_features(s, author_is_manager=m) for s, m in zip(sentences, managers, strict=True)], dtype=np.float32
    ).reshape(len(sentences), -1)
    return np.hstack([embeddings.astype(np.float32), lex, np.ones((len(sentences), 1), np.float32)])


def comp_features(embeddings: np.ndarray, cue_hits: np.ndarray, cue_scale: float = 1.0) -> np.ndarray:
    """Competency-head features: the embedding, the (capped) cue hits per competency scaled by `cue_scale`, a bias.

    A small scale keeps the cue words from dominating the nearly unregularised head: cue words mostly name the
    setting of a story (a customer, a dashboard), not the behaviour that makes it a gap."""
    cues = cue_scale * np.minimum(np.asarray(cue_hits, dtype=np.float32), 2.0) / 2
    return np.hstack([embeddings.astype(np.float32), cues, np.ones((len(embeddings), 1), np.float32)])


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
    """Multinomial logistic regression by full-batch gradient descent (deterministic)."""
    w = np.zeros((x.shape[1], n_classes), dtype=np.float64)
    onehot = np.eye(n_classes)[y]
    for _ in range(epochs):
        p = softmax(x @ w)
        w -= lr * (x.T @ (p - onehot) / len(y) + l2 * w)
    return w


def neighbour_scores(emb: np.ndarray, bank: np.ndarray, labels: np.ndarray, n_classes: int, k: int) -> np.ndarray:
    """(n, classes): mean cosine similarity of each row of `emb` to its `k` nearest bank rows of each class."""
    sims = np.asarray(emb, dtype=np.float32) @ bank.T
    out = np.full((len(sims), n_classes), -1.0, dtype=np.float32)
    for c in range(n_classes):
        cols = sims[:, labels == c]
        if cols.shape[1] == 0:
            continue
        kk = min(k, cols.shape[1])
        out[:, c] = np.partition(cols, cols.shape[1] - kk, axis=1)[:, -kk:].mean(axis=1)
    return out


def combine_competency(head_logp: np.ndarray, knn: np.ndarray, mix: dict[str, float]) -> np.ndarray:
    """Log-scores per competency: the head's log-probability plus the neighbours' tempered log-softmax."""
    return head_logp + mix["knn"] * log_softmax(knn / mix["temp"])


@dataclass(frozen=True)
class GapModel:
    gap_w: np.ndarray
    comp_w: np.ndarray
    competencies: list[str]
    threshold: float
    bank: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    bank_labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))

    def gap_proba(self, feats: np.ndarray) -> np.ndarray:
        return _sigmoid(feats @ self.gap_w)

    def competency_proba(self, comp_feats: np.ndarray) -> np.ndarray:
        return softmax(comp_feats @ self.comp_w)

    def competency_logits(self, emb: np.ndarray, cue_hits: np.ndarray) -> np.ndarray:
        """(n, competencies) log-scores for gap sentences; softmax them for a distribution."""
        head = log_softmax(comp_features(emb, cue_hits, self.mix.get("cue_scale", 1.0)) @ self.comp_w)
        if not len(self.bank):
            return head
        knn = neighbour_scores(emb, self.bank, self.bank_labels, len(self.competencies), int(self.mix["k"]))
        return combine_competency(head, knn, self.mix)

    def save(self, path: Path = MODEL_FILE) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path,
            gap_w=self.gap_w.astype(np.float32),
            comp_w=self.comp_w.astype(np.float32),
            competencies=np.array(self.competencies),
            threshold=np.array(self.threshold),
            bank=self.bank.astype(np.float16),
            bank_labels=self.bank_labels.astype(np.int16),
            mix_keys=np.array(list(self.mix)),
            mix_values=np.array(list(self.mix.values()), dtype=np.float64),
        )


@lru_cache(maxsize=1)
def load_gap_model(path: Path = MODEL_FILE) -> GapModel | None:
    """The shipped model, or None when it has not been trained (the rule-based detector is used then)."""
    if not path.exists():
        return None
    data = np.load(path)
    files = set(data.files)
    bank = data["bank"].astype(np.float32) if "bank" in files else np.zeros((0, 0), np.float32)
    labels = data["bank_labels"].astype(np.int64) if "bank_labels" in files else np.zeros(0, np.int64)
    mix = dict(DEFAULT_MIX)
    if "mix_keys" in files:
        mix.update({str(k): float(v) for k, v in zip(data["mix_keys"], data["mix_values"], strict=True)})
    return GapModel(
        data["gap_w"].astype(np.float64),
        data["comp_w"].astype(np.float64),
        [str(c) for c in data["competencies"]],
        float(data["threshold"]),
        bank,
        labels,
        mix,
    )
