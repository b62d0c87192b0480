"""Hybrid retrieval: BM25 equals rank-bm25, fusion beats single methods, filters and personalisation."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from bot import learning
from bot.services import Services
from knowledge.assemble import SITUATIONS, build_index, situations_for
from knowledge.base import KnowledgeBase
from knowledge.catalog import CourseRecord, shipped_catalog
from knowledge.embedders import HashingEmbedder
from knowledge.evaluation import ndcg_at
from knowledge.retrieval import Filters, HybridIndex, LexicalIndex, Preferences, Reference, _run_table, _top2_mean
from knowledge.text import detect_language, tokenize
from storage.db import session_scope
from storage.models import DevelopmentPoint, LearningRecord, Person

CONCEPTS = {
    "declin": 0,
    "refuse": 0,
    "拒绝": 0,
    "nervou": 1,
    "anxiety": 1,
    "stage": 1,
    "紧张": 1,
    "sql": 2,
    "query": 2,
    "join": 2,
    "coach": 3,
    "mentor": 3,
    "辅导": 3,
}


class ConceptEmbedder:
    """A stand-in for a semantic model: synonyms (across languages) share a dimension."""

    name, dim = "concept", 8

    def _vec(self, text: str) -> list[float]:
        v = np.full(self.dim, 1e-3, dtype=np.float32)
        for tok in tokenize(text):
            if tok in CONCEPTS:
                v[CONCEPTS[tok]] += 1
        return (v / np.linalg.norm(v)).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vec(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vec(text)


def _course(
    cid: str, title: str, lang: str = "en", comps: tuple[str, ...] = (), minutes: int = 10, fmt: str = "article"
) -> CourseRecord:
    return CourseRecord(cid, title, "", comps, lang, minutes, fmt)


def test_lexical_scores_equal_rank_bm25() -> None:
    docs = [tokenize(c.text) for c in shipped_catalog()[:40]]
    query = tokenize("give feedback on a presentation to a senior stakeholder 反馈")
    np.testing.assert_allclose(LexicalIndex(docs).scores(query), BM25Okapi(docs).get_scores(query), rtol=1e-4)


def test_hybrid_beats_each_single_method_on_a_fixture() -> None:
    courses = [
        _course("okr", "Writing OKRs that matter"),
        _course("retro", "Running a retrospective"),
        _course("decline", "Declining requests politely"),
        _course("stage", "Handling stage anxiety"),
        _course("sqlj", "Joins for analysts"),
        _course("kanban", "Kanban boards for small teams"),
    ]
    emb = ConceptEmbedder()
    index = HybridIndex(courses, np.asarray(emb.embed_documents([c.text for c in courses])), emb)
    labelled = {
        "kanban board for my team": "kanban",  # rare exact term: only BM25 finds it
        "how to refuse extra work": "decline",  # synonyms: only the dense side finds it
        "I get nervous before presenting on stage": "stage",
        "writing sql query joins": "sqlj",
    }

    def score(mode: str) -> float:
        return float(
            np.mean(
                [ndcg_at([h.course.id for h in index.search(q, 3, mode=mode)], {cid: 3}) for q, cid in labelled.items()]
            )
        )

    hybrid, dense, lexical = score("hybrid"), score("dense"), score("lexical")
    assert hybrid > max(dense, lexical)


def test_filters() -> None:
    courses = [
        _course("a", "Feedback basics", "en", ("feedback",), 5, "video"),
        _course("b", "Feedback deep dive", "en", ("feedback",), 30, "article"),
        _course("c", "反馈入门", "zh", ("feedback",), 10, "video"),
        _course("d", "Planning your week", "en", ("planning",), 10, "article"),
    ]
    emb = ConceptEmbedder()
    index = HybridIndex(courses, np.asarray(emb.embed_documents([c.text for c in courses])), emb)

    def ids(**f: object) -> set[str]:
        return {h.course.id for h in index.search("feedback", 10, filters=Filters(**f))}  # type: ignore[arg-type]

    assert ids(language="zh") == {"c"}
    assert ids(competency="planning") == {"d"}
    assert ids(max_minutes=10) == {"a", "c", "d"}
    assert ids(format="video") == {"a", "c"}
    assert "a" not in ids(exclude=frozenset({"a"}))
    boosted = index.search(
        "feedback", 4, prefs=Preferences(competencies=frozenset({"planning"}), competency_boost=50.0)
    )
    assert boosted[0].course.id == "d"


def test_odd_queries_always_answer(kb: KnowledgeBase) -> None:
    kb.ensure_seeded()
    for q in ["", "   ", "🙂🙂🙂", "x" * 10_000, "ÆØÅ ŋ ʃ ʒ", "Как дать обратную связь?"]:
        assert len(kb.search(q, 3)) == 3


def _person(services: Services, slack_id: str, locale: str) -> None:
    with session_scope(services.engine) as s:
        s.add(Person(slack_id=slack_id, name=slack_id, locale=locale, role="engineering manager"))


def test_personalisation_drops_completed_downranks_not_relevant(services: Services, kb: KnowledgeBase) -> None:
    kb.ensure_seeded()
    _person(services, "U1", "en")
    before = learning.recommend(services, person_slack_id="U1", topic="giving feedback to a colleague", k=3)[1]
    first, second = before[0].course_id, before[1].course_id
    with session_scope(services.engine) as s:
        s.add(LearningRecord(person_slack_id="U1", course_id=first, status="completed"))
        s.add(LearningRecord(person_slack_id="U1", course_id=second, status="not_relevant"))
    after = [
        x.course_id
        for x in learning.recommend(services, person_slack_id="U1", topic="giving feedback to a colleague", k=10)[1]
    ]
    assert first not in after
    assert second not in after[:3] and second in after


def test_language_preference_with_fallback(services: Services, kb: KnowledgeBase) -> None:
    kb.ensure_seeded()
    _person(services, "UZH", "zh")
    _person(services, "UEN", "en")
    zh = learning.recommend(services, person_slack_id="UZH", topic="feedback 反馈", k=3)[1]
    en = learning.recommend(services, person_slack_id="UEN", topic="feedback 反馈", k=3)[1]
    assert zh[0].course_id.endswith("-zh") and sum(x.course_id.endswith("-zh") for x in zh) >= 2
    assert en[0].course_id.endswith("-en") and sum(x.course_id.endswith("-en") for x in en) >= 2
    # English topics for a Chinese speaker and the other way round: the person's language only, as long as the
    # catalog has courses on it (each of these gave one course in the other language before the language came first)
    for person, topic, lang in (
        ("UEN", "time management", "-en"),
        ("UEN", "presenting to execs", "-en"),
        ("UEN", "项目管理", "-en"),
        ("UZH", "数据分析", "-zh"),
    ):
        got = [x.course_id for x in learning.recommend(services, person_slack_id=person, topic=topic, k=3)[1]]
        assert len(got) == 3 and all(c.endswith(lang) for c in got), (topic, got)
    # a topic only English courses cover still answers the Chinese speaker (fallback to the other language)
    kb.ingest([*shipped_catalog(), _course("only-en", "Zorblax certification prep", "en")])
    assert "only-en" in [x.course_id for x in learning.recommend(services, person_slack_id="UZH", topic="zorblax")[1]]


def test_propose_actions_per_point(services: Services, kb: KnowledgeBase) -> None:
    kb.ensure_seeded()
    _person(services, "U2", "zh")
    with session_scope(services.engine) as s:
        p1 = DevelopmentPoint(person_slack_id="U2", competency="data_analysis", evidence="周报里的数据口径总是对不上")
        p2 = DevelopmentPoint(person_slack_id="U2", competency="coaching", evidence="新人问问题时我直接给答案")
        s.add(p1)
        s.add(p2)
        s.flush()
    out = learning.propose_actions(services, person_slack_id="U2", points=[p1, p2])
    assert [len(a) for _, a in out] == [3, 3]
    ids = [a.course_id for _, acts in out for a in acts]
    assert len(set(ids)) == 6
    assert all(a.status == "proposed" and a.kind == "course" and a.id and "数据分析" in a.why for a in out[0][1])
    assert all(a.point_id == p2.id and "培养他人" in a.why for a in out[1][1])
    assert {"data_analysis"} <= set(next(c for c in shipped_catalog() if c.id == ids[0]).competencies)


def test_learning_questions() -> None:
    for q in [
        "what should I learn next?",
        "Any course recommendations?",
        "What can I study to improve?",
        "我接下来该学什么？",
        "推荐几门课吧",
        "有什么课可以提升沟通",
    ]:
        assert learning.is_learning_question(q), q
    for q in ["hello", "thanks!", "我明天请假", "the deploy broke"]:
        assert not learning.is_learning_question(q), q
    assert learning.topic_of("what should I learn about negotiation?") == "negotiation"


class FixedQuery:
    """An embedder whose query vector is fixed, so tests can place course vectors by hand."""

    name, dim = "fixed", 3

    def __init__(self, q: list[float]) -> None:
        self.q = q

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.q for _ in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.q


def _unit(*xs: float) -> list[float]:
    v = np.asarray(xs, dtype=np.float32)
    return (v / np.linalg.norm(v)).tolist()


def test_language_calibration_lets_the_best_other_language_course_through() -> None:
    # every English passage scores higher than every Chinese one (the model's own-language bias), yet the
    # Chinese course that stands out among the Chinese ones is as strong a match as the best English one
    en = [_course(f"en{i}", f"English {i}") for i in range(4)]
    zh = [_course(f"zh{i}", f"中文 {i}", lang="zh") for i in range(4)]
    vecs = [_unit(1, x, 0) for x in (0.1, 0.6, 0.7, 0.8)] + [_unit(0.6, 1, x) for x in (0.3, 1.5, 1.6, 1.7)]
    emb = FixedQuery(_unit(1, 0, 0))
    raw = HybridIndex(en + zh, np.asarray(vecs), emb, calibrate_languages=False)
    calibrated = HybridIndex(en + zh, np.asarray(vecs), emb)
    assert [h.course.id for h in raw.search("q", 2, mode="dense")] == ["en0", "en1"]
    assert {h.course.id for h in calibrated.search("q", 2, mode="dense")} == {"en0", "zh0"}
    # within one language the order is the model's
    assert [h.course.id for h in calibrated.search("q", 4, mode="dense", filters=Filters(language="zh"))] == [
        "zh0",
        "zh1",
        "zh2",
        "zh3",
    ]


def test_a_matching_sentence_view_lifts_its_course() -> None:
    courses = [_course("a", "A"), _course("b", "B"), _course("c", "C")]
    emb = FixedQuery(_unit(1, 0, 0))
    vecs = np.asarray([_unit(1, 0.8, 0), _unit(1, 0.9, 0), _unit(1, 1.0, 0)])  # whole texts: a > b > c
    plain = HybridIndex(courses, vecs, emb)
    assert [h.course.id for h in plain.search("q", 3, mode="dense")] == ["a", "b", "c"]
    # c has one sentence that says exactly what the query asks; b has two unrelated ones; a has none
    views = np.asarray([_unit(1, 0, 0), _unit(0, 1, 0), _unit(0, 1, 0), _unit(0, 0, 1)])
    index = HybridIndex(courses, vecs, emb, views=views, view_owner=np.asarray([2, 2, 1, 1]))
    assert [h.course.id for h in index.search("q", 3, mode="dense")] == ["c", "a", "b"]
    np.testing.assert_allclose(index.dense_scores("q")[0], plain.dense_scores("q")[0])  # no views: unchanged


def test_hub_correction_ranks_a_course_by_how_unusually_close_it_is() -> None:
    # "hub" is fairly close to every query; "niche" is slightly less close to this query but far from all others
    courses = [_course("hub", "Hub"), _course("niche", "Niche"), _course("other", "Other")]
    vecs = np.asarray([_unit(1, 1, 1), _unit(1, 0.2, 0), _unit(0, 0, 1)])
    emb = FixedQuery(_unit(1, 0.6, 0.6))
    rng = np.random.default_rng(0)
    ref = np.abs(rng.normal(size=(40, 3))) * [0.1, 1, 1] + [0.0, 0.2, 0.2]  # reference queries: rarely like "niche"
    reference = Reference((ref / np.linalg.norm(ref, axis=1, keepdims=True)).astype(np.float32), np.full(40, -1), ())
    plain = HybridIndex(courses, vecs, emb)
    corrected = HybridIndex(courses, vecs, emb, reference=reference)
    assert plain.search("q", 1, mode="dense")[0].course.id == "hub"
    assert corrected.search("q", 1, mode="dense")[0].course.id == "niche"


def test_covers_needs_a_shared_word_or_an_unusually_close_course() -> None:
    courses = [_course("a", "Negotiation basics"), _course("b", "Feedback"), _course("c", "Planning")]
    vecs = np.asarray([_unit(1, 0, 0), _unit(0, 1, 0), _unit(0.7, 0.7, 0)])
    rng = np.random.default_rng(1)
    ref = np.abs(rng.normal(size=(40, 3)))
    reference = Reference((ref / np.linalg.norm(ref, axis=1, keepdims=True)).astype(np.float32), np.full(40, -1), ())
    near, far = _unit(1, 0.05, 0), _unit(0.05, 0.05, 1)  # far: closer to no course than the reference queries are
    assert HybridIndex(courses, vecs, FixedQuery(near), reference=reference).covers("zzz") is True
    assert HybridIndex(courses, vecs, FixedQuery(far), reference=reference).covers("zzz") is False
    assert HybridIndex(courses, vecs, FixedQuery(far), reference=reference).covers("negotiation") is True  # a word
    assert HybridIndex(courses, vecs, FixedQuery(far)).covers("zzz") is None  # no reference queries: no scale


def test_a_check_then_a_search_embed_the_query_once() -> None:
    calls: list[str] = []

    class Counting(FixedQuery):
        def embed_query(self, text: str) -> list[float]:
            calls.append(text)
            return self.q

    courses = [_course("a", "Negotiation basics"), _course("b", "Feedback"), _course("c", "Planning")]
    index = HybridIndex(courses, np.asarray([_unit(1, 0, 0), _unit(0, 1, 0), _unit(0, 0, 1)]), Counting(_unit(1, 0, 0)))
    index.query_vector("zzz")
    index.search("zzz", 2)
    index.search("other", 2)
    assert calls == ["zzz", "other"]


def test_competency_prior_follows_the_nearest_reference_sentences() -> None:
    courses = [_course("p", "Plan", comps=("planning",)), _course("f", "Feedback", comps=("feedback",))]
    emb = FixedQuery(_unit(1, 0, 0))
    vecs = np.asarray([_unit(0.5, 1, 0), _unit(0.55, 1, 0)])  # dense alone prefers "f"
    # reference sentences near the query are labelled planning, the far ones feedback
    ref = np.asarray([_unit(1, 0.1 * i, 0) for i in range(6)] + [_unit(0, 0.1 * i, 1) for i in range(6)], np.float32)
    labels = np.asarray([0] * 6 + [1] * 6)
    reference = Reference(ref, labels, ("planning", "feedback"))
    dist = reference.competency_distribution(np.asarray(_unit(1, 0, 0), np.float32))
    assert dist[0] > 0.99 and abs(dist.sum() - 1) < 1e-9
    index = HybridIndex(courses, vecs, emb, reference=reference, calibrate_languages=False, prior_strength=0.0)
    assert [h.course.id for h in index.search("q", 2, weights=(1.0, 0.0, 0.0))] == ["f", "p"]
    index.prior_strength = 1.0
    assert [h.course.id for h in index.search("q", 2, weights=(1.0, 0.0, 0.0))] == ["p", "f"]
    assert [h.course.id for h in index.search("q", 2, mode="dense")] == ["f", "p"]  # the dense list alone: no prior


def test_situations_lift_their_course_in_every_channel() -> None:
    courses = [_course("a", "Alpha"), _course("b", "Beta"), _course("c", "Gamma")]
    emb = FixedQuery(_unit(0, 0, 1))
    vecs = np.asarray([_unit(1, 0, 0.3), _unit(0, 1, 0.2), _unit(1, 1, 0.1)])  # whole texts: a > b > c
    sit = np.asarray([_unit(0, 0, 1), _unit(0.2, 0, 1), _unit(1, 0, 0), _unit(0, 1, 0)], np.float32)
    index = HybridIndex(
        courses,
        vecs,
        emb,
        situations=sit,
        situation_owner=np.asarray([2, 2, 0, 1]),
        situation_texts={2: ["my zorblax keeps failing"]},
    )
    assert HybridIndex(courses, vecs, emb).search("q", 1, mode="dense")[0].course.id == "a"
    assert index.search("q", 1, mode="dense")[0].course.id == "c"
    assert index.search("q", 1, mode="learned")[0].course.id == "c"
    assert [h.course.id for h in index.search("zorblax", 3, mode="lexical")] == ["c"]  # their text is indexed
    assert index.learned_scores(np.asarray(_unit(0, 0, 1), np.float32)) is not None
    assert HybridIndex(courses, vecs, emb).learned_scores(np.asarray(_unit(0, 0, 1), np.float32)) is None


def test_top2_mean_per_run() -> None:
    table = _run_table(np.asarray([0, 3, 4]), 6)
    sims = np.asarray([[1.0, 3, 2, 5, 0.5, 0.7], [0, 0, 1, 2, 3, 4]])
    np.testing.assert_allclose(_top2_mean(sims, table), [[2.5, 5.0, 0.6], [0.5, 2.0, 3.5]])
    np.testing.assert_allclose(_top2_mean(sims[0], table), [2.5, 5.0, 0.6])


def test_shipped_situations_cover_the_catalog_and_only_unchanged_courses() -> None:
    catalog = shipped_catalog()
    rows = [json.loads(line) for line in SITUATIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert sorted(r["id"] for r in rows) == sorted(c.id for c in catalog)
    assert all(len(r["en"]) >= 3 and len(r["zh"]) >= 3 for r in rows)
    assert all(detect_language(s) == lang for r in rows for lang in ("en", "zh") for s in r[lang])
    found = situations_for(catalog)
    assert len(found) == len(catalog)
    edited = dataclasses.replace(catalog[0], summary=catalog[0].summary + " Now with a new module.")
    assert situations_for([edited, catalog[1]]) == {1: found[1]}  # an edited course no longer has them


def test_knowledge_base_index_has_every_signal(kb: KnowledgeBase) -> None:
    kb.ensure_seeded()
    index = kb.index()
    assert index.reference is not None and len(index.reference.vectors) > 100
    assert index.learned_scores(index.query_vector("q")) is not None
    assert (kb.data_dir / f"queries.{kb.embedder.name}.npz").exists()  # embedded once, cached in the data dir


def test_an_offline_classifier_is_used_only_when_it_covers_every_course_with_situations() -> None:
    courses = [_course("a", "Alpha"), _course("b", "Beta"), _course("c", "Gamma")]
    emb = FixedQuery(_unit(0, 0, 1))
    vecs = np.asarray([_unit(1, 0, 0.3), _unit(0, 1, 0.2), _unit(1, 1, 0.1)])
    sit = np.asarray([_unit(0, 0, 1), _unit(1, 0, 0), _unit(0, 1, 0)], np.float32)
    # an offline classifier that, unlike the situations, says "b" for this query
    w = np.asarray([[0.0, 0.0], [0.0, 0.0], [0.0, 5.0]], np.float32)  # columns: courses 0 and 1 (rows of `owner`)
    index = HybridIndex(
        courses,
        vecs,
        emb,
        situations=sit,
        situation_owner=np.asarray([0, 0, 1]),
        learned_weights=(w, np.asarray([0.0, 0.1], np.float32)),
    )
    assert index.search("q", 1, mode="learned")[0].course.id == "b"
    np.testing.assert_allclose(index.learned_scores(np.asarray(_unit(0, 0, 1), np.float32))[:2], [0.0, 5.1])
    fitted = HybridIndex(courses, vecs, emb, situations=sit, situation_owner=np.asarray([0, 0, 1]))
    assert fitted.search("q", 1, mode="learned")[0].course.id == "a"  # ridge on the situations themselves


def test_build_index_maps_the_offline_classifier_by_content_hash(hashing: object) -> None:
    catalog = shipped_catalog()[:3]
    dim = 256
    rng = np.random.default_rng(1)
    w, b = rng.normal(size=(dim, 3)).astype(np.float32), np.asarray([0.1, 0.2, 0.3], np.float32)
    column = {catalog[2].content_hash: 0, catalog[0].content_hash: 1, catalog[1].content_hash: 2}
    emb = HashingEmbedder(dim)

    def lookup(texts: list[str]) -> np.ndarray:
        return np.asarray(emb.embed_documents(texts), np.float32).reshape(len(texts), dim)

    vectors = lookup([c.text for c in catalog])
    index = build_index(catalog, vectors, emb, passages=lookup, queries=lookup, learned=(column, w, b))
    np.testing.assert_allclose(index._learned[0], w[:, [1, 2, 0]])  # noqa: SLF001 (column order = row order)
    np.testing.assert_allclose(index._learned[1], b[[1, 2, 0]])  # noqa: SLF001
    partial = {catalog[0].content_hash: 0, catalog[1].content_hash: 1}  # one course not covered: fit here instead
    index = build_index(catalog, vectors, emb, passages=lookup, queries=lookup, learned=(partial, w, b))
    np.testing.assert_array_equal(index._learned[1], 0.0)  # noqa: SLF001 (the ridge fit has no bias)


def test_seeding_loses_the_race_to_another_process_without_failing(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """serve and a worker start together on a new database: both count no courses, one insert wins."""
    from sqlalchemy.exc import IntegrityError

    import knowledge.base as base
    from storage.courses import count_courses, upsert_courses
    from storage.db import session_scope

    def losing_insert(*, session: object, records: list) -> dict:
        with session_scope(kb.engine) as other:  # the other process inserts and commits first...
            upsert_courses(session=other, records=records)
        raise IntegrityError("INSERT INTO course", {}, Exception('duplicate key value violates "course_pkey"'))

    monkeypatch.setattr(base, "upsert_courses", losing_insert)
    assert kb.ensure_seeded() == 0  # ... and this one goes on with the catalog it finds
    with session_scope(kb.engine) as session:
        assert count_courses(session=session) == len(base.shipped_catalog())
