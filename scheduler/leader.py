"""Leader election so that exactly one scheduler runs per deployment.

PostgreSQL: a session-level advisory lock held on a dedicated connection (outside the pool). When the leader
process dies its connection closes and the lock is released; a standby takes over within one poll interval.
SQLite: no cross-process lock; a single scheduler process is assumed (documented in the README).
"""

from __future__ import annotations

import logging

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)
LOCK_KEY = 0x6C6F6F70  # "loop"


class LeaderLock:
    def __init__(self, engine: Engine, key: int = LOCK_KEY) -> None:
        self.url = engine.url
        self.is_postgres = engine.dialect.name == "postgresql"
        self.key = key
        self._engine: Engine | None = None
        self._conn: Connection | None = None

    def try_acquire(self) -> bool:
        """True when this process is (now) the leader."""
        if not self.is_postgres:
            return True
        if self._conn is not None:
            return self.held()
        self._engine = self._engine or create_engine(self.url, poolclass=NullPool)
        conn = self._engine.connect()
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar())
        conn.commit()
        if got:
            self._conn = conn
        else:
            conn.close()
        return got

    def held(self) -> bool:
        """Still the leader? (the dedicated connection is alive)."""
        if not self.is_postgres:
            return True
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1")).scalar()
            self._conn.commit()
            return True
        except Exception:
            log.warning("lost the scheduler leader lock (connection closed)")
            self._conn = None
            return False

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                self._conn.commit()
                self._conn.close()
            except Exception:
                pass
            self._conn = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
