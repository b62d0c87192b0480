"""APScheduler 3.x wiring: a BackgroundScheduler with a SQLAlchemy job store in the bot's own database.

Jobs (stable ids, `replace_existing=True`): `tick` every minute (plan and queue), `deliver` every 5 s (drain
the queue). Job defaults: `coalesce=True` (a backlog after downtime runs once), `max_instances=1`,
`misfire_grace_time=None` (a late run still runs); the plan itself catches up on missed slots and the unique
delivery keys make a double run harmless. APScheduler 3 cannot share a job store between processes, so only
the leader (see `scheduler.leader`) runs a scheduler; on SQLite one scheduler process is assumed.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from bot.services import Services
from scheduler import jobs
from scheduler.leader import LeaderLock

log = logging.getLogger(__name__)
JOBS_TABLE = "apscheduler_jobs"


def build_scheduler(services: Services) -> BackgroundScheduler:
    """The scheduler with its two jobs in the bot's own database (not started)."""
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)  # a line every 5 s otherwise
    store = SQLAlchemyJobStore(engine=services.engine, tablename=JOBS_TABLE)
    sched = BackgroundScheduler(jobstores={"default": store}, timezone=UTC,
                                job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})
    sched.add_job(jobs.tick, "interval", minutes=1, id="tick", replace_existing=True,
                  next_run_time=datetime.now(UTC))
    sched.add_job(jobs.deliver, "interval", seconds=5, id="deliver", replace_existing=True,
                  next_run_time=datetime.now(UTC))
    # Housekeeping (issue 8): retention once a day at night (UTC), abandoned check-ins every hour.
    sched.add_job(jobs.retention, "cron", hour=3, minute=17, id="retention", replace_existing=True)
    sched.add_job(jobs.close_abandoned, "interval", hours=1, id="close_abandoned", replace_existing=True)
    return sched


class Runner:
    """Waits to become the leader, then runs the scheduler; steps down when the lock is lost."""

    def __init__(self, services: Services, *, poll_s: float = 5.0) -> None:
        self.services = services
        self.poll_s = poll_s
        self.lock = LeaderLock(services.engine)
        self.scheduler: BackgroundScheduler | None = None
        self.stopped = threading.Event()
        self.leading = threading.Event()
        self.thread: threading.Thread | None = None

    def _loop(self) -> None:
        while not self.stopped.is_set():
            try:
                if self.scheduler is None and self.lock.try_acquire():
                    jobs.bind(self.services)
                    self.scheduler = build_scheduler(self.services)
                    self.scheduler.start()
                    self.services.extras["scheduler"] = self.scheduler
                    self.leading.set()
                    log.info("scheduler started (leader)")
                elif self.scheduler is not None and not self.lock.held():
                    self._stop_scheduler()
            except Exception:
                log.exception("scheduler leader loop failed; retrying")
            self.stopped.wait(self.poll_s)

    def _stop_scheduler(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
            self.services.extras.pop("scheduler", None)
            self.leading.clear()

    def start(self) -> Runner:
        self.thread = threading.Thread(target=self._loop, name="growthloop-scheduler", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        if self.thread:
            self.thread.join(timeout=10)
        self._stop_scheduler()
        self.lock.release()


def start_in_background(services: Services) -> Runner:
    """Start the scheduler in this process (the runtime calls it in `serve` unless --no-scheduler)."""
    return Runner(services).start()


def run_foreground(services: Services) -> None:
    """`growthloop scheduler`: run until SIGINT/SIGTERM."""
    runner = Runner(services).start()
    done = threading.Event()

    def _stop(*_: Any) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    done.wait()
    runner.stop()


def kick(services: Services) -> None:
    """Send queued messages now: wake this process's `deliver` job, or drain once on a thread when no scheduler
    runs here (claims make a concurrent drain in another process safe)."""
    sched = services.extras.get("scheduler")
    if sched is not None:
        sched.modify_job("deliver", next_run_time=datetime.now(UTC))
        return
    from scheduler.delivery import drain

    sender = services.extras.get("sender") or jobs.make_sender(services)
    services.extras["sender"] = sender
    threading.Thread(target=drain, args=(services, sender), kwargs={"until_empty": True}, daemon=True,
                     name="growthloop-drain").start()
