"""Connections that sat idle are pinged before use; a dead one is replaced, so nobody sees the error."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from storage import db
from storage.db import make_engine


@pytest.mark.postgres
def test_a_dead_idle_connection_is_replaced_before_use(pg_url: str) -> None:
    eng = make_engine(pg_url, pool_size=1, max_overflow=0)
    admin = make_engine(pg_url, pool_size=1, max_overflow=0)
    try:
        with eng.connect() as c:
            pid = c.execute(text("select pg_backend_pid()")).scalar()
        with admin.connect() as c:  # the server drops it while it sits in the pool (a restart, a failover)
            c.execute(text("select pg_terminate_backend(:p)"), {"p": pid})
        record = eng.pool._pool.queue[0]  # type: ignore[attr-defined]
        record.info["idle_since"] -= db.IDLE_PING_S + 1
        with eng.connect() as c:
            assert c.execute(text("select pg_backend_pid()")).scalar() != pid
    finally:
        eng.dispose()
        admin.dispose()


@pytest.mark.postgres
def test_only_an_idle_connection_is_pinged(pg_url: str) -> None:
    eng = make_engine(pg_url, pool_size=1, max_overflow=0)
    pings: list[object] = []
    real_ping = eng.dialect.do_ping

    def counting_ping(dbapi_conn: object) -> bool:
        pings.append(dbapi_conn)
        return real_ping(dbapi_conn)

    eng.dialect.do_ping = counting_ping  # type: ignore[method-assign]
    try:
        for _ in range(3):  # back in use at once: no extra round trip
            with eng.connect() as c:
                c.execute(text("select 1"))
        assert pings == []
        eng.pool._pool.queue[0].info["idle_since"] -= db.IDLE_PING_S + 1  # type: ignore[attr-defined]
        with eng.connect() as c:
            c.execute(text("select 1"))
        assert len(pings) == 1
    finally:
        eng.dispose()
