"""Engine, sessions and migrations."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlmodel import Session, create_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, **kw: Any) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and foreign keys."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kw)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _rec: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    kw.setdefault("pool_size", 10)
    kw.setdefault("max_overflow", 20)
    ping_idle = not kw.pop("pool_pre_ping", False)
    engine = create_engine(url, **kw)
    if ping_idle:
        _ping_when_idle(engine)
    return engine


IDLE_PING_S = 2.0


def _ping_when_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling, but only for a connection that sat unused for `IDLE_PING_S`.

    `pool_pre_ping` costs a round trip on every checkout (about a tenth of a busy worker's CPU, measured with
    bench/bench_load.py). Under load a connection is back in use within milliseconds; after a database restart the
    first error invalidates the whole pool, so a busy connection needs no ping. One that sat idle (a quiet night, a
    failover) is pinged, and a dead one is replaced before anyone uses it.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_S:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # the pool retries the checkout with a new connection
            raise DisconnectionError(f"stale connection: {type(exc).__name__}") from exc


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


# Any constant: the advisory lock that serialises migrations of one PostgreSQL database across processes.
MIGRATION_LOCK_KEY = 0x67726F77  # "grow"


def upgrade(engine: Engine) -> None:
    """Apply every Alembic migration up to head on this engine's database.

    Processes started together on a new database (N `serve` workers, the scheduler, `growthloop worker`s) would
    each create the tables, and all but one died on a duplicate table. One process migrates at a time instead: a
    transaction-scoped advisory lock on PostgreSQL, a file lock beside a SQLite file; whoever comes next finds the
    schema at head and has nothing to do.
    """
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with _sqlite_file_lock(engine), engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")  # feature branches of migrations may coexist


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """An exclusive lock on `<database file>.migrate.lock` for a file-backed SQLite engine; nothing otherwise."""
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:" or path.startswith("file:"):
        yield
        return
    with exclusive_file_lock(Path(path + ".migrate.lock")):
        yield


@contextmanager
def exclusive_file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive `flock` on `path` (created if needed) for the block; it is released if the process dies."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
