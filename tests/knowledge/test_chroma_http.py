"""The HttpClient path against a real `chroma run` server started here (and stopped at the end)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from knowledge.base import KnowledgeBase
from knowledge.catalog import shipped_catalog
from knowledge.embedders import HashingEmbedder
from knowledge.text import sentences
from knowledge.vector import chroma_settings, make_client

CHROMA = Path(sys.executable).with_name("chroma")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    exe = str(CHROMA) if CHROMA.exists() else shutil.which("chroma")
    if not exe:
        pytest.skip("the chroma CLI is not installed next to this Python")
    port, path = _free_port(), tmp_path_factory.mktemp("chroma-server")
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.Popen([exe, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                make_client(data_dir=path, chroma_url=url).heartbeat()
                break
            except Exception:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.skip(f"`chroma run` could not start (exit code {proc.poll()})")
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_telemetry_is_off() -> None:
    assert chroma_settings().anonymized_telemetry is False


def test_ingest_and_search_through_chroma_server(chroma_url: str, sqlite_services: object, tmp_path: Path) -> None:
    engine: Engine = sqlite_services.engine  # type: ignore[attr-defined]
    emb = HashingEmbedder()
    kb = KnowledgeBase(engine=engine, data_dir=tmp_path, chroma_url=chroma_url, embedder=emb)
    courses = shipped_catalog()[:12]
    assert kb.ingest(courses).embedded == 12
    assert not (tmp_path / "chroma").exists()  # nothing embedded locally: the server holds the vectors
    assert kb.store.count() == 12
    best = kb.store.query(courses[3].text, 1)
    assert best[0][0] == courses[3].id
    fresh = KnowledgeBase(engine=engine, data_dir=tmp_path, chroma_url=chroma_url, embedder=emb)
    views = len({s for c in courses for s in sentences(c.summary)})  # sentence views, cached in the data dir
    assert fresh.ingest(courses).embedded == 0 and emb.embedded == 12 + views  # hashes live on the server
    assert fresh.search(courses[5].title, 1)[0].course.id == courses[5].id
