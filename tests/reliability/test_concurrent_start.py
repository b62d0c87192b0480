"""Processes started together on one new store: N `serve` workers, the scheduler and `growthloop worker`s.

Each used to migrate the database and open the embedded Chroma on its own, and most of them died: a duplicate
table on PostgreSQL and SQLite, "table collections already exists" or "Error finding id" from Chroma. Every child
here imports first and then waits for the same instant, so they really do start at once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from knowledge.base import KnowledgeBase
from knowledge.catalog import shipped_catalog
from knowledge.embedders import HashingEmbedder
from storage.db import make_engine, upgrade

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 4

_MIGRATE = textwrap.dedent(
    """
    import sys, time
    from storage.db import make_engine, upgrade
    engine = make_engine(sys.argv[1])
    time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
    upgrade(engine)
    print("migrated")
    """
)

_INDEX = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from knowledge.base import KnowledgeBase
    from knowledge.embedders import HashingEmbedder
    from storage.db import make_engine
    kb = KnowledgeBase(engine=make_engine(sys.argv[1]), data_dir=Path(sys.argv[3]), embedder=HashingEmbedder())
    time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
    hits = kb.search("giving feedback to a peer", 3)
    print(json.dumps({"indexed": kb.store.count(), "hits": len(hits)}))
    """
)


def _together(script: str, *args: str) -> list[subprocess.CompletedProcess[str]]:
    start_at = str(time.time() + 4.0)  # every child has imported what it needs by then
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, args[0], start_at, *args[1:]],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=120)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return out


def _all_ok(results: list[subprocess.CompletedProcess[str]]) -> None:
    failed = [r.stderr.strip().splitlines()[-1:] for r in results if r.returncode != 0]
    assert not failed, f"{len(failed)} of {len(results)} processes died: {failed}"


def test_processes_migrating_a_new_sqlite_file_at_once_all_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'growthloop.db'}"
    _all_ok(_together(_MIGRATE, url))
    assert "checkin" in inspect(make_engine(url)).get_table_names()


@pytest.mark.postgres
def test_processes_migrating_a_new_postgres_database_at_once_all_start(pg_url: str) -> None:
    eng = make_engine(pg_url)
    with eng.begin() as c:
        c.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    _all_ok(_together(_MIGRATE, pg_url))
    with eng.connect() as c:
        assert c.execute(text("SELECT count(*) FROM alembic_version")).scalar() >= 1
    assert "checkin" in inspect(eng).get_table_names()
    eng.dispose()


def test_processes_opening_one_embedded_chroma_at_once_all_serve(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'growthloop.db'}"
    engine = make_engine(url)
    upgrade(engine)
    KnowledgeBase(engine=engine, data_dir=tmp_path, embedder=HashingEmbedder()).ensure_seeded()
    results = _together(_INDEX, url, str(tmp_path))
    _all_ok(results)
    n = len(shipped_catalog())
    assert [json.loads(r.stdout) for r in results] == [{"indexed": n, "hits": 3}] * PROCESSES


def test_a_catalog_ingested_by_another_process_reaches_a_running_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`growthloop knowledge ingest` beside a running `serve`: the serving index picks the change up by itself."""
    import knowledge.base as base

    engine = make_engine(f"sqlite:///{tmp_path / 'growthloop.db'}")
    upgrade(engine)
    courses = shipped_catalog()
    serving = KnowledgeBase(engine=engine, data_dir=tmp_path, embedder=HashingEmbedder())
    serving.ingest(courses[:30])
    before = serving.index()
    assert {h.course.id for h in serving.search(courses[40].title, 30)} <= {c.id for c in courses[:30]}

    admin = KnowledgeBase(engine=engine, data_dir=tmp_path, embedder=HashingEmbedder())  # the CLI's own
    admin.ingest(courses[:30] + [courses[40]])

    assert serving.index() is before  # within the check interval nothing is re-read
    monkeypatch.setattr(base, "FRESHNESS_CHECK_S", 0.0)
    assert serving.index() is before  # the rebuild runs in the background; this search keeps the old index
    deadline = time.monotonic() + 30
    while serving.index() is before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert serving.index() is not before
    assert courses[40].id in {h.course.id for h in serving.search(courses[40].title, 5)}
