"""The APScheduler wiring: stable job ids, coalescing, a persistent job store; the runner on SQLite."""

from __future__ import annotations

from sqlalchemy import inspect

from bot.services import Services
from scheduler import runner


def test_jobs_are_stable_coalesced_and_persistent(sqlite_services: Services) -> None:
    sched = runner.build_scheduler(sqlite_services)
    sched.start(paused=True)
    try:
        jobs = {j.id: j for j in sched.get_jobs()}
        assert set(jobs) == {"tick", "deliver", "retention", "close_abandoned"}
        assert all(j.coalesce and j.max_instances == 1 and j.misfire_grace_time is None for j in jobs.values())
        assert jobs["tick"].func_ref == "scheduler.jobs:tick"
        assert runner.JOBS_TABLE in inspect(sqlite_services.engine).get_table_names()
    finally:
        sched.shutdown(wait=False)
    again = runner.build_scheduler(sqlite_services)  # a restart replaces the stored jobs instead of adding twice
    again.start(paused=True)
    try:
        assert sorted(j.id for j in again.get_jobs()) == ["close_abandoned", "deliver", "retention", "tick"]
    finally:
        again.shutdown(wait=False)


def test_runner_leads_at_once_on_sqlite_and_stops(sqlite_services: Services) -> None:
    r = runner.start_in_background(sqlite_services)
    try:
        assert r.leading.wait(10)
        assert sqlite_services.extras["scheduler"].running
    finally:
        r.stop()
    assert "scheduler" not in sqlite_services.extras
