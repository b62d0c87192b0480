"""Document expansion: any catalog's courses borrow their nearest reference sentences as pseudo-situations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.services import Services
from knowledge.base import KnowledgeBase
from knowledge.catalog import CourseRecord, read_catalog
from knowledge.embedders import make_embedder
from knowledge.expansion import Pool, pick_references, pseudo_scores
from knowledge.retrieval import HybridIndex, Reference

FOREIGN = Path(__file__).resolve().parent.parent / "data" / "foreign_catalog.jsonl"


def _unit(*xs: float) -> np.ndarray:
    v = np.asarray(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


class FixedQuery:
    name, dim = "fixed", 3

    def __init__(self, q: np.ndarray) -> None:
        self.q = q.tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.q for _ in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.q


def _pool(vectors: np.ndarray, tags: list[list[bool]], languages: list[str], owners: list[str] | None = None) -> Pool:
    n = len(tags)
    return Pool(
        np.asarray(vectors, dtype=np.float32),
        np.asarray(tags, dtype=bool),
        np.asarray(languages),
        tuple(f"s{i}" for i in range(n)),
        np.asarray(owners or [""] * n),
    )


def test_pick_references_keeps_the_course_competencies_both_languages_and_never_its_own() -> None:
    # 6 pool sentences: competency 0 in en (rows 0, 1) and zh (row 2), competency 1 (rows 3, 4), none (row 5)
    tags = [[True, False]] * 3 + [[False, True]] * 2 + [[False, False]]
    pool = _pool(np.zeros((6, 3)), tags, ["en", "en", "zh", "en", "zh", "en"], ["", "h0", "", "", "", ""])
    raw = np.asarray([[0.1, 0.9], [0.5, 0.1], [0.2, 0.2], [0.9, 0.3], [0.8, 0.4], [1.0, 1.0]])  # (pool, courses)
    course_tags = np.asarray([[True, False], [False, False]])  # course 0: competency 0; course 1: none
    keys = np.asarray(["h0", "h1"])
    table = pick_references(raw, pool, course_tags, keys, 1, np.asarray([0, 1]))
    assert table[0].tolist() == [0, 2]  # its own competency; row 1 is nearer but was written for course 0 itself
    assert table[1].tolist() == [0, 4]  # no competency: any sentence that has one, never the untagged row 5
    sims = np.asarray([0.3, 0.1, 0.5, 0, 0, 0])
    np.testing.assert_allclose(pseudo_scores(sims, table), [0.4, 0.15])
    np.testing.assert_allclose(pseudo_scores(sims, table, "mean"), [0.4, 0.15])


def test_the_pool_prior_votes_with_the_nearest_tagged_sentences() -> None:
    vecs = np.asarray([_unit(1, 0, 0), _unit(1, 0.1, 0), _unit(0, 1, 0), _unit(1, 0.05, 0)])
    pool = _pool(vecs, [[True, False], [True, True], [False, True], [False, False]], ["en"] * 4)
    dist = pool.competency_distribution(_unit(1, 0, 0), k=2, temperature=1.0)
    assert dist[0] > dist[1] > 0 and abs(dist.sum() - 1) < 1e-9  # the two-competency sentence splits its vote
    assert pool.competency_distribution(_unit(0, 1, 0), k=1)[1] == 1.0


def test_courses_without_situations_take_the_pool_prior() -> None:
    courses = [CourseRecord("p", "Plan", "", ("planning",)), CourseRecord("f", "Feedback", "", ("feedback",))]
    emb = FixedQuery(_unit(1, 0, 0))
    vecs = np.asarray([_unit(0.5, 1, 0), _unit(0.55, 1, 0)])  # dense alone prefers "f"
    ref = np.asarray([_unit(0, 0.1 * i, 1) for i in range(12)], np.float32)  # reference: far, all feedback
    reference = Reference(ref, np.ones(12, dtype=np.int64), ("planning", "feedback"))
    pool = _pool(np.vstack([ref, [_unit(1, 0.01, 0)]]), [[False, True]] * 12 + [[True, False]], ["en"] * 13)
    plain = HybridIndex(courses, vecs, emb, reference=reference, calibrate_languages=False, pool=pool)
    assert [h.course.id for h in plain.search("q", 2, weights=(1.0, 0.0, 0.0))] == ["f", "p"]
    index = HybridIndex(courses, vecs, emb, reference=reference, calibrate_languages=False, pool=pool, prior_pool=True)
    assert [h.course.id for h in index.search("q", 2, weights=(1.0, 0.0, 0.0))] == ["p", "f"]


def test_a_course_is_found_through_the_sentences_it_borrowed() -> None:
    # "plan" reads unlike the query, but the planning sentences near it are close to the query
    courses = [
        CourseRecord("plan", "Plan", "", ("planning",)),
        CourseRecord("fb", "Feedback", "", ("feedback",)),
        CourseRecord("misc", "Misc", "", ("feedback",)),
    ]
    vecs = np.asarray([_unit(1, 0.3, 0), _unit(1, 0.4, 0.3), _unit(0, 0, 1)])
    emb = FixedQuery(_unit(0.4, 1, 0))
    rng = np.random.default_rng(0)
    planning = [_unit(1, 0.6 + 0.05 * i, 0) for i in range(6)]  # near "plan" and near the query
    feedback = [_unit(*(np.abs(rng.normal(size=3)) + [0, 0, 1])) for _ in range(6)]
    ref = np.asarray(planning + feedback, dtype=np.float32)
    reference = Reference(ref, np.asarray([0] * 6 + [1] * 6), ("planning", "feedback"))
    pool = _pool(ref, [[True, False]] * 6 + [[False, True]] * 6, ["en"] * 12)
    pool = Pool(pool.vectors, pool.tags, pool.languages, pool.texts, pool.owners, reference_rows=12)
    plain = HybridIndex(courses, vecs, emb, reference=reference, prior_strength=0.0, pool=pool)
    expanded = HybridIndex(courses, vecs, emb, reference=reference, prior_strength=0.0, pool=pool, expansion=2)
    assert plain._pseudo is None and expanded._pseudo is not None  # noqa: SLF001
    q = np.asarray(emb.q, dtype=np.float32)
    assert np.argmax(expanded.dense_scores(q) - plain.dense_scores(q)) == 0  # "plan" gains the most


@pytest.mark.slow
def test_a_foreign_catalog_answers_paraphrases_across_languages(sqlite_services: Services, tmp_path: Path) -> None:
    """A catalog the retrieval was never tuned on, searched with paraphrases in the other language."""
    kb = KnowledgeBase(engine=sqlite_services.engine, data_dir=tmp_path, embedder=make_embedder(None))
    kb.ingest(read_catalog(FOREIGN), replace=True)
    cases = {
        "给同事的代码提修改意见时，对方总觉得我说话很冲。": "lx-fb-05",  # an English course
        "When a client leaves us I never find out the real reason they quit.": "lx-ci-04",  # a Chinese course
        "I want to stop saying yes to the VP every time she adds work we can't absorb.": "lx-sm-04",
    }
    for query, target in cases.items():
        assert target in [h.course.id for h in kb.search(query, 5)], query
