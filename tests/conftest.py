"""Shared fixtures: stores on SQLite and (when reachable or required) PostgreSQL, and the sandbox."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.services import Services
from bot.settings import load_settings
from storage.db import make_engine, upgrade

PG_ADMIN_URL = os.environ.get("GROWTHLOOP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_MODE = os.environ.get("GROWTHLOOP_TEST_POSTGRES", "auto")  # auto | required | off


def _pg_reachable() -> str | None:
    if PG_MODE == "off":
        return "GROWTHLOOP_TEST_POSTGRES=off"
    try:
        eng = make_engine(PG_ADMIN_URL, pool_size=1, max_overflow=0)
        with eng.connect() as c:
            c.execute(text("select 1"))
        eng.dispose()
        return None
    except Exception as exc:  # pragma: no cover - depends on the machine
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}"


_PG_PROBLEM = _pg_reachable()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "postgres" in item.keywords and _PG_PROBLEM:
            if PG_MODE == "required":
                pytest.exit(f"PostgreSQL tests are required but {_PG_PROBLEM}", returncode=3)
            item.add_marker(pytest.mark.skip(reason=_PG_PROBLEM))


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    name = f"growthloop_t_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _reset_pg(url: str) -> Engine:
    eng = make_engine(url)
    with eng.begin() as c:
        c.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade(eng)
    return eng


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated store on each backend."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'gl.db'}")
        upgrade(eng)
    else:
        eng = _reset_pg(request.getfixturevalue("pg_url"))
    yield eng
    eng.dispose()


@pytest.fixture
def services(engine: Engine, tmp_path: Path) -> Services:
    settings = load_settings(
        growthloop_data_dir=tmp_path, database_url=engine.url.render_as_string(hide_password=False)
    )
    return Services(settings=settings, engine=engine)


@pytest.fixture
def sqlite_services(tmp_path: Path) -> Services:
    eng = make_engine(f"sqlite:///{tmp_path / 'gl.db'}")
    upgrade(eng)
    settings = load_settings(growthloop_data_dir=tmp_path)
    return Services(settings=settings, engine=eng)


@pytest.fixture
def sandbox(tmp_path: Path):  # type: ignore[no-untyped-def]
    """The product against the loopback Slack sandbox (stub + store + app over HTTP + demo org)."""
    from bot.demo.sandbox import start_sandbox

    sb = start_sandbox(tmp_path / "data")
    yield sb
    sb.stop()
