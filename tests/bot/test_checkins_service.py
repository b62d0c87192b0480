"""The check-in service on both stores, with a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot import checkins
from bot.checkin_flow import Move
from bot.services import Services
from storage.db import session_scope
from storage.models import Answer, CheckIn
from storage.people import upsert_person

T0 = datetime(2026, 3, 29, 8, 0, tzinfo=UTC)


@pytest.fixture
def org(services: Services) -> Services:
    services.clock = lambda: T0
    with session_scope(services.engine) as s:
        upsert_person(session=s, slack_id="U0MGR", name="Maria", locale="en")
        upsert_person(session=s, slack_id="U0EMP", name="Erik", manager_slack_id="U0MGR", locale="zh")
        upsert_person(session=s, slack_id="U0OTH", name="Olga")
    return services


def _start(services: Services) -> CheckIn:
    started = checkins.start_guided(services, manager_slack_id="U0MGR", employee_slack_id="U0EMP")
    return checkins.attach_thread(services, checkin_id=started.checkin.id or 0, channel_id="G1", thread_ts="100.1")


def test_refusals(org: Services) -> None:
    with pytest.raises(checkins.Refusal) as r:
        checkins.start_guided(org, manager_slack_id="U0OTH", employee_slack_id="U0EMP")
    assert r.value.key == "checkin_not_your_report" and r.value.kw["name"] == "Erik"
    with pytest.raises(checkins.Refusal, match="checkin_self"):
        checkins.start_guided(org, manager_slack_id="U0MGR", employee_slack_id="U0MGR")
    with pytest.raises(checkins.Refusal, match="checkin_unknown_person"):
        checkins.start_guided(org, manager_slack_id="U0MGR", employee_slack_id="U0NOBODY")


def test_locales_of_a_mixed_pair_and_the_open_checkin_is_reused(org: Services) -> None:
    c = _start(org)
    assert c.locales == ["en", "zh"]
    again = checkins.start_guided(org, manager_slack_id="U0MGR", employee_slack_id="U0EMP")
    assert again.existing and again.checkin.id == c.id


def test_replies_store_and_advance_and_duplicates_do_not(org: Services) -> None:
    c = _start(org)
    t1 = checkins.reply(org, channel_id="G1", thread_ts="100.1", user="U0EMP", text="first", ts="101.1")
    assert t1 is not None and t1.question is not None and t1.checkin.step == 1
    dup = checkins.reply(org, channel_id="G1", thread_ts="100.1", user="U0EMP", text="first", ts="101.1")
    assert dup is not None and dup.duplicate and dup.checkin.step == 1  # the check-in as the first delivery left it
    assert checkins.reply(org, channel_id="G1", thread_ts="100.1", user="U0OTH", text="hi", ts="102.1") is None
    assert checkins.reply(org, channel_id="G1", thread_ts="999.9", user="U0EMP", text="hi", ts="103.1") is None
    t2 = checkins.reply(org, channel_id="G1", thread_ts="100.1", user="U0MGR", text="noted", ts="104.1")
    assert t2 is not None and t2.checkin.step == 2
    back = checkins.reply(org, channel_id="G1", thread_ts="100.1", user="U0EMP", text="back", ts="105.1")
    assert back is not None and back.moved is Move.BACK and back.checkin.step == 1
    with Session(org.engine) as s:
        rows = s.exec(select(Answer).order_by(Answer.id)).all()  # type: ignore[arg-type]
    assert [(a.text, a.author_slack_id, a.step) for a in rows] == [("first", "U0EMP", 0), ("noted", "U0MGR", 1)]
    assert c.id is not None


def test_done_finishes_and_stores_points_once(org: Services) -> None:
    c = _start(org)
    checkins.reply(
        org,
        channel_id="G1",
        thread_ts="100.1",
        user="U0EMP",
        text="I struggle to present our roadmap to the executives.",
        ts="101.1",
    )
    turn = checkins.steer(org, checkin_id=c.id or 0, user="U0EMP", move=Move.DONE)
    assert turn is not None and turn.finished
    fin = checkins.finish(org, checkin_id=c.id or 0)
    assert fin.checkin.state == "done" and fin.checkin.finished_at == T0
    assert [p.competency for p in fin.points] == ["communication"]
    again = checkins.finish(org, checkin_id=c.id or 0)
    assert [p.id for p in again.points] == [p.id for p in fin.points]
    assert checkins.steer(org, checkin_id=c.id or 0, user="U0EMP", move=Move.SKIP) is None


def test_silent_for_seven_days_is_abandoned_with_answers_kept(org: Services) -> None:
    c = _start(org)
    checkins.reply(org, channel_id="G1", thread_ts="100.1", user="U0EMP", text="kept", ts="101.1")
    org.clock = lambda: T0 + timedelta(days=6, hours=23)
    assert checkins.abandon_stale(org) == []
    org.clock = lambda: T0 + timedelta(days=7, minutes=1)
    closed = checkins.abandon_stale(org)
    assert [x.id for x in closed] == [c.id]
    with Session(org.engine) as s:
        assert s.exec(select(CheckIn)).one().state == "abandoned"
        assert s.exec(select(Answer)).one().text == "kept"


def test_point_feedback_only_by_the_employee(org: Services) -> None:
    c = _start(org)
    checkins.reply(
        org,
        channel_id="G1",
        thread_ts="100.1",
        user="U0EMP",
        text="I struggle to present our roadmap to the executives.",
        ts="101.1",
    )
    fin = checkins.finish(org, checkin_id=c.id or 0)
    pid = fin.points[0].id or 0
    assert checkins.set_point_feedback(org, point_id=pid, user="U0MGR", confirm=True) is None
    p = checkins.set_point_feedback(org, point_id=pid, user="U0EMP", confirm=False, reason="It was one bad day")
    assert p is not None and p.disputed and p.dispute_text == "It was one bad day" and p.status == "open"
    assert checkins.close_point(org, point_id=pid, manager_slack_id="U0OTH") is None
    closed = checkins.close_point(org, point_id=pid, manager_slack_id="U0MGR")
    assert closed is not None and closed.status == "closed" and closed.closed_at == T0


def test_replies_while_finishing_are_ignored_but_a_retry_is_recognised(org: Services) -> None:
    c = _start(org)
    for i in range(8):
        turn = checkins.reply(org, channel_id="G1", thread_ts="100.1", user="U0EMP", text=f"a{i}", ts=f"20{i}.1")
    assert turn is not None and turn.finished and turn.checkin.state == "finishing"
    assert checkins.reply(org, channel_id="G1", thread_ts="100.1", user="U0EMP", text="late", ts="300.1") is None
    retry = checkins.reply(org, channel_id="G1", thread_ts="100.1", user="U0EMP", text="a7", ts="207.1")
    assert retry is not None and retry.duplicate and retry.checkin.state == "finishing"
    assert checkins.finish(org, checkin_id=c.id or 0).checkin.state == "done"
    with Session(org.engine) as s:
        assert len(s.exec(select(Answer)).all()) == 8


def test_a_retried_steering_word_moves_only_once(org: Services) -> None:
    _start(org)
    checkins.reply(org, channel_id="G1", thread_ts="100.1", user="U0EMP", text="first", ts="101.1")
    checkins.reply(org, channel_id="G1", thread_ts="100.1", user="U0EMP", text="second", ts="102.1")
    skip = checkins.reply(org, channel_id="G1", thread_ts="100.1", user="U0EMP", text="Skip!", ts="103.1")
    assert skip is not None and skip.moved is Move.SKIP and skip.checkin.step == 3
    again = checkins.reply(org, channel_id="G1", thread_ts="100.1", user="U0EMP", text="Skip!", ts="103.1")
    assert again is not None and again.duplicate and again.checkin.step == 3  # Slack's retry of the same message
    back = checkins.reply(org, channel_id="G1", thread_ts="100.1", user="U0MGR", text="返回", ts="104.1")
    assert back is not None and back.checkin.step == 2
    back_retry = checkins.reply(org, channel_id="G1", thread_ts="100.1", user="U0MGR", text="返回", ts="104.1")
    assert back_retry is not None and back_retry.duplicate and back_retry.checkin.step == 2
    later = checkins.reply(org, channel_id="G1", thread_ts="100.1", user="U0EMP", text="skip", ts="105.1")
    assert later is not None and later.checkin.step == 3  # a new "skip" (another ts) still moves


def test_a_report_who_never_wrote_to_the_bot_is_asked_in_their_slack_language(org: Services) -> None:
    class Directory:
        def user_info(self, slack_id: str) -> dict | None:
            return {"tz": "Asia/Shanghai", "locale": "zh-CN", "profile": {}} if slack_id == "U0NEW" else None

    with session_scope(org.engine) as s:
        upsert_person(session=s, slack_id="U0NEW", name="Nina", manager_slack_id="U0MGR", locale="en")
    org.directory = Directory()
    first = checkins.start_guided(org, manager_slack_id="U0MGR", employee_slack_id="U0NEW")  # the ack path
    assert first.checkin.locales == ["en"]
    started = checkins.start_guided(org, manager_slack_id="U0MGR", employee_slack_id="U0NEW", sync_profiles=True)
    assert started.checkin.id == first.checkin.id and started.checkin.locales == ["en", "zh"]
    assert started.employee.locale == "zh" and started.employee.timezone == "Asia/Shanghai"


def test_store_reply_looks_a_thread_up_once_and_checks_what_it_remembered(
    org: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkins._thread_ids.clear()
    assert checkins.store_reply(org, channel_id="G1", thread_ts="100.1", user="U0EMP", text="hi", ts="100.5") is None
    c = _start(org)  # a thread that was no check-in's a moment ago is found once it is one (no negative memory)
    lookups = []
    real = checkins.find_by_thread
    monkeypatch.setattr(checkins, "find_by_thread", lambda *a, **kw: lookups.append(1) or real(*a, **kw))
    first = checkins.store_reply(org, channel_id="G1", thread_ts="100.1", user="U0EMP", text="one", ts="101.1")
    second = checkins.store_reply(org, channel_id="G1", thread_ts="100.1", user="U0MGR", text="two", ts="102.1")
    assert first is not None and first[1] is not None and first[1].checkin.step == 1
    assert second is not None and second[1] is not None and second[1].checkin.step == 2
    assert len(lookups) == 1  # the second reply went straight to the check-in's row
    dup = checkins.store_reply(org, channel_id="G1", thread_ts="100.1", user="U0MGR", text="two", ts="102.1")
    assert dup is not None and dup[1] is not None and dup[1].duplicate and dup[1].checkin.step == 2
    stranger = checkins.store_reply(org, channel_id="G1", thread_ts="100.1", user="U0OTH", text="x", ts="103.1")
    assert stranger is not None and stranger[0].id == c.id and stranger[1] is None  # the thread's, not an answer
    steer = checkins.store_reply(org, channel_id="G1", thread_ts="100.1", user="U0EMP", text="back", ts="104.1")
    assert steer is not None and steer[1] is not None and steer[1].moved is Move.BACK
    # a remembered id that names another thread's row now (an id reused by SQLite): looked up again, stored right
    checkins._thread_ids[("G1", "100.1")] = 10_000
    with session_scope(org.engine) as s:
        s.add(CheckIn(id=10_000, kind="guided", employee_slack_id="U0EMP", channel_id="G9", thread_ts="9.9"))
    again = checkins.store_reply(org, channel_id="G1", thread_ts="100.1", user="U0EMP", text="three", ts="105.1")
    assert again is not None and again[0].id == c.id and again[1] is not None and not again[1].duplicate
    assert checkins._thread_ids[("G1", "100.1")] == c.id
    with Session(org.engine) as s:
        texts = [a.text for a in s.exec(select(Answer).order_by(Answer.id)).all()]  # type: ignore[arg-type]
    assert texts == ["one", "two", "three"]


def test_check_in_locks_serialise_one_check_in_and_are_not_kept_per_check_in(org: Services) -> None:
    import gc
    import threading
    import time

    c = _start(org)
    checkins.store_reply(org, channel_id="G1", thread_ts="100.1", user="U0EMP", text="one", ts="101.1")
    gc.collect()
    assert c.id not in checkins._locks  # nobody holds it: nothing remembered for this check-in
    order: list[str] = []
    held = threading.Event()

    def first() -> None:
        with checkins._lock(7):
            held.set()
            time.sleep(0.2)
            order.append("first")

    t = threading.Thread(target=first)
    t.start()
    held.wait(5)
    with checkins._lock(7):  # the same check-in waits for the holder
        order.append("second")
    with checkins._lock(8):  # another check-in does not
        pass
    t.join()
    assert order == ["first", "second"]
    gc.collect()
    assert 7 not in checkins._locks and 8 not in checkins._locks


def test_a_reply_that_races_the_roots_record_waits_for_it_and_is_stored(
    org: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    checkins._thread_ids.clear()
    started = checkins.start_guided(org, manager_slack_id="U0MGR", employee_slack_id="U0EMP")
    checkins.note_channel(org, checkin_id=started.checkin.id or 0, channel_id="G1")
    # the root is posted (ts 100.1) and its reply arrives before the ts is recorded; the record follows 0.2 s later
    attach = threading.Timer(
        0.2, lambda: checkins.attach_thread(org, checkin_id=started.checkin.id or 0, channel_id="G1", thread_ts="100.1")
    )
    attach.start()
    try:
        got = checkins.store_reply(org, channel_id="G1", thread_ts="100.1", user="U0EMP", text="hi there", ts="100.2")
    finally:
        attach.join()
    assert got is not None and got[1] is not None and got[1].checkin.step == 1
    with Session(org.engine) as s:
        assert [a.text for a in s.exec(select(Answer)).all()] == ["hi there"]
    # someone with no check-in being started: a reply in an unknown thread is no check-in's, at once
    assert checkins.store_reply(org, channel_id="G1", thread_ts="7.7", user="U0OTH", text="x", ts="7.8") is None


def test_a_reply_whose_root_is_never_recorded_is_refused_for_a_retry_and_old_pending_roots_are_ignored(
    org: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkins._thread_ids.clear()
    monkeypatch.setattr(checkins, "ROOT_WAIT_S", 0.1)
    started = checkins.start_guided(org, manager_slack_id="U0MGR", employee_slack_id="U0EMP")
    checkins.note_channel(org, checkin_id=started.checkin.id or 0, channel_id="G1")
    # a reply in another conversation of the same person (a DM thread with the bot) does not wait for it
    assert checkins.store_reply(org, channel_id="D1", thread_ts="100.1", user="U0EMP", text="hi", ts="100.2") is None
    with pytest.raises(checkins.ThreadNotReady):  # the request fails, so Slack delivers the reply again
        checkins.store_reply(org, channel_id="G1", thread_ts="100.1", user="U0EMP", text="hi", ts="100.2")
    with pytest.raises(checkins.ThreadNotReady):  # a steering word alike
        checkins.store_reply(org, channel_id="G1", thread_ts="100.1", user="U0MGR", text="done", ts="100.3")
    # a root whose post failed long ago (its check-in still open, no thread): other threads are not held up by it
    org.clock = lambda: T0 + checkins.ROOT_PENDING_FOR + timedelta(seconds=1)
    assert checkins.store_reply(org, channel_id="G1", thread_ts="100.1", user="U0EMP", text="hi", ts="100.4") is None
    with Session(org.engine) as s:
        assert s.exec(select(Answer)).all() == []
