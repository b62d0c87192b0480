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

from knowledge.catalog import CourseRecord, shipped_catalog
from knowledge.competencies import load_competency_model
from knowledge.embedders import Embedder
from knowledge.retrieval import HybridIndex, Reference
from knowledge.text import sentences

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


def situations_for(records: list[CourseRecord]) -> dict[int, list[str]]:
    """Row → situation sentences, for the records that are unchanged shipped courses."""
    known = shipped_situations()
    out: dict[int, list[str]] = {}
    for i, r in enumerate(records):
        entry = known.get(r.id)
        if entry and entry[0] == r.content_hash and entry[1]:
            out[i] = list(entry[1])
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
    **options: object,
) -> HybridIndex:
    """A HybridIndex over `records` with every signal that is available for them. `learned`: a situation
    classifier trained offline (content hash → column, weights, bias; `shipped_vectors.load_learned`), used when
    it covers every course that has situations here, else the index fits its own (ridge)."""
    texts, owner = view_texts(records)
    views = passages(texts) if texts else None
    situations = situations_for(records) if use_situations else {}
    sit_texts = [s for i in sorted(situations) for s in situations[i]]
    sit_owner = np.asarray([i for i in sorted(situations) for _ in situations[i]], dtype=np.int64)
    reference = None
    if use_reference:
        ref_texts, labels, comps = reference_sentences()
        if ref_texts:
            reference = Reference(queries(list(ref_texts)), np.asarray(labels, dtype=np.int64), comps)
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
        **options,
    )  # type: ignore[arg-type]
