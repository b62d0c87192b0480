"""Ingest: upsert by id, --replace, content hash (unchanged courses are not re-embedded), CLI search --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from knowledge.base import KnowledgeBase
from knowledge.catalog import shipped_catalog
from knowledge.embedders import HashingEmbedder
from knowledge.text import sentences
from storage.courses import list_courses
from storage.db import session_scope


def _ids(kb: KnowledgeBase) -> set[str]:
    with session_scope(kb.engine) as s:
        return {c.id for c in list_courses(session=s)}


def test_upsert_replace_and_no_reembed(kb: KnowledgeBase, hashing: HashingEmbedder) -> None:
    courses = shipped_catalog()[:20]
    views = len({s for c in courses for s in sentences(c.summary)})  # summary sentences are embedded once too
    first = kb.ingest(courses)
    assert (first.added, first.embedded, hashing.embedded) == (20, 20, 20 + views)
    again = kb.ingest(courses)
    assert (again.unchanged, again.embedded, hashing.embedded) == (20, 0, 20 + views)  # nothing re-embedded
    changed = [replace(courses[0], title="A new title"), *courses[1:5]]
    upd = kb.ingest(changed)  # the summary is unchanged: only the course text is embedded again
    assert (upd.changed, upd.unchanged, upd.embedded, hashing.embedded) == (1, 4, 1, 21 + views)
    assert _ids(kb) == {c.id for c in courses} and kb.store.count() == 20
    rep = kb.ingest(changed, replace=True)
    assert rep.removed == 15 and _ids(kb) == {c.id for c in changed} and kb.store.count() == 5
    assert hashing.embedded == 21 + views
    assert kb.search("A new title", 1)[0].course.title == "A new title"


def test_rebuild_and_seed(kb: KnowledgeBase, hashing: HashingEmbedder) -> None:
    assert kb.ensure_seeded() == len(shipped_catalog())
    assert kb.ensure_seeded() == 0
    assert kb.search("feedback", 3)  # vectors follow the store lazily
    assert kb.rebuild() == len(shipped_catalog()) and kb.store.count() == len(shipped_catalog())


def test_a_catalog_emptied_on_purpose_is_not_reseeded(kb: KnowledgeBase) -> None:
    assert kb.ensure_seeded() == len(shipped_catalog())
    rep = kb.ingest([], replace=True)  # `knowledge ingest empty.jsonl --replace`
    assert rep.removed == len(shipped_catalog()) and _ids(kb) == set()
    assert kb.ensure_seeded() == 0 and _ids(kb) == set()  # the next start does not bring the shipped one back
    assert kb.search("giving feedback", 3) == []


def test_bad_file_writes_nothing(tmp_path: Path) -> None:
    from bot.cli import app

    bad = tmp_path / "bad.jsonl"
    rows = [json.loads(line) for line in (Path("knowledge/data/catalog.jsonl").read_text().splitlines()[:3])]
    rows[2]["duration_minutes"] = -3
    bad.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    env = {"GROWTHLOOP_DATA_DIR": str(tmp_path / "d"), "GROWTHLOOP_EMBEDDER": "hash"}
    res = CliRunner().invoke(app, ["knowledge", "ingest", str(bad)], env=env)
    assert res.exit_code == 2 and "line 3" in res.output and "nothing was written" in res.output
    assert not (tmp_path / "d" / "chroma").exists()
    rows[0]["id"] = ""  # two bad lines: both listed, each with its number
    bad.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    res = CliRunner().invoke(app, ["knowledge", "ingest", str(bad)], env=env)
    assert res.exit_code == 2 and "2 bad lines; nothing was written" in res.output
    assert f"{bad}:1: missing id" in res.output and f"{bad}:3: course" in res.output


@pytest.mark.slow
def test_cli_ingest_and_search_json(tmp_path: Path) -> None:
    env = {**os.environ, "GROWTHLOOP_DATA_DIR": str(tmp_path), "GROWTHLOOP_EMBEDDER": "hash"}
    env.pop("DATABASE_URL", None)
    env.pop("CHROMA_URL", None)
    csv_file = tmp_path / "c.csv"
    csv_file.write_text(
        "id,title,summary,competencies,language,duration_minutes,format,url\n"
        "neg-en,Negotiation basics,Find the interests behind positions,stakeholder_management,en,10,"
        "video,\nsql-en,SQL for analysts,Joins and group by,data_analysis,en,15,exercise,\n"
    )
    cli = [sys.executable, "-m", "bot.cli"]
    out = subprocess.run(
        [*cli, "knowledge", "ingest", str(csv_file), "--replace"], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "2 added" in out.stdout
    res = subprocess.run(
        [*cli, "knowledge", "search", "negotiation interests", "--json", "--k", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    rows = json.loads(res.stdout)
    assert rows[0]["id"] == "neg-en"
    assert {"id", "title", "score"} <= set(rows[0]) and rows[0]["score"] >= rows[-1]["score"]


def test_a_damaged_vector_cache_is_rebuilt_not_fatal(kb: KnowledgeBase, hashing: HashingEmbedder) -> None:
    """An empty or half-written cache file (a process killed while writing, before writes were atomic) is no cache."""
    import numpy as np

    cache = kb.data_dir / f"views.{hashing.name}.npz"
    cache.write_bytes(b"")
    kb.ingest(shipped_catalog()[:10])
    assert kb.search("feedback", 3)
    with np.load(cache) as z:  # written again, whole
        assert len(z["view_keys"]) > 0
    assert not list(kb.data_dir.glob("*.tmp"))
