"""A pair in two time zones meets at an hour both work (`fit_both`), whatever the zones, dates and DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.slots import DEFAULT_WINDOW, MEETING, _fit_exact, fit_both, local_instant, zone

ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Asia/Shanghai",
    "Asia/Kolkata",
    "America/Los_Angeles",
    "UTC",
    "Australia/Sydney",
    "Asia/Kathmandu",
    "Pacific/Kiritimati",
    "America/Sao_Paulo",
    "Europe/London",
]


def working(when: datetime, tz: str, until: timedelta = timedelta(0)) -> bool:
    """`when` (and `until` after it) inside tz's 9-18 on a weekday."""
    local = when.astimezone(zone(tz))
    end = (when + until).astimezone(zone(tz))
    return local.weekday() < 5 and time(9) <= local.time() and end.date() == local.date() and end.time() <= time(18)


def test_london_manager_new_york_report_meet_in_new_yorks_morning() -> None:
    ten = local_instant(date(2026, 12, 8), time(10), "Europe/London")  # 05:00 in New York
    got = fit_both(ten, "Europe/London", "America/New_York")
    assert got == datetime(2026, 12, 8, 14, 0, tzinfo=UTC)  # 14:00 London, 09:00 New York


def test_a_time_both_already_work_is_kept() -> None:
    ten = local_instant(date(2026, 12, 8), time(10), "America/New_York")  # 15:00 in London
    assert fit_both(ten, "America/New_York", "Europe/London") == ten


def test_no_shared_hour_takes_the_end_of_the_day_nearest_the_other() -> None:
    ten = local_instant(date(2026, 12, 8), time(10), "Asia/Shanghai")  # 21:00 the evening before in New York
    got = fit_both(ten, "Asia/Shanghai", "America/New_York")
    assert got.astimezone(zone("Asia/Shanghai")).time() == time(9)  # 20:00 New York: two hours late, not five early


@given(
    st.sampled_from(ZONES), st.sampled_from(ZONES), st.dates(date(2024, 1, 1), date(2027, 12, 31)), st.integers(9, 17)
)
def test_the_result_is_the_managers_day_and_hours_and_the_others_when_they_share_any(
    tz: str, other: str, day: date, hour: int
) -> None:
    if day.weekday() >= 5:
        day += timedelta(days=7 - day.weekday())
    when = local_instant(day, time(hour), tz)
    got = fit_both(when, tz, other, DEFAULT_WINDOW)
    assert got.astimezone(zone(tz)).date() == day and working(got, tz, MEETING)
    shared = [local_instant(day, time(9), tz) + timedelta(minutes=15 * i) for i in range(36)]
    shared = [p for p in shared if working(p, tz, MEETING) and working(p, other, MEETING)]
    if shared:  # some time of the day suits both: the result is one, and none nearer to the asked time is
        assert working(got, other, MEETING)
        assert min(abs(p - when) for p in shared) >= abs(got - when) - timedelta(minutes=15)
    if working(when, tz, MEETING) and working(when, other, MEETING):
        assert got == when


@settings(max_examples=400)
@given(st.sampled_from(ZONES), st.sampled_from(ZONES), st.datetimes(datetime(2024, 1, 1), datetime(2027, 12, 31)))
def test_the_fast_minutes_and_the_instant_by_instant_answers_agree(tz: str, other: str, naive: datetime) -> None:
    when = naive.replace(second=0, microsecond=0, tzinfo=UTC)
    assert fit_both(when, tz, other) == _fit_exact(when, tz, other, DEFAULT_WINDOW)


def test_around_a_clock_change_the_answer_is_still_a_time_both_work() -> None:
    # Berlin leaves summer time on 27 Oct 2024, New York on 3 Nov: the week between, they are 5 hours apart
    for day in (date(2024, 10, 25), date(2024, 10, 28), date(2024, 11, 1), date(2024, 11, 4)):
        got = fit_both(local_instant(day, time(10), "Europe/Berlin"), "Europe/Berlin", "America/New_York")
        assert got.astimezone(zone("America/New_York")).time() == time(9), day


@pytest.mark.parametrize(
    "change",
    [date(2024, 3, 10), date(2024, 3, 31), date(2024, 4, 7), date(2024, 10, 6), date(2024, 10, 27), date(2024, 11, 3)],
)
def test_the_two_ways_agree_hour_by_hour_around_each_clock_change(change: date) -> None:
    """US, EU and Sydney clock changes: every hour from three days before to three days after, every pair of zones."""
    zones = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]
    base = datetime.combine(change, time(0), tzinfo=UTC)
    for h in range(-72, 73):
        when = base + timedelta(hours=h)
        for tz in zones:
            for other in zones:
                assert fit_both(when, tz, other) == _fit_exact(when, tz, other, DEFAULT_WINDOW), (when, tz, other)
