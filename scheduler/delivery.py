"""Draining the delivery queue: claim one row, send it, confirm it; recover rows whose sender died.

Exactly-once per row, and the at-most-once window: a row is claimed (committed, status "sending") immediately
before its Slack call and confirmed (committed, "sent") immediately after, so a crash can leave at most one
row per sending thread (`DrainConfig.workers`) in doubt. Slack has no idempotency key, so an in-doubt row is
never blindly re-sent: after `lease_s` (longer than the HTTP timeout, so the call has surely ended) the sender
looks for the row's marker (block_id `gl-d<id>`) among the newest messages of the recipient's DM.
Found: confirmed as sent. Not found: safely sent again. Slack cannot be asked (missing im:history scope,
outage) three times: the row is failed as "unconfirmed" rather than risk a duplicate — the only case where a
message may be lost, and it is in HR's delivery report.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Container
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.services import Services
from scheduler.sender import SendResult, SlackSender
from storage import deliveries as q
from storage.db import session_scope
from storage.models import Delivery, Nudge
from storage.types import utcnow

log = logging.getLogger(__name__)
VERIFY_TRIES = 3


@dataclass
class DrainConfig:
    lease_s: float = 60.0
    max_attempts: int = 6
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 300.0
    report_after: timedelta = timedelta(hours=1)  # report a broadcast with rows still pending after this
    workers: int = 8  # concurrent sends (Slack answers in ~0.1-0.3 s); the token bucket paces them together
    batch: int = 200  # rows read from the queue at a time
    recover_every_s: float = 1.0  # how often to look for rows left in doubt by a dead sender


@dataclass
class DrainStats:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    cancelled: int = 0
    confirmed_after_crash: int = 0
    resent_after_crash: int = 0
    unconfirmed: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)

    def add_error(self, error: str) -> None:
        with self._lock:
            self.errors[error] = self.errors.get(error, 0) + 1


def marker(delivery_id: int) -> str:
    return f"gl-d{delivery_id}"


def _blocks_with_marker(payload: dict[str, Any], delivery_id: int) -> list[dict[str, Any]]:
    blocks = [dict(b) for b in payload.get("blocks") or []] or [
        {"type": "section", "text": {"type": "mrkdwn", "text": payload.get("text") or " "}}
    ]
    blocks[0]["block_id"] = marker(delivery_id)
    return blocks


def _still_relevant(session: Any, d: Delivery) -> bool:
    nudge_id = d.payload.get("nudge_id")
    if nudge_id is None:
        return True
    nudge = session.get(Nudge, nudge_id)
    return nudge is not None and nudge.status in ("due", "snoozed")


def _after_sent(session: Any, d: Delivery, result: SendResult) -> None:
    nudge_id = d.payload.get("nudge_id")
    if nudge_id is not None:
        nudge = session.get(Nudge, nudge_id)
        if nudge is not None:
            nudge.channel_id, nudge.message_ts = result.channel, result.ts
            session.add(nudge)


def _backoff(cfg: DrainConfig, attempts: int) -> float:
    return min(cfg.backoff_cap_s, cfg.backoff_base_s * 2 ** max(attempts - 1, 0)) * random.uniform(0.5, 1.0)


def send_one(
    services: Services,
    sender: SlackSender,
    delivery_id: int,
    *,
    cfg: DrainConfig,
    clock: Callable[[], datetime] = utcnow,
    stats: DrainStats | None = None,
) -> str | None:
    """Claim, send and confirm one row. Returns its new status, or None when it was not claimable."""
    stats = stats or DrainStats()
    bucket = sender.bucket("chat.postMessage")
    bucket.acquire()  # wait for the pace *before* claiming: the window stays one call
    with session_scope(services.engine) as session:
        d = q.claim(session=session, delivery_id=delivery_id, now=clock())
        if d is None:
            bucket.refund()  # no call made: the token goes to the next row
            return None
        if not _still_relevant(session, d):
            q.mark_failed(session=session, delivery_id=delivery_id, error="no longer relevant", status="cancelled")
            stats.add("cancelled")
            bucket.refund()
            return "cancelled"
    # --- the at-most-once window: claimed and committed, not yet confirmed ---
    result = sender.post(
        channel=d.recipient_slack_id,
        text=d.payload.get("text") or " ",
        blocks=_blocks_with_marker(d.payload, delivery_id),
        paced=True,
    )
    with session_scope(services.engine) as session:
        return _record(session, d, result, cfg=cfg, clock=clock, stats=stats)


def _record(
    session: Any, d: Delivery, result: SendResult, *, cfg: DrainConfig, clock: Callable[[], datetime], stats: DrainStats
) -> str:
    did = int(d.id or 0)
    now = clock()
    if result.ok:
        q.mark_sent(session=session, delivery_id=did, channel=result.channel, ts=result.ts, now=now)
        _after_sent(session, d, result)
        stats.add("sent")
        return "sent"
    stats.add_error(result.error or "?")
    if result.retry_after is not None:  # 429 does not count as a failed attempt: Slack asked us to wait
        q.mark_retry(
            session=session,
            delivery_id=did,
            at=now + timedelta(seconds=result.retry_after),
            error="ratelimited",
            refund_attempt=True,
        )
        stats.add("retried")
        return "pending"
    if result.transient and d.attempts < cfg.max_attempts:
        q.mark_retry(
            session=session,
            delivery_id=did,
            at=now + timedelta(seconds=_backoff(cfg, d.attempts)),
            error=result.error or "transient",
        )
        stats.add("retried")
        return "pending"
    reason = result.error or "error"
    if result.transient:
        reason = f"{reason} (gave up after {d.attempts} attempts)"
    q.mark_failed(session=session, delivery_id=did, error=reason)
    stats.add("failed")
    return "failed"


def recover(
    services: Services,
    sender: SlackSender,
    *,
    cfg: DrainConfig,
    clock: Callable[[], datetime] = utcnow,
    stats: DrainStats | None = None,
    busy: Container[int] = (),
) -> int:
    """Resolve rows left "sending" by a sender that died (see the module docstring). Returns rows resolved.

    `busy`: ids this process is sending right now (never in doubt, whatever the lease says).
    """
    stats = stats or DrainStats()
    with session_scope(services.engine) as session:
        stale = q.stale_sending(session=session, before=clock() - timedelta(seconds=cfg.lease_s))
    done = 0
    for d in stale:
        did = int(d.id or 0)
        if did in busy:
            continue
        found = sender.find_marker(user=d.recipient_slack_id, marker=marker(did))
        with session_scope(services.engine) as session:
            row = session.get(Delivery, did, populate_existing=True)
            if did in busy or row is None or row.status != "sending" or row.claimed_at != d.claimed_at:
                continue  # resolved meanwhile (by its own sender, or another process's recovery)
            if found is None:
                q.mark_retry(session=session, delivery_id=did, at=clock(), error="re-sent: not delivered")
                stats.add("resent_after_crash")
            elif found.ok:
                q.mark_sent(session=session, delivery_id=did, channel=found.channel, ts=found.ts, now=clock())
                _after_sent(session, d, found)
                stats.add("confirmed_after_crash")
            else:
                tries = (
                    int((d.last_error or "").rpartition("#")[2] or 0)
                    if (d.last_error or "").startswith("verify")
                    else 0
                )
                if tries + 1 >= VERIFY_TRIES:
                    q.mark_failed(
                        session=session,
                        delivery_id=did,
                        error="unconfirmed: the sender stopped during the call; not re-sent",
                    )
                    stats.add("unconfirmed")
                else:
                    q.touch_claim(
                        session=session,
                        delivery_id=did,
                        now=clock(),
                        error=f"verify failed ({found.error}) #{tries + 1}",
                    )
                    continue
        done += 1
    return done


_draining = threading.Lock()


def drain(
    services: Services,
    sender: SlackSender,
    *,
    cfg: DrainConfig | None = None,
    until_empty: bool = False,
    stop: threading.Event | None = None,
    clock: Callable[[], datetime] = utcnow,
    on_pass: Callable[[DrainStats], None] | None = None,
) -> DrainStats:
    """Send every due row; with `until_empty`, also wait for retries until no row is pending or sending.

    A continuous feed: `cfg.workers` threads send (one shared token bucket paces them), the queue is read again
    whenever fewer than two rows per thread are waiting, so the pace never idles between batches; a row that
    comes due (a retry after Retry-After or back-off) joins the feed at the next read. Rows left in doubt by a
    dead sender are resolved on a thread of their own (their Slack look-ups have their own, slower pace).
    `on_pass` is called about twice a second with the running totals. One drain per process at a time (the pace
    is per process); other processes are safe through the claims.
    """
    from bot.broadcasts import finish_broadcasts  # domain: reports to HR

    cfg = cfg or DrainConfig()
    stats = DrainStats()
    busy: set[int] = set()  # fed and not finished: never fed twice, never "in doubt" for recovery
    feed: queue.Queue[int | None] = queue.Queue()
    finished: queue.Queue[tuple[int, BaseException | None]] = queue.Queue()
    recovering: Future[int] | None = None
    last_recover = last_report = float("-inf")
    failure: BaseException | None = None

    def worker() -> None:
        while (did := feed.get()) is not None:
            error: BaseException | None = None
            try:
                if not (stop is not None and stop.is_set()):
                    send_one(services, sender, did, cfg=cfg, clock=clock, stats=stats)
            except Exception as exc:  # a store error: the row stays claimed, recovery resolves it
                error = exc
            finished.put((did, error))

    with (
        _draining,
        ThreadPoolExecutor(cfg.workers, thread_name_prefix="growthloop-send") as pool,
        ThreadPoolExecutor(1, thread_name_prefix="growthloop-recover") as recovery,
    ):
        for _ in range(cfg.workers):
            pool.submit(worker)
        try:
            while True:
                stopping = failure is not None or (stop is not None and stop.is_set())
                if busy:
                    with contextlib.suppress(queue.Empty):
                        item = finished.get(timeout=0.5)
                        while True:
                            busy.discard(item[0])
                            failure = failure or item[1]
                            item = finished.get_nowait()
                tick = time.monotonic()
                if (
                    not stopping
                    and tick - last_recover >= cfg.recover_every_s
                    and (recovering is None or recovering.done())
                ):
                    if recovering is not None:
                        recovering.result()
                    recovering = recovery.submit(
                        recover, services, sender, cfg=cfg, clock=clock, stats=stats, busy=busy
                    )
                    last_recover = tick
                if not stopping and feed.qsize() < 2 * cfg.workers:
                    if not busy or tick - last_report >= 0.5:
                        finish_broadcasts(services, now=clock(), report_after=cfg.report_after)
                        last_report = tick
                        if on_pass:
                            on_pass(stats)
                    with session_scope(services.engine) as session:
                        ids = q.due_ids(session=session, now=clock(), limit=cfg.batch)
                    for did in ids:
                        if did not in busy:
                            busy.add(did)
                            feed.put(did)
                if busy:
                    continue
                if recovering is not None and not recovering.done():
                    recovering.result()  # it may put rows back in the queue: read the queue once more
                    continue
                if stopping:
                    break
                with session_scope(services.engine) as session:
                    nxt = q.next_due_at(session=session)
                    stuck = q.stale_sending(session=session, before=clock() + timedelta(days=1), limit=1)
                if not until_empty or (nxt is None and not stuck):
                    break
                wait_s = cfg.recover_every_s if nxt is None else min(max((nxt - clock()).total_seconds(), 0.01), 1.0)
                (stop.wait if stop else threading.Event().wait)(wait_s)
        finally:
            while not feed.empty():  # on an error: what was not started stays pending in the store
                with contextlib.suppress(queue.Empty):
                    feed.get_nowait()
            for _ in range(cfg.workers):
                feed.put(None)
    if failure is not None:
        raise failure
    if recovering is not None:
        recovering.result()
    if on_pass:
        on_pass(stats)
    return stats
