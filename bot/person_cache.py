"""A per-process cache of people for the request hot path.

Every Slack request resolves its actor (middleware) and most flows look up one or two more people (the question
names the employee, the tip goes to the manager). Each look-up was a database session: a pool checkout with its
pre-ping, a SELECT and a COMMIT. People change rarely (an import, a first-contact sync, a pause, a forget), so a
look-up is served from memory.

Correctness: an ORM write of a `Person` in this process drops that person from every cache of the process (at the
flush and again at the commit, see the session events below), so this process never serves its own stale writes.
Writes by another process (a CLI import or another `serve` worker) are noticed by a change check: at most once every
`CHECK_S` seconds one look-up also reads the row count and the rows stamped (`updated_at`, which every UPDATE sets)
since `LOOKBACK` before the previous check, and drops the people among them it had not read then (the
whole cache when a person was forgotten, rows were deleted or a large import ran). So another process's write is
seen within `CHECK_S` (1 s), and a wave of first contacts (each a profile sync, a write) costs only the people
written; an entry also lives at most `TTL_S` seconds, the bound when hosts' clocks disagree by more than `LOOKBACK`.
Callers get a detached copy, never the cached object, so nothing a caller does to it leaks into another request.

Measured (`bench/bench_load.py`, 400 pairs): with a 30 s TTL and no check, ~40 of every 50 requests a second missed
the cache (each of 800 people expired every 15-30 s) and the misses were 9 % of serve's time holding the GIL.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import weakref
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, event, func, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from storage.db import session_scope
from storage.models import Person
from storage.people import get_person

TTL_S = 600.0
CHECK_S = 1.0  # how stale another process's write may be served
# Each entry lives between TTL_S * (1 - TTL_SPREAD) and TTL_S: people read in the same second (every pair's first
# messages after a restart) would otherwise all expire in the same second, a burst of reads in the middle of the load.
TTL_SPREAD = 0.5
_COUNT = select(func.count(Person.id))
_WRITTEN_SINCE = select(Person.slack_id, Person.updated_at, Person.forgotten).where(
    Person.updated_at >= bindparam("since")
)
# A write is stamped at its flush (by its host's clock) and seen at its commit, so a row committed since the last
# check can carry a stamp from before it: every check reads the rows stamped since this long before the last check,
# and drops those it had not read then.
LOOKBACK = timedelta(seconds=10)
CHANGED_MAX = 500  # more people written between two checks (an import): the cache starts over instead
MAX_ENTRIES = 20_000  # a workspace's people; beyond this the cache starts over rather than grow without bound

log = logging.getLogger(__name__)
_PERSON_MANAGER = Person.__mapper__.class_manager  # type: ignore[attr-defined]


def _copy(data: dict[str, Any]) -> Person:
    """A new, detached Person with the values of a cached row. The row was validated when it was read from the store,
    so the copy skips `Person(**data)` (pydantic validation and one instrumented set per field: 40 us, against 2 here,
    and a thread reply looks up five people); the ORM still knows it (`session.merge` takes it)."""
    person = _PERSON_MANAGER.new_instance()
    person.__dict__.update(data)
    object.__setattr__(person, "__pydantic_fields_set__", set(data))
    return person


_caches: weakref.WeakSet[PersonCache] = weakref.WeakSet()
_MISSING = object()


class PersonCache:
    """slack_id -> Person (or None for an unknown id), each entry kept `ttl` seconds."""

    def __init__(
        self,
        engine: Engine,
        *,
        ttl: float = TTL_S,
        clock: Callable[[], float] = time.monotonic,
        spread: float = TTL_SPREAD,
        check: float | None = CHECK_S,
    ) -> None:
        """`check`: seconds between change checks (None: none, entries live out their TTL)."""
        self.engine, self.ttl, self.clock, self.spread, self.check = engine, ttl, clock, spread, check
        self._count: int | None = None  # rows at the last check (None: no check yet)
        self._checked_at: datetime | None = None  # when the last check ran (this host's clock)
        self._recent: set[tuple[str, datetime, bool]] = set()  # the rows the last check read
        self._next_check = float("-inf")
        self._checking = threading.Lock()
        self._rows: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._lock = threading.Lock()
        self._generation = 0
        self._written: dict[str, int] = {}  # slack_id -> generation of its last noted write
        self._floor = 0
        _caches.add(self)

    def get(self, slack_id: str) -> Person | None:
        """The person with `slack_id` (a detached copy), or None when there is none."""
        now = self.clock()
        if self.check is not None and now >= self._next_check:
            self._check_for_changes(now)
        with self._lock:
            hit = self._rows.get(slack_id, _MISSING)
            generation = self._generation
        if hit is not _MISSING and now < hit[0]:  # type: ignore[index]
            data = hit[1]  # type: ignore[index]
            return None if data is None else _copy(data)
        with session_scope(self.engine) as session:
            person = get_person(session=session, slack_id=slack_id)
            data = person.model_dump() if person is not None else None
        with self._lock:
            if generation >= self._floor and self._written.get(slack_id, 0) <= generation:  # no write while we read
                if len(self._rows) >= MAX_ENTRIES:
                    self._rows.clear()
                self._rows[slack_id] = (now + self.ttl * (1 - self.spread * random.random()), data)
        return None if data is None else _copy(data)

    def _check_for_changes(self, now: float) -> None:
        """Drop what other processes wrote since the last check (one thread checks; the others go on)."""
        if not self._checking.acquire(blocking=False):
            return
        next_check = now + (self.check or 0.0)
        try:
            try:
                checked_at = datetime.now(UTC)
                since = (self._checked_at or checked_at) - LOOKBACK
                with self.engine.connect() as conn:
                    count = conn.execute(_COUNT).scalar_one()
                    rows = {
                        (sid, stamp, forgotten)
                        for sid, stamp, forgotten in conn.execute(_WRITTEN_SINCE, {"since": since})
                    }
            except SQLAlchemyError:  # the store is unreachable: serve what is cached, check again later
                log.warning("people cache: change check failed; retrying in %.0f s", next_check - now)
                self._next_check = next_check
                return
            new = rows - self._recent
            if self._count is None or count < self._count or len(new) > CHANGED_MAX or any(f for _, _, f in new):
                # The first check, rows gone, a forgotten person (renamed: the old id is not in the table any more)
                # or a large import: start over.
                with self._lock:
                    self._start_over()
            elif new:
                self.forget({sid for sid, _, _ in new})
            self._count, self._checked_at, self._recent = count, checked_at, rows
            self._next_check = next_check
        finally:
            self._checking.release()

    def forget(self, slack_ids: set[str]) -> None:
        """Drop these people (written in this process); a read already under way will not store its result."""
        with self._lock:
            self._generation += 1
            for sid in slack_ids:
                self._rows.pop(sid, None)
                self._written[sid] = self._generation
            if len(self._written) > MAX_ENTRIES:
                self._start_over()

    def _start_over(self) -> None:
        """Empty the cache (under `_lock`): reads begun before now store nothing, since they may predate a change."""
        self._generation += 1
        self._floor = self._generation
        self._written = {}
        self._rows.clear()


def person_cache(services: Any) -> PersonCache:
    """The cache of `services` (one per Services, created on first use)."""
    cache = services.extras.get("person_cache")
    if cache is None or cache.engine is not services.engine:
        cache = services.extras["person_cache"] = PersonCache(services.engine)
    return cache


def cached_person(services: Any, slack_id: str | None) -> Person | None:
    """`get_person` through the per-process cache; None for an empty id."""
    return person_cache(services).get(slack_id) if slack_id else None


def _forget_everywhere(slack_ids: set[str]) -> None:
    for cache in list(_caches):
        cache.forget(slack_ids)


def _slack_ids(person: Person) -> set[str]:
    """The person's slack id and any earlier one changed in this flush (a forget renames it)."""
    ids = {person.slack_id} if person.slack_id else set()
    history = inspect(person).attrs.slack_id.history
    ids.update(v for v in (*history.deleted, *history.added) if isinstance(v, str))
    return ids


@event.listens_for(Session, "before_flush")
def _note_person_writes(session: Session, _ctx: Any, _instances: Any) -> None:
    ids: set[str] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Person):
            ids |= _slack_ids(obj)
    if ids:
        session.info.setdefault("people_written", set()).update(ids)
        _forget_everywhere(ids)  # readers between this flush and the commit must not keep what they read


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    ids = session.info.pop("people_written", None)
    if ids:
        _forget_everywhere(ids)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("people_written", None)
