"""Cycle reminder rounds end with a delivery report to the admin who started the cycle, one per round."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlmodel import select

from bot.broadcasts import queue_cycle_reminders, start_cycle
from bot.services import Services
from bot.slack.sandbox import SlackStub
from scheduler.delivery import drain
from scheduler.sender import SlackSender
from storage.db import session_scope
from storage.models import Broadcast, Person


@pytest.fixture
def stub() -> Iterator[SlackStub]:
    s = SlackStub().start()
    original = s._m_chat_postMessage

    def post(p: dict[str, Any]) -> dict[str, Any]:  # Sam's account is deactivated
        return {"ok": False, "error": "account_inactive"} if p.get("channel") == "U0SAM" else original(p)

    s._m_chat_postMessage = post  # type: ignore[method-assign]
    yield s
    s.stop()


@pytest.fixture
def org(services: Services, stub: SlackStub) -> Services:
    people = [
        ("U0HR", "Hana", None, "Asia/Singapore", "zh", True),
        ("U0MGR", "Maria", None, "Europe/Berlin", "en", False),
        ("U0ERIK", "Erik", "U0MGR", "Europe/Berlin", "en", False),
        ("U0SAM", "Sam", "U0MGR", "America/New_York", "en", False),
    ]
    with session_scope(services.engine) as session:
        for sid, name, mgr, tz, loc, hr in people:
            session.add(Person(slack_id=sid, name=name, manager_slack_id=mgr, timezone=tz, locale=loc, is_hr_admin=hr))
            stub.add_user(sid, name, tz=tz)
    return services


def _send(services: Services, stub: SlackStub, now: datetime) -> None:
    services.clock = lambda: now
    queue_cycle_reminders(services, now=now)
    client = WebClient(token="xoxb-test", base_url=stub.base_url, retry_handlers=[])
    drain(services, SlackSender(client, rate_per_s=1000, burst=10), until_empty=True)


def _reports(stub: SlackStub) -> list[str]:
    return [c.params["text"] for c in stub.calls_of("chat.postMessage") if c.response["channel"] == "D0HR"]


def test_each_reminder_round_is_reported_to_the_admin_once_every_zone_had_it(org: Services, stub: SlackStub) -> None:
    org.clock = lambda: datetime(2025, 9, 1, 1, 0, tzinfo=UTC)  # Monday 09:00 in Singapore
    cycle, days = start_cycle(org, admin_slack_id="U0HR", name="2025-Q3", end_text="2025-09-30")
    assert len(days) == 3

    _send(org, stub, datetime(2025, 9, 1, 8, 5, tzinfo=UTC))  # 10:05 in Berlin, 04:05 in New York
    assert {c.response["channel"] for c in stub.calls_of("chat.postMessage")} == {"D0MGR", "D0ERIK"}
    assert _reports(stub) == []  # Sam's reminder is still ahead: the round is not over
    with session_scope(org.engine) as session:
        (b,) = session.exec(select(Broadcast)).all()
        assert (b.kind, b.status, b.cycle_id, b.created_by) == ("cycle_reminder", "queued", cycle.id, "U0HR")

    _send(org, stub, datetime(2025, 9, 1, 14, 5, tzinfo=UTC))  # 10:05 in New York: Sam's fails
    (report,) = _reports(stub)
    assert report.startswith("评估周期“2025-Q3”开始提醒（2025年9月1日）的发送报告：已发送 2，失败 1，待发送 0。")
    assert "<@U0SAM>：account_inactive" in report

    _send(org, stub, datetime(2025, 9, 2, 14, 5, tzinfo=UTC))  # the next day: nothing new, no second report
    assert len(_reports(stub)) == 1

    _send(org, stub, datetime(2025, 9, 15, 14, 5, tzinfo=UTC))  # the midway round, all zones at once (late)
    reports = _reports(stub)
    assert len(reports) == 2 and reports[1].startswith(
        "评估周期“2025-Q3”中期提醒（2025年9月15日）的发送报告：已发送 2，失败 1"
    )
    with session_scope(org.engine) as session:
        rounds = session.exec(select(Broadcast).order_by(Broadcast.id)).all()
        assert [(r.message, r.status, r.report_sent) for r in rounds] == [
            ("start 2025-09-01", "done", True),
            ("midway 2025-09-15", "done", True),
        ]


def test_an_english_admin_reads_the_report_in_english(org: Services, stub: SlackStub) -> None:
    with session_scope(org.engine) as session:
        hr = session.exec(select(Person).where(Person.slack_id == "U0HR")).one()
        hr.locale = "en"
        session.add(hr)
    org.clock = lambda: datetime(2025, 9, 1, 1, 0, tzinfo=UTC)
    start_cycle(org, admin_slack_id="U0HR", name="2025-Q3", end_text="2025-09-30")
    _send(org, stub, datetime(2025, 9, 26, 14, 5, tzinfo=UTC))  # the last round (Fri 26 Sep)
    (report,) = _reports(stub)
    assert report.startswith(
        "Delivery report for the last (3 days before the end) reminder of the cycle “2025-Q3” "
        "(26 Sep 2025): 2 sent, 1 failed, 0 pending."
    )
    assert "• <@U0SAM>: account_inactive" in report
