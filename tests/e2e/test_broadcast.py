"""End to end: `/hr broadcast`, `/hr cycle start`, `/hr holidays` and their bad input, through signed requests."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.demo.sandbox import Sandbox
from scheduler import jobs
from storage.db import session_scope
from storage.models import Broadcast, Cadence, Cycle, Delivery, Holiday, Person

EVERYONE = {"D0HR", "D0MGR", "D0MGRZH", "D0EMP", "D0EMP2", "D0EMP3", "D0EMPZH", "D0EMPZH2"}


def reply(sent) -> str:  # noqa: ANN001
    assert sent.status == 200
    return sent.json()["text"]


def test_broadcast_to_all_then_report_to_hr(sandbox: Sandbox) -> None:
    text = reply(sandbox.driver.slash("U0HR", "/hr", "broadcast all Q3 check-ins close on Friday 🙏"))
    assert "Sending to 8 people (all)" in text
    sandbox.stub.wait_for(
        lambda s: any("Delivery report" in c.params.get("text", "") for c in s.calls_of("chat.postMessage"))
    )
    posts = Counter(
        c.response["channel"] for c in sandbox.stub.calls_of("chat.postMessage") if c.params["text"].startswith("📣")
    )
    assert set(posts) == EVERYONE and set(posts.values()) == {1}
    zh = next(c for c in sandbox.stub.calls_of("chat.postMessage") if c.response["channel"] == "D0EMPZH")
    assert zh.params["text"].startswith("📣 来自 Hana（HR）的通知")
    report = next(c for c in sandbox.stub.calls_of("chat.postMessage") if "Delivery report" in c.params["text"])
    assert report.response["channel"] == "D0HR" and "8 sent, 0 failed, 0 pending" in report.params["text"]


def test_broadcast_to_managers_and_a_team(sandbox: Sandbox) -> None:
    assert "2 people" in reply(sandbox.driver.slash("U0HR", "/hr", "broadcast managers Calibration on Monday"))
    assert "4 people" in reply(sandbox.driver.slash("U0HR", "/hr", "broadcast team:Growth Demo day!"))


@pytest.mark.parametrize(
    ("user", "text", "expected"),
    [
        ("U0EMP", "broadcast all hi", "Only HR admins can use `/hr`"),
        ("U0MGRZH", "cycle start Q3 2099-09-30", "只有 HR 管理员可以使用"),
        ("U0HR", "broadcast team:nosuch hello", "There is no team “nosuch”. Known teams: growth, people, platform."),
        ("U0HR", "broadcast everyone hello", "Usage: `/hr broadcast"),
        ("U0HR", "broadcast all", "Usage: `/hr broadcast"),
        ("U0HR", "cycle start Q3 2020-09-30", "The end date 2020-09-30 is not in the future"),
        ("U0HR", "cycle start Q3 30/09/2099", "“30/09/2099” is not a date"),
        ("U0HR", "cycle start Q3 2099-02-30", "“2099-02-30” is not a date"),
        ("U0HR", "cycle start Q3", "Usage: `/hr cycle start NAME YYYY-MM-DD`"),
        ("U0HR", "holidays add tomorrow", "“tomorrow” is not a date"),
        ("U0HR", "holidays", "No company holidays yet"),
        ("U0HR", "dance", "Usage: `/hr broadcast all|managers|team:NAME message`, `/hr cycle start"),
    ],
)
def test_bad_input_is_explained_and_nothing_is_scheduled(sandbox: Sandbox, user: str, text: str, expected: str) -> None:
    assert expected in reply(sandbox.driver.slash(user, "/hr", text))
    with session_scope(sandbox.services.engine) as session:
        assert not session.exec(select(Broadcast)).all()
        assert not session.exec(select(Cycle)).all()
        assert not session.exec(select(Delivery)).all()
        assert not session.exec(select(Holiday)).all()


def test_holidays_add_list_remove(sandbox: Sandbox) -> None:
    assert "2099-12-25 Christmas is a company holiday" in reply(
        sandbox.driver.slash("U0HR", "/hr", "holidays add 2099-12-25 Christmas")
    )
    assert "25 Dec 2099 Christmas" in reply(sandbox.driver.slash("U0HR", "/hr", "holidays list"))
    assert "no longer a company holiday" in reply(sandbox.driver.slash("U0HR", "/hr", "holidays remove 2099-12-25"))


def test_cycle_start_reminds_those_not_done_at_their_local_time(sandbox: Sandbox) -> None:
    start = datetime(2025, 9, 1, 1, 0, tzinfo=UTC)  # Monday 09:00 in Singapore (Hana)
    sandbox.services.clock = lambda: start
    text = reply(sandbox.driver.slash("U0HR", "/hr", "cycle start 2025-Q3 2025-09-30"))
    assert "Cycle “2025-Q3” is open until 30 Sep 2025" in text and "Mon 1 Sep, Mon 15 Sep, Fri 26 Sep" in text
    jobs.bind(sandbox.services)
    sandbox.services.clock = lambda: datetime(2025, 9, 1, 2, 30, tzinfo=UTC)  # 10:30 Shanghai, 04:30 Berlin
    jobs.tick()
    jobs.deliver()
    got = {c.response["channel"] for c in sandbox.stub.calls_of("chat.postMessage") if "2025-Q3" in c.params["text"]}
    assert got == {"D0MGRZH", "D0EMPZH", "D0EMPZH2"}  # only where it is already 10:00; Maria's team later
    mgr = next(c for c in sandbox.stub.calls_of("chat.postMessage") if c.response["channel"] == "D0MGRZH")
    assert "<@U0EMPZH>" in mgr.params["text"] and "评估周期" in mgr.params["text"]
    sandbox.services.clock = lambda: datetime(2025, 9, 1, 8, 5, tzinfo=UTC)  # 10:05 Berlin
    jobs.tick()
    jobs.deliver()
    got = Counter(
        c.response["channel"] for c in sandbox.stub.calls_of("chat.postMessage") if "2025-Q3" in c.params["text"]
    )  # (employees also get their reflection prompt for Tuesday)
    assert {"D0MGR", "D0EMP", "D0EMP2"} <= set(got) and max(got.values()) == 1
    assert "D0HR" not in got  # HR has no manager on file: no check-in to remind about
    sandbox.services.clock = lambda: datetime(2025, 9, 1, 8, 5, tzinfo=UTC) + timedelta(hours=1)
    jobs.tick()
    assert jobs.tick() == 0  # nothing twice
    reports = [c for c in sandbox.stub.calls_of("chat.postMessage") if "Delivery report" in c.params["text"]]
    assert reports == []  # Sam (New York) has not had his reminder yet: the round is not over
    sandbox.services.clock = lambda: datetime(2025, 9, 1, 14, 5, tzinfo=UTC)  # 10:05 in New York
    jobs.tick()
    jobs.deliver()
    reports = [c for c in sandbox.stub.calls_of("chat.postMessage") if "Delivery report" in c.params["text"]]
    assert [(c.response["channel"], c.params["text"]) for c in reports] == [
        (
            "D0HR",
            "Delivery report for the start reminder of the cycle “2025-Q3” (1 Sep 2025): 7 sent, 0 failed, 0 pending.",
        )
    ]  # to the admin who started the cycle: 5 employees and their 2 managers


def test_hr_sets_team_and_pair_cadences_and_the_nudges_follow(sandbox: Sandbox) -> None:
    sandbox.services.clock = lambda: datetime(2024, 10, 28, 12, 0, tzinfo=UTC)  # Monday
    text = reply(sandbox.driver.slash("U0HR", "/hr", "cadence team:Growth biweekly thu 15:00"))
    assert text == (
        "✅ Team growth now checks in every two weeks on Thursday at 15:00 (the team's own cadence; each "
        "manager's local time, moved into hours both work for a report in another time zone). 3 pair(s) follow it."
    )
    text = reply(sandbox.driver.slash("U0HR", "/hr", "cadence <@U0EMP|erik> weekly mon 11:00"))
    assert text == (
        "✅ <@U0EMP> and <@U0MGR> now check in weekly on Monday at 11:00 (their own cadence; the manager's "
        "local time, moved into hours both work when you are in different time zones). Next check-in: Mon 4 Nov "
        "18:00 (your time)."
    )  # 11:00 Berlin = 18:00 Singapore
    shown = reply(sandbox.driver.slash("U0HR", "/hr", "cadence show team:growth"))
    assert shown.startswith("*Team growth*: every two weeks on Thursday at 15:00") and "2 pair(s) follow it" in shown
    assert "• <@U0EMP> with <@U0MGR>: weekly on Monday at 11:00" in shown
    # Priya is in Kolkata, where 15:00 Berlin is 19:30: her pair meets at 13:00 Berlin (17:30 Kolkata, 20:00 Singapore)
    assert "Next check-in: Thu 31 Oct 20:00" in reply(sandbox.driver.slash("U0HR", "/hr", "cadence <@U0EMP2>"))
    assert "*Team platform*: weekly on Tuesday at 10:00 (the default" in reply(
        sandbox.driver.slash("U0HR", "/hr", "cadence show")
    )

    jobs.bind(sandbox.services)
    for now in (
        datetime(2024, 10, 29, 9, 0, 30, tzinfo=UTC),
        datetime(2024, 10, 31, 12, 0, 30, tzinfo=UTC),
        datetime(2024, 10, 31, 14, 0, 30, tzinfo=UTC),
    ):
        sandbox.services.clock = lambda now=now: now  # Tue 10:00 Berlin (the old default), then Thu 13:00 and 15:00
        jobs.tick()
        jobs.deliver()
    due = [
        c.params["text"]
        for c in sandbox.stub.calls_of("chat.postMessage")
        if c.response["channel"] == "D0MGR" and " is due" in c.params["text"]
    ]
    assert sorted(d.split(" is due")[0] for d in due) == ["Check-in with Priya", "Check-in with Sam"]
    slots = {d.split(" is due")[0]: d.split(" is due (")[1].split(")")[0] for d in due}
    assert slots == {"Check-in with Priya": "Thu 31 Oct 13:00", "Check-in with Sam": "Thu 31 Oct 15:00"}


@pytest.mark.parametrize(
    ("user", "text", "expected"),
    [
        ("U0EMP", "cadence team:growth weekly", "Only HR admins can use `/hr`"),
        ("U0MGRZH", "cadence team:platform 每周", "只有 HR 管理员可以使用"),
        ("U0HR", "cadence team:nosuch weekly", "There is no team “nosuch”. Known teams: growth, people, platform."),
        ("U0HR", "cadence team:growth weekly sat", "“sat” is a weekend day"),
        ("U0HR", "cadence team:growth daily", "“daily” is not a cadence"),
        ("U0HR", "cadence team:growth weekly 7:00", "7:00 is outside working hours (09:00–18:00)"),
        ("U0HR", "cadence team:growth weekly 1030", "“1030” is not a time"),
        ("U0HR", "cadence <@U0MGR> weekly", "<@U0MGR> has no manager on file"),
        ("U0HR", "cadence @nobody weekly", "I don't know “@nobody”"),
        ("U0HR", "cadence", "Usage: `/hr cadence team:NAME"),
        ("U0HR", "cadence show team:growth extra", "Usage: `/hr cadence team:NAME"),
    ],
)
def test_cadence_bad_input_is_explained_and_nothing_changes(
    sandbox: Sandbox, user: str, text: str, expected: str
) -> None:
    assert expected in reply(sandbox.driver.slash(user, "/hr", text))
    with session_scope(sandbox.services.engine) as session:
        assert not session.exec(select(Cadence)).all()


def test_cadence_errors_in_the_admins_language(sandbox: Sandbox) -> None:
    sandbox.stub.users["U0HR"]["locale"] = "zh-CN"  # (first contact syncs the locale from Slack)
    with session_scope(sandbox.services.engine) as session:
        hana = session.exec(select(Person).where(Person.slack_id == "U0HR")).one()
        hana.locale = "zh"
        session.add(hana)
    assert "“周六”是周末" in reply(sandbox.driver.slash("U0HR", "/hr", "cadence team:growth 每周 周六"))
    assert "团队 growth 的 check-in 频率已设为每两周（周四 15:00）" in reply(
        sandbox.driver.slash("U0HR", "/hr", "cadence team:growth 每两周四 15:00")
    )
