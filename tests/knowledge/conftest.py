from __future__ import annotations

from pathlib import Path

import pytest

from bot.services import Services
from knowledge.base import KnowledgeBase
from knowledge.embedders import HashingEmbedder


@pytest.fixture
def hashing() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture
def kb(services: Services, hashing: HashingEmbedder, tmp_path: Path) -> KnowledgeBase:
    """A knowledge base on each store backend, with the hashing embedder and an embedded chroma."""
    base = KnowledgeBase(engine=services.engine, data_dir=tmp_path, embedder=hashing)
    services.extras["knowledge"] = base
    return base
