"""doc2query: an LLM (here the loopback OpenAI-compatible stub) writes situation sentences at ingest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.coach.openai_stub import OpenAIStub
from bot.services import Services
from knowledge.base import KnowledgeBase
from knowledge.catalog import CourseRecord, shipped_catalog
from knowledge.doc2query import GeneratedSituations, SituationWriter
from knowledge.embedders import HashingEmbedder

COURSES = [
    CourseRecord("neg-en", "Negotiation basics", "Find the interests behind positions.", ("stakeholder_management",)),
    CourseRecord("sql-zh", "SQL 入门", "练习关联和分组。", ("data_analysis",), "zh"),
]


def _responder(body: dict[str, Any]) -> str:
    course = body["messages"][-1]["content"]
    if "Negotiation" in course:
        return json.dumps(
            {"en": ["The vendor keeps refusing our zorblax terms.", "x" * 500, 3], "zh": ["供应商总是不同意。"]}
        )
    return "not json at all"


def test_ingest_asks_once_per_course_and_the_sentences_reach_the_index(services: Services, tmp_path: Path) -> None:
    stub = OpenAIStub(responder=_responder).start()
    try:
        writer = SituationWriter(api_key="dummy", base_url=stub.url, model="stub")
        kb = KnowledgeBase(
            engine=services.engine, data_dir=tmp_path, embedder=HashingEmbedder(), situation_writer=writer
        )
        catalog = [*COURSES, *shipped_catalog()[:4]]  # the shipped courses have situations: never sent
        report = kb.ingest(catalog, replace=True)
        assert report.described == 1 and len(stub.requests) == 2  # the unparsable reply leaves sql-zh without
        assert "<course>" in stub.requests[0].text  # the course text is delimited as data
        saved = GeneratedSituations(tmp_path).load()
        sentences = saved[COURSES[0].content_hash]
        assert sentences[0] == "The vendor keeps refusing our zorblax terms." and "供应商总是不同意。" in sentences
        assert all(len(s) <= 200 for s in sentences)  # over-long lines are cut, non-strings dropped
        assert [h.course.id for h in kb.search("zorblax", 2, mode="lexical")] == ["neg-en"]  # BM25 indexes them
        kb.ingest(catalog, replace=True)
        assert len(stub.requests) == 3  # only the course without sentences is asked again
    finally:
        stub.stop()


def test_shipped_courses_are_never_sent_and_a_dead_server_changes_nothing(services: Services, tmp_path: Path) -> None:
    writer = SituationWriter(api_key="dummy", base_url="http://127.0.0.1:9/v1", model="stub", timeout=2.0)
    kb = KnowledgeBase(engine=services.engine, data_dir=tmp_path, embedder=HashingEmbedder(), situation_writer=writer)
    report = kb.ingest([*shipped_catalog()[:3], COURSES[0]])
    assert report.described == 0 and report.added == 4
    assert kb.search("negotiation", 1)[0].course.id == "neg-en"
