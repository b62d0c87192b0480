from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from storage.db import make_engine

EXPECTED = {
    "person",
    "checkin",
    "answer",
    "developmentpoint",
    "developmentaction",
    "course",
    "learningrecord",
    "recognition",
    "broadcast",
    "delivery",
    "processedevent",
    "auditlog",
    "cycle",
    "goal",
    "alembic_version",
}


def _cli_upgrade(env_extra: dict[str, str], tmp_path: Path) -> None:
    env = {**os.environ, "GROWTHLOOP_DATA_DIR": str(tmp_path), **env_extra}
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", "upgrade"], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "latest migration" in out.stdout


def test_db_upgrade_on_sqlite(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    os.environ.pop("DATABASE_URL", None)
    _cli_upgrade({}, tmp_path)
    eng = make_engine(f"sqlite:///{tmp_path / 'growthloop.db'}")
    assert set(inspect(eng).get_table_names()) >= EXPECTED
    with eng.connect() as c:
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    os.environ.update(env)


@pytest.mark.postgres
def test_db_upgrade_on_empty_postgres(pg_url: str, tmp_path: Path) -> None:
    eng = make_engine(pg_url)
    with eng.begin() as c:
        c.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    _cli_upgrade({"DATABASE_URL": pg_url}, tmp_path)
    _cli_upgrade({"DATABASE_URL": pg_url}, tmp_path)  # idempotent
    assert set(inspect(eng).get_table_names()) >= EXPECTED
    eng.dispose()
