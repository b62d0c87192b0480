"""The per-process person cache: hits skip the store, this process's own writes are never served stale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bot import person_cache
from bot.person_cache import PersonCache, cached_person
from bot.privacy import forget_person
from bot.services import Services
from storage.db import session_scope
from storage.people import get_person, upsert_person


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _add(services: Services, slack_id: str, **fields: object) -> None:
    with session_scope(services.engine) as s:
        upsert_person(session=s, slack_id=slack_id, **{"name": slack_id, **fields})


def _delete_behind_the_orm(services: Services, slack_id: str) -> None:
    """What another process would do: a write this process's session events never see."""
    with services.engine.begin() as c:
        c.execute(text("delete from person where slack_id = :s"), {"s": slack_id})


def test_a_hit_skips_the_store_until_the_ttl_runs_out(services: Services) -> None:
    clock = Clock()
    cache = PersonCache(services.engine, ttl=30, clock=clock, spread=0, check=None)
    _add(services, "U1", locale="zh")
    assert cache.get("U1").locale == "zh"  # type: ignore[union-attr]
    _delete_behind_the_orm(services, "U1")
    clock.now = 29
    assert cache.get("U1") is not None  # served from memory: no query
    clock.now = 31
    assert cache.get("U1") is None  # the TTL ran out: read again


def test_entries_read_together_expire_spread_over_the_last_half_of_the_ttl(services: Services) -> None:
    clock = Clock()
    cache = PersonCache(services.engine, ttl=30, clock=clock, check=None)  # the default spread
    ids = [f"U{i}" for i in range(40)]
    for sid in ids:
        _add(services, sid)
        assert cache.get(sid) is not None
    for sid in ids:
        _delete_behind_the_orm(services, sid)
    clock.now = 14.9
    assert all(cache.get(sid) is not None for sid in ids)  # nothing expires before half the TTL
    clock.now = 22.5
    alive = [sid for sid in ids if cache.get(sid) is not None]
    assert 0 < len(alive) < len(ids)  # some expired, some not: not all in the same second
    clock.now = 30
    assert all(cache.get(sid) is None for sid in ids)  # nothing outlives the TTL


def test_own_writes_are_seen_at_once(services: Services) -> None:
    cache = PersonCache(services.engine, ttl=3600)
    _add(services, "U1", locale="en", is_hr_admin=False)
    assert cache.get("U1").is_hr_admin is False  # type: ignore[union-attr]
    _add(services, "U1", is_hr_admin=True)  # an ORM write in this process
    assert cache.get("U1").is_hr_admin is True  # type: ignore[union-attr]
    assert cache.get("U2") is None
    _add(services, "U2")  # an unknown id that becomes known
    assert cache.get("U2") is not None


def test_forgetting_a_person_drops_the_old_id(services: Services) -> None:
    _add(services, "U9", name="Maria")
    assert cached_person(services, "U9").name == "Maria"  # type: ignore[union-attr]
    forget_person(services, slack_id="U9")
    assert cached_person(services, "U9") is None


def test_callers_get_copies(services: Services) -> None:
    cache = PersonCache(services.engine, ttl=3600)
    _add(services, "U1", name="Erik")
    first = cache.get("U1")
    assert first is not None
    first.name = "changed by a caller"
    assert cache.get("U1").name == "Erik"  # type: ignore[union-attr]
    with session_scope(services.engine) as s:
        assert get_person(session=s, slack_id="U1").name == "Erik"  # type: ignore[union-attr]


def test_a_copy_is_a_whole_person_the_orm_can_merge(services: Services) -> None:
    cache = PersonCache(services.engine, ttl=3600)
    _add(services, "U1", name="Erik", locale="de", timezone="Europe/Berlin", manager_slack_id="U0")
    copy = cache.get("U1")
    with session_scope(services.engine) as s:
        stored = get_person(session=s, slack_id="U1")
        assert copy is not None and stored is not None
        assert copy.model_dump() == stored.model_dump() and copy is not stored
    copy.locale = "fr"  # a caller changing its copy and saving it, as the ORM's merge allows
    with session_scope(services.engine) as s:
        s.merge(copy)
    with session_scope(services.engine) as s:
        assert get_person(session=s, slack_id="U1").locale == "fr"  # type: ignore[union-attr]
    assert cache.get("U1").locale == "fr"  # type: ignore[union-attr]  # its own write dropped the entry


def _update_behind_the_orm(services: Services, slack_id: str, locale: str) -> None:
    """Another process's ORM write: the UPDATE stamps `updated_at` (the column's onupdate)."""
    with services.engine.begin() as c:
        c.execute(
            text("update person set locale = :l, updated_at = :t where slack_id = :s"),
            {"l": locale, "s": slack_id, "t": datetime.now(UTC)},
        )


def test_another_processes_writes_are_seen_within_the_check_interval(services: Services) -> None:
    clock = Clock()
    cache = PersonCache(services.engine, ttl=3600, clock=clock, check=1.0)
    _add(services, "U1", locale="en")
    assert cache.get("U1").locale == "en"  # type: ignore[union-attr]
    assert cache.get("U2") is None  # unknown, and remembered as unknown
    _update_behind_the_orm(services, "U1", "zh")
    with services.engine.begin() as c:  # another process adds U2
        c.execute(
            text(
                "insert into person (slack_id, name, timezone, locale, is_hr_admin, profile_synced, forgotten, "
                "created_at, updated_at) values ('U2', 'Li', 'UTC', 'zh', false, false, false, :t, :t)"
            ),
            {"t": datetime.now(UTC)},
        )
    clock.now = 0.5
    assert cache.get("U1").locale == "en"  # type: ignore[union-attr]  # within the interval: served from memory
    assert cache.get("U2") is None
    clock.now = 1.0
    assert cache.get("U1").locale == "zh"  # type: ignore[union-attr]  # the check saw the table change
    assert cache.get("U2").name == "Li"  # type: ignore[union-attr]
    _delete_behind_the_orm(services, "U1")
    clock.now = 2.5
    assert cache.get("U1") is None  # a deletion changes the row count


def test_an_unchanged_table_keeps_the_cache(services: Services) -> None:
    clock = Clock()
    cache = PersonCache(services.engine, ttl=3600, clock=clock, check=1.0)
    _add(services, "U1", locale="en")
    assert cache.get("U1") is not None
    with services.engine.begin() as c:  # a write that no process makes (no stamp): invisible to the check
        c.execute(text("update person set locale = 'zh' where slack_id = 'U1'"))
    clock.now = 5.0
    assert cache.get("U1").locale == "en"  # type: ignore[union-attr]  # the fingerprint did not move: still a hit


def test_every_orm_update_stamps_updated_at(services: Services) -> None:
    _add(services, "U1", locale="en")
    with session_scope(services.engine) as s:
        before = get_person(session=s, slack_id="U1").updated_at  # type: ignore[union-attr]
    with session_scope(services.engine) as s:
        person = get_person(session=s, slack_id="U1")
        assert person is not None
        person.profile_synced = True  # no one sets updated_at by hand here
        s.add(person)
    with session_scope(services.engine) as s:
        assert get_person(session=s, slack_id="U1").updated_at > before  # type: ignore[union-attr, operator]


def test_a_failing_check_still_serves_the_cache(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    cache = PersonCache(services.engine, ttl=3600, clock=clock, check=1.0)
    _add(services, "U1", name="Erik")
    assert cache.get("U1") is not None
    monkeypatch.setattr(person_cache, "_COUNT", text("select count(*) from no_such_table"))
    clock.now = 2.0
    assert cache.get("U1").name == "Erik"  # type: ignore[union-attr]


def _stamp(services: Services, who: str, at: datetime, **cols: object) -> None:
    """Another process's write of the row `who`, stamped `at`."""
    sets = ", ".join([*(f"{k} = :{k}" for k in cols), "updated_at = :t"])
    with services.engine.begin() as c:
        c.execute(text(f"update person set {sets} where slack_id = :who"), {**cols, "who": who, "t": at})


def test_a_write_committed_after_the_check_with_an_earlier_stamp_is_still_seen(services: Services) -> None:
    """A transaction stamps its row at flush and commits later: its stamp can be older than the last check."""
    clock = Clock()
    cache = PersonCache(services.engine, ttl=3600, clock=clock, check=1.0)
    _add(services, "U1", locale="en")
    assert cache.get("U1").locale == "en"  # type: ignore[union-attr]  # the first check runs here
    _stamp(services, "U1", datetime.now(UTC) - timedelta(seconds=3), locale="zh")  # stamped before it, committed after
    clock.now = 1.0
    assert cache.get("U1").locale == "zh"  # type: ignore[union-attr]


def test_recent_writes_are_dropped_once_not_at_every_check(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    cache = PersonCache(services.engine, ttl=3600, clock=clock, check=1.0)
    _add(services, "U1", locale="en")
    assert cache.get("U1") is not None
    _stamp(services, "U1", datetime.now(UTC), locale="zh")  # another process's write
    clock.now = 1.0
    assert cache.get("U1").locale == "zh"  # type: ignore[union-attr]  # dropped and read again
    reads = []
    real = person_cache.get_person
    monkeypatch.setattr(person_cache, "get_person", lambda **kw: reads.append(1) or real(**kw))
    for t in (2.0, 3.0, 4.0):  # the write is still within the look-back window at these checks
        clock.now = t
        assert cache.get("U1").locale == "zh"  # type: ignore[union-attr]
    assert reads == []  # hits: a write already seen is not dropped again


def test_a_person_forgotten_by_another_process_is_not_served(services: Services) -> None:
    clock = Clock()
    cache = PersonCache(services.engine, ttl=3600, clock=clock, check=1.0)
    _add(services, "U1", name="Maria")
    assert cache.get("U1").name == "Maria"  # type: ignore[union-attr]
    # what a forget does: the row is renamed and marked, so the old id is no longer in the table
    _stamp(services, "U1", datetime.now(UTC), slack_id="FORGOTTEN-1", name="", forgotten=True)
    clock.now = 1.0
    assert cache.get("U1") is None


def test_a_quiet_table_costs_the_check_no_rows(services: Services) -> None:
    """Long after the last write, a check reads the count and nothing else (an import's rows are not re-read)."""
    clock = Clock()
    cache = PersonCache(services.engine, ttl=3600, clock=clock, check=1.0)
    for i in range(5):
        _add(services, f"U{i}")
    for i in range(5):
        _stamp(services, f"U{i}", datetime.now(UTC) - timedelta(minutes=5))  # written long ago
    assert cache.get("U1") is not None
    clock.now = 1.0
    assert cache.get("U1") is not None
    assert cache._recent == set()
