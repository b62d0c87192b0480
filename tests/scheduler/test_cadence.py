"""parse_duration (property tests), pause/resume/status on both stores, holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.cadence import (
    DurationError,
    UserError,
    add_holiday,
    list_holidays,
    parse_duration,
    pause,
    resume,
    set_cadence,
    status,
    status_text,
)
from bot.people import import_people
from bot.services import Services

PEOPLE = """slack_id,name,email,manager_slack_id,team,role,timezone,locale,is_hr_admin
U0HR,Hana,,,people,,Asia/Singapore,en,true
U0MGR,Maria,,,growth,,Europe/Berlin,en,false
U0EMP,Erik,,U0MGR,growth,,America/New_York,zh,false
"""
NOW = datetime(2024, 10, 24, 12, 0, tzinfo=UTC)  # Thursday; Berlin leaves summer time on Sunday 27 Oct


@pytest.mark.parametrize(("text", "days"), [("2w", 14), ("10d", 10), ("3 days", 3), ("1 week", 7), ("2周", 14),
                                            ("10天", 10), ("两周", 14), ("2 Weeks", 14), ("1d", 1), ("52w", 364)])
def test_parse_duration_accepts(text: str, days: int) -> None:
    assert parse_duration(text) == timedelta(days=days)


@pytest.mark.parametrize("text", ["", "2", "w", "-2w", "0d", "2x", "1.5w", "53w", "366天", "2w3d", "two weeks"])
def test_parse_duration_rejects_with_a_reason_in_both_languages(text: str) -> None:
    with pytest.raises(DurationError) as exc:
        parse_duration(text)
    assert exc.value.text("en") != exc.value.text("zh")
    assert str(exc.value) == exc.value.text("en")


@given(st.integers(min_value=1, max_value=365), st.sampled_from(["d", " days", "天", "day"]), st.booleans())
def test_parse_duration_days_roundtrip(n: int, unit: str, spaced: bool) -> None:
    assert parse_duration(f"{' ' if spaced else ''}{n}{unit}") == timedelta(days=n)


@given(st.integers(min_value=1, max_value=52), st.sampled_from(["w", " weeks", "周", "wk"]))
def test_parse_duration_weeks_roundtrip(n: int, unit: str) -> None:
    assert parse_duration(f"{n}{unit}") == timedelta(weeks=n)


@given(st.integers(min_value=-10_000, max_value=0) | st.integers(min_value=366, max_value=10**9),
       st.sampled_from(["d", "days", "天"]))
def test_parse_duration_rejects_out_of_range(n: int, unit: str) -> None:
    with pytest.raises(DurationError):
        parse_duration(f"{n}{unit}")


@given(st.text(max_size=30))
def test_parse_duration_never_raises_anything_else(text: str) -> None:
    try:
        d = parse_duration(text)
    except DurationError:
        return
    assert timedelta(days=1) <= d <= timedelta(days=365)


@pytest.fixture
def org(services: Services) -> Services:
    services.clock = lambda: NOW
    import_people(services, PEOPLE)
    return services


def test_pause_status_resume(org: Services) -> None:
    until = pause(org, slack_id="U0EMP", duration=parse_duration("2w"))
    assert until == NOW + timedelta(days=14)
    info = status(org, slack_id="U0EMP")
    assert info.paused_until == until
    assert info.as_employee is not None and info.as_employee.at > until  # no check-in while paused
    mgr = status(org, slack_id="U0MGR")
    assert mgr.as_manager[0].at == info.as_employee.at  # the pair is paused for the manager too
    assert "暂停至" in status_text(info, tz="America/New_York", locale="zh")
    resume(org, slack_id="U0EMP")
    info = status(org, slack_id="U0EMP")
    assert info.paused_until is None
    # Tue 10:00 Berlin (winter time) is 05:00 in New York: the nearest time both work is 14:00 Berlin, 09:00 New York
    assert info.as_employee.at == datetime(2024, 10, 29, 13, 0, tzinfo=UTC)


def test_status_text_in_the_users_zone_and_language(org: Services) -> None:
    text = status_text(status(org, slack_id="U0MGR"), tz="Europe/Berlin", locale="en")
    assert "Next check-in with <@U0EMP>: Tue 29 Oct 14:00 (weekly)" in text
    zh = status_text(status(org, slack_id="U0EMP"), tz="America/New_York", locale="zh")
    assert "10月29日 周二 09:00" in zh and "每周" in zh  # not 05:00: the time is one both work


def test_cadence_and_holiday_move_the_next_checkin(org: Services) -> None:
    set_cadence(org, team="growth", frequency="monthly", weekday=0, local_time="11:00")
    # the first Monday of November, 11:00 Berlin = 05:00 New York: moved to 15:00 Berlin = 09:00 New York
    assert status(org, slack_id="U0EMP").as_employee.at == datetime(2024, 11, 4, 14, 0, tzinfo=UTC)
    set_cadence(org, manager_slack_id="U0MGR", employee_slack_id="U0EMP", frequency="weekly", weekday=3)
    # Thursdays 10:00 Berlin: today's is moved into New York's morning, 13:00 UTC, so it is still ahead at 12:00
    assert status(org, slack_id="U0EMP").as_employee.at == datetime(2024, 10, 24, 13, 0, tzinfo=UTC)
    org.clock = lambda: NOW + timedelta(hours=2)
    assert add_holiday(org, admin_slack_id="U0HR", day=date(2024, 10, 31), name="Reformation Day")
    assert status(org, slack_id="U0EMP").as_employee.at == datetime(2024, 11, 1, 13, 0, tzinfo=UTC)  # Friday
    assert list_holidays(org, admin_slack_id="U0HR") == [(date(2024, 10, 31), "Reformation Day")]
    with pytest.raises(UserError):
        add_holiday(org, admin_slack_id="U0EMP", day=date(2024, 12, 25))


def test_unknown_person(org: Services) -> None:
    with pytest.raises(UserError):
        pause(org, slack_id="U0NOBODY", duration=timedelta(days=1))
