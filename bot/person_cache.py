"""A short-lived per-process cache of people for the request hot path.

Every Slack request resolves its actor (middleware) and most flows look up one or two more people (the question
names the employee, the tip goes to the manager). Each look-up was a database session: a pool checkout with its
pre-ping, a SELECT and a COMMIT. People change rarely (an import, a first-contact sync, a pause, a forget), so a
look-up is served from memory for up to `TTL_S` seconds.

Correctness: an ORM write of a `Person` in this process drops that person from every cache of the process (at the
flush and again at the commit, see the session events below), so this process never serves its own stale writes.
Writes by another process (a CLI import beside a running `serve`) are seen within `TTL_S`. Callers get a detached
copy, never the cached object, so nothing a caller does to it leaks into another request.
"""

from __future__ import annotations

import random
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from storage.db import session_scope
from storage.models import Person
from storage.people import get_person

TTL_S = 30.0
# Each entry lives between TTL_S * (1 - TTL_SPREAD) and TTL_S: people read in the same second (every pair's first
# messages after a restart) would otherwise all expire in the same second, a burst of reads in the middle of the load.
TTL_SPREAD = 0.5
MAX_ENTRIES = 20_000  # a workspace's people; beyond this the cache starts over rather than grow without bound

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
    ) -> None:
        self.engine, self.ttl, self.clock, self.spread = engine, ttl, clock, spread
        self._rows: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._lock = threading.Lock()
        self._generation = 0
        self._written: dict[str, int] = {}  # slack_id -> generation of its last noted write
        self._floor = 0
        _caches.add(self)

    def get(self, slack_id: str) -> Person | None:
        """The person with `slack_id` (a detached copy), or None when there is none."""
        now = self.clock()
        with self._lock:
            hit = self._rows.get(slack_id, _MISSING)
            generation = self._generation
        if hit is not _MISSING and now < hit[0]:  # type: ignore[index]
            data = hit[1]  # type: ignore[index]
            return None if data is None else Person(**data)
        with session_scope(self.engine) as session:
            person = get_person(session=session, slack_id=slack_id)
            data = person.model_dump() if person is not None else None
        with self._lock:
            if generation >= self._floor and self._written.get(slack_id, 0) <= generation:  # no write while we read
                if len(self._rows) >= MAX_ENTRIES:
                    self._rows.clear()
                self._rows[slack_id] = (now + self.ttl * (1 - self.spread * random.random()), data)
        return None if data is None else Person(**data)

    def forget(self, slack_ids: set[str]) -> None:
        """Drop these people (written in this process); a read already under way will not store its result."""
        with self._lock:
            self._generation += 1
            for sid in slack_ids:
                self._rows.pop(sid, None)
                self._written[sid] = self._generation
            if len(self._written) > MAX_ENTRIES:  # start over: reads begun before now store nothing
                self._written, self._floor = {}, self._generation
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
