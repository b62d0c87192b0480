"""The analysis queue: a check-in's closing work (coach analysis, summary, courses) off the request path.

The closing analysis costs a few hundred milliseconds of CPU (the embedder, the gap model, retrieval; an LLM call
when configured). Run on the listener threads, a burst of check-ins ending together starved the acks of every other
request in the process (BENCHMARKS.md, Load). So a finished check-in is only marked `finishing` on the request path;
the work runs here, one check-in at a time per process, or in separate `growthloop worker` processes when
GROWTHLOOP_ANALYSIS=worker.

The queue is the `checkin` table itself, so nothing is lost: a check-in stays owed until its closing message is
posted (`posted_at`), a runner holds a lease while it works (`analysis_claimed_at`, one UPDATE, so two processes
cannot both take it), and a sweep picks up whatever a crashed process left behind once its lease has expired.
"""

from __future__ import annotations

import logging
import queue
import threading
from datetime import timedelta

from slack_sdk import WebClient

from bot.services import Services
from storage import checkins as repo
from storage.db import session_scope

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)  # far longer than an analysis (LLM timeout included); a crashed runner's work waits this
GIVE_UP_AFTER = timedelta(days=1)  # a closing message Slack refused for a day is dropped (the analysis is stored)


class Finisher:
    """Runs owed closing work: `submit` for a check-in that just ended, `sweep` for anything left behind."""

    def __init__(self, services: Services, client: WebClient, *, run_here: bool = True, poll_s: float = 30.0) -> None:
        self.services = services
        self.client = client
        self.run_here = run_here
        self.poll_s = poll_s
        self._queue: queue.Queue[int] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._stop = threading.Event()

    def submit(self, checkin_id: int) -> None:
        """Queue the closing work of a check-in that has just ended (a worker process takes it when not run here)."""
        if not self.run_here:
            return
        self.start()
        self._queue.put(checkin_id)

    def run_one(self, checkin_id: int) -> bool:
        """Claim and do the closing work of one check-in; False when it was not owed or another runner has it."""
        from bot.slack.flows import finish_flow

        now = self.services.now()
        with session_scope(self.services.engine) as session:
            if not repo.claim_finish(session=session, checkin_id=checkin_id, now=now, lease_expired_before=now - LEASE):
                return False
            c = repo.get_checkin(session=session, checkin_id=checkin_id)
        assert c is not None
        try:
            finish_flow(self.services, self.client, c)
        except Exception:
            if c.last_activity_at < now - GIVE_UP_AFTER:
                log.exception("giving up posting the end of check-in %s (its analysis is stored)", checkin_id)
                with session_scope(self.services.engine) as session:
                    repo.mark_posted(session=session, checkin_id=checkin_id, now=now, give_up=True)
            else:  # the lease expires and a later sweep tries again
                log.exception("closing check-in %s failed; retried after %s", checkin_id, LEASE)
            return False
        return True

    def sweep(self, *, limit: int = 50) -> int:
        """Finish what is owed and unclaimed (left by a crash, or queued for a worker); returns how many were done."""
        now = self.services.now()
        with session_scope(self.services.engine) as session:
            ids = repo.owed_finishes(session=session, lease_expired_before=now - LEASE, limit=limit)
        return sum(self.run_one(i) for i in ids)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until the local queue is empty and nothing runs (tests, the demo); False on timeout."""
        done = threading.Event()

        def watch() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=watch, daemon=True).start()
        return done.wait(timeout)

    def stop(self) -> None:
        self._stop.set()

    def run_forever(self, stop: threading.Event, *, poll_s: float = 1.0) -> None:
        """The `growthloop worker` loop: sweep every `poll_s` seconds until `stop` is set."""
        while not stop.is_set():
            try:
                if self.sweep():
                    continue
            except Exception:  # the database restarting, say: wait and sweep again
                log.exception("analysis sweep failed")
            stop.wait(poll_s)

    def start(self) -> None:
        """Start this process's runner thread (it sweeps at once: work left by a crash is picked up at start-up)."""
        if not self.run_here:
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="finisher", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        timeout = 0.0
        while not self._stop.is_set():
            try:
                checkin_id = self._queue.get(timeout=timeout) if timeout else self._queue.get_nowait()
            except queue.Empty:
                try:
                    self.sweep()
                except Exception:
                    log.exception("analysis sweep failed")
                timeout = self.poll_s
                continue
            try:
                self.run_one(checkin_id)
            except Exception:  # the claim itself failed (database down): the sweep retries after the lease
                log.exception("could not run the closing work of check-in %s", checkin_id)
            finally:
                self._queue.task_done()
