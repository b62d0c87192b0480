"""The analysis queue: closing work off the request path, in worker processes, and after a crash; never twice."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, select

from bot import checkins
from bot.demo.sandbox import Sandbox, start_sandbox
from bot.slack.finisher import LEASE, Finisher
from storage import checkins as repo
from storage.models import CheckIn, DevelopmentAction, DevelopmentPoint
from tests.e2e.checkin_helpers import answer, bot_thread_posts, thread_root

GAP = "I struggle to present the roadmap to the leadership team; my slides never land."


def _play_to_end(sb: Sandbox) -> dict[str, str]:
    """A check-in with one answer holding a gap, ended with `done`; returns its root."""
    sb.driver.slash("U0MGR", "/checkin", "<@U0EMP|erik>")
    root = thread_root(sb)
    answer(sb, "U0EMP", root, GAP, expect_posts=2)
    sb.driver.message("U0MGR", root["channel"], "done", thread_ts=root["ts"])
    return root


def _checkin(sb: Sandbox) -> CheckIn:
    with Session(sb.services.engine) as s:
        return s.exec(select(CheckIn)).one()


def _summaries(sb: Sandbox, root: dict[str, str]) -> list[dict]:  # type: ignore[type-arg]
    return [p for p in bot_thread_posts(sb, root["channel"], root["ts"]) if "Development points" in str(p["blocks"])]


def test_worker_mode_leaves_the_analysis_to_the_worker(tmp_path: Path) -> None:
    sb = start_sandbox(tmp_path / "data", growthloop_analysis="worker")
    try:
        root = _play_to_end(sb)
        sb.stub.wait_for(lambda s: _checkin(sb).state == "finishing")
        time.sleep(0.5)  # nothing in this process may take it
        assert _checkin(sb).state == "finishing" and _summaries(sb, root) == []
        worker = Finisher(sb.services, sb.services.extras["slack_client"], run_here=False)
        assert worker.sweep() == 1
        assert worker.sweep() == 0  # done and posted: never twice
        c = _checkin(sb)
        assert c.state == "done" and c.posted_at is not None and c.analysis_claimed_at is None
        assert len(_summaries(sb, root)) == 1
    finally:
        sb.stop()


def test_crash_after_the_analysis_posts_the_closing_message_once(tmp_path: Path) -> None:
    sb = start_sandbox(tmp_path / "data", growthloop_analysis="worker")
    try:
        root = _play_to_end(sb)
        sb.stub.wait_for(lambda s: _checkin(sb).state == "finishing")
        c = _checkin(sb)
        # The state a process leaves when it dies after storing the analysis, before posting anything.
        checkins.finish(sb.services, checkin_id=c.id or 0)
        with Session(sb.services.engine) as s:
            points = list(s.exec(select(DevelopmentPoint)))
        assert points and _checkin(sb).posted_at is None
        worker = Finisher(sb.services, sb.services.extras["slack_client"], run_here=False)
        assert worker.sweep() == 1 and worker.sweep() == 0
        with Session(sb.services.engine) as s:
            assert [p.id for p in s.exec(select(DevelopmentPoint))] == [p.id for p in points]  # no second analysis
            actions = list(s.exec(select(DevelopmentAction)))
        assert len(_summaries(sb, root)) == 1
        course_posts = [p for p in bot_thread_posts(sb, root["channel"], root["ts"]) if "Start" in str(p["blocks"])]
        assert actions and len(course_posts) == len({a.point_id for a in actions})
    finally:
        sb.stop()


def test_a_held_lease_is_respected_until_it_expires(tmp_path: Path) -> None:
    sb = start_sandbox(tmp_path / "data", growthloop_analysis="worker")
    try:
        root = _play_to_end(sb)
        sb.stub.wait_for(lambda s: _checkin(sb).state == "finishing")
        c = _checkin(sb)
        now = sb.services.now()
        with Session(sb.services.engine) as s:  # another runner took it, then died
            assert repo.claim_finish(session=s, checkin_id=c.id or 0, now=now, lease_expired_before=now - LEASE)
            s.commit()
            assert not repo.claim_finish(session=s, checkin_id=c.id or 0, now=now, lease_expired_before=now - LEASE)
        worker = Finisher(sb.services, sb.services.extras["slack_client"], run_here=False)
        assert worker.sweep() == 0 and _summaries(sb, root) == []
        real = sb.services.clock
        sb.services.clock = lambda: real() + LEASE + timedelta(seconds=1)
        assert worker.sweep() == 1
        assert len(_summaries(sb, root)) == 1 and _checkin(sb).state == "done"
    finally:
        sb.stop()


def test_serve_mode_finishes_in_the_background_and_sweeps_at_start(sandbox: Sandbox) -> None:
    sb = sandbox
    root = _play_to_end(sb)
    sb.stub.wait_for(lambda s: _summaries(sb, root))
    finisher = sb.services.extras["finisher"]
    assert finisher.wait_idle(10)
    assert _checkin(sb).posted_at is not None
    # A check-in owed from before a restart (never claimed) is taken by the next sweep of this process.
    with Session(sb.services.engine) as s:
        c = s.exec(select(CheckIn)).one()
        c.state, c.posted_at, c.summary = "done", None, c.summary
        s.add(c)
        s.commit()
    assert finisher.sweep() == 1
    assert len(_summaries(sb, root)) == 2  # re-posted once because this test erased the record of the first post
    assert finisher.sweep() == 0


def test_closing_work_that_keeps_failing_is_retried_then_given_up_after_a_day(tmp_path: Path) -> None:
    sb = start_sandbox(tmp_path / "data", growthloop_analysis="worker")
    try:
        root = _play_to_end(sb)
        sb.stub.wait_for(lambda s: _checkin(sb).state == "finishing")

        class Broken:
            def analyse(self, **_: object) -> None:
                raise RuntimeError("coach down")

        sb.services.extras["coach"] = Broken()
        worker = Finisher(sb.services, sb.services.extras["slack_client"], run_here=False)
        real = sb.services.clock
        assert worker.sweep() == 0 and _checkin(sb).state == "finishing"  # failed: stays owed, lease held
        sb.services.clock = lambda: real() + LEASE + timedelta(seconds=1)
        assert worker.sweep() == 0 and _checkin(sb).analysis_claimed_at is not None  # tried again after the lease
        sb.services.clock = lambda: real() + timedelta(days=1, minutes=5)
        assert worker.sweep() == 0
        c = _checkin(sb)
        assert c.state == "done" and c.posted_at is not None  # left the queue; its answers stay
        sb.services.clock = lambda: real() + timedelta(days=2)
        assert worker.sweep() == 0 and _summaries(sb, root) == []
    finally:
        sb.stop()
