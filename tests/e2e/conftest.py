from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.demo.sandbox import Sandbox, start_sandbox


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    sb = start_sandbox(tmp_path / "data")
    yield sb
    sb.stop()
