"""HR analytics on a small fixture org and on an empty store (both backends), and its renderings."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from bot.analytics import CSV_COLUMNS, compute_report, render_csv, render_png, render_text
from bot.analytics.compute import SMALL_TEAMS
from bot.analytics.periods import month_periods
from bot.services import Services
from storage.db import session_scope
from storage.models import CheckIn, Cycle, DevelopmentAction, DevelopmentPoint, LearningRecord, Person, Recognition
from storage.people import upsert_person

NOW = datetime(2024, 5, 20, 12, 0, tzinfo=UTC)


def at(month: int, day: int) -> datetime:
    return datetime(2024, month, day, 10, 0, tzinfo=UTC)


def seed_org(services: Services) -> None:
    """Two teams: growth (E1-E3 under M1) and platform (E4, E5 under M2); due = 5 per period."""
    with session_scope(services.engine) as s:
        upsert_person(session=s, slack_id="UHR", name="Hana", team="people", is_hr_admin=True)
        upsert_person(session=s, slack_id="UM1", name="Maria", team="growth")
        upsert_person(session=s, slack_id="UM2", name="Li", team="platform")
        for sid, team, mgr in [
            ("UE1", "growth", "UM1"),
            ("UE2", "growth", "UM1"),
            ("UE3", "growth", "UM1"),
            ("UE4", "platform", "UM2"),
            ("UE5", "platform", "UM2"),
        ]:
            upsert_person(session=s, slack_id=sid, name="Name" + sid, team=team, manager_slack_id=mgr)
        for person in s.exec(select(Person)):  # imported before the periods the report looks at
            person.created_at = datetime(2023, 12, 1, tzinfo=UTC)
            s.add(person)
        for emp, mgr, when in [
            ("UE1", "UM1", at(5, 2)),
            ("UE2", "UM1", at(5, 3)),
            ("UE4", "UM2", at(5, 6)),
            ("UE1", "UM1", at(4, 9)),
        ]:
            s.add(CheckIn(employee_slack_id=emp, manager_slack_id=mgr, state="done", started_at=when, finished_at=when))
        s.add(CheckIn(employee_slack_id="UE3", manager_slack_id="UM1", state="open", started_at=at(5, 4)))
        p1 = DevelopmentPoint(
            person_slack_id="UE1",
            competency="communication",
            evidence="e",
            created_at=at(4, 10),
            status="closed",
            closed_at=at(5, 5),
        )
        p2 = DevelopmentPoint(person_slack_id="UE2", competency="planning", evidence="e", created_at=at(4, 12))
        p3 = DevelopmentPoint(
            person_slack_id="UE4",
            competency="feedback",
            evidence="e",
            created_at=at(5, 2),
            status="closed",
            closed_at=at(5, 15),
        )
        for p in (p1, p2, p3):
            s.add(p)
        s.flush()
        a1 = DevelopmentAction(
            point_id=p1.id, person_slack_id="UE1", kind="course", course_id="c1", status="done", created_at=at(4, 10)
        )
        s.add(a1)
        for status in ("done", "started", "not_relevant", "done"):
            s.add(
                DevelopmentAction(
                    point_id=p3.id, person_slack_id="UE4", kind="practice", status=status, created_at=at(5, 3)
                )
            )
        s.flush()
        s.add(LearningRecord(person_slack_id="UE1", course_id="c1", action_id=a1.id, status="completed", at=at(4, 20)))
        s.add(LearningRecord(person_slack_id="UE1", course_id="c2", status="started", at=at(5, 8)))
        s.add(LearningRecord(person_slack_id="UE4", course_id="c3", status="completed", at=at(5, 9)))
        s.add(LearningRecord(person_slack_id="UE5", course_id="c4", status="not_relevant", at=at(5, 9)))
        s.add(
            Recognition(giver_slack_id="UE1", receivers=["UE4"], message="m", values=["one_team"], created_at=at(5, 10))
        )
        s.add(
            Recognition(
                giver_slack_id="UM1",
                receivers=["UE1", "UE2"],
                message="m",
                values=["customer_first"],
                created_at=at(5, 11),
            )
        )


def test_fixture_org_metrics(services: Services) -> None:
    seed_org(services)
    report = compute_report(services, now=NOW)
    assert report.basis == "months" and [m.period.label for m in report.periods] == [
        "2024-01",
        "2024-02",
        "2024-03",
        "2024-04",
        "2024-05",
    ]
    may, april = report.current, report.periods[-2]
    assert [(c.team, c.done, c.due) for c in may.coverage] == [("growth", 2, 3), ("platform", 1, 2)]
    assert (april.checkins_done, april.checkins_due) == (1, 5)
    assert (may.actions_done, may.actions_total) == (2, 3)  # not_relevant is left out
    assert (may.learners, may.people) == (2, 8)  # not_relevant learning is not participation
    assert may.kudos == 2 and may.kudos_given_by_team == {"growth": 2}
    assert may.kudos_received_by_team == {"growth": 2, "platform": 1}
    assert may.kudos_by_value == {"customer_first": 1, "one_team": 1}
    assert (april.points_opened, april.points_closed, may.points_opened, may.points_closed) == (2, 0, 1, 2)
    lk = report.link
    assert (lk.with_course, lk.with_course_closed, lk.without_course, lk.without_course_closed) == (1, 1, 2, 1)
    assert lk.small_sample and not report.empty


def test_text_and_csv_name_no_person(services: Services) -> None:
    seed_org(services)
    report = compute_report(services, now=NOW)
    text, data = render_text(report, "en"), render_csv(report)
    for rendered in (text, data, render_text(report, "zh")):
        assert "Name" not in rendered and "Maria" not in rendered and "UE1" not in rendered
    assert "growth: 2/3 67%" in text and "Too few points" in text
    rows = list(csv.DictReader(io.StringIO(data)))
    assert list(rows[0]) == CSV_COLUMNS
    cov = {(r["period"], r["group"]): r for r in rows if r["metric"] == "checkin_coverage"}
    assert cov[("2024-05", "growth")]["numerator"] == "2" and cov[("2024-05", "growth")]["rate"] == "0.6667"
    link = {r["group"]: r for r in rows if r["metric"] == "closed_by_next_period"}
    assert (link["with_completed_course"]["numerator"], link["with_completed_course"]["denominator"]) == ("1", "1")


def test_cycles_are_the_periods_when_there_are_some(services: Services) -> None:
    seed_org(services)
    with session_scope(services.engine) as s:
        for i, (start, end) in enumerate(
            [
                (date(2023, 11, 1), date(2024, 1, 31)),
                (date(2024, 2, 1), date(2024, 4, 30)),
                (date(2024, 5, 1), date(2024, 7, 31)),
                (date(2024, 8, 1), date(2024, 10, 31)),
            ]
        ):
            s.add(Cycle(name=f"C{i}", start_date=start, end_date=end))
    report = compute_report(services, now=NOW)
    assert report.basis == "cycles" and [m.period.label for m in report.periods] == ["C0", "C1", "C2"]
    assert report.current.period.label == "C2" and report.current.checkins_done == 3
    assert report.periods[1].points_opened == 2


def test_empty_store_gives_zeros_and_a_sentence(services: Services, tmp_path: Path) -> None:
    report = compute_report(services, now=NOW)
    assert report.empty and all(m.checkins_due == 0 and m.people == 0 for m in report.periods)
    assert "every figure is zero" in render_text(report, "en") and "都是零" in render_text(report, "zh")
    assert render_csv(report).splitlines()[0] == ",".join(CSV_COLUMNS)
    png = render_png(report, tmp_path / "empty.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_png_is_drawn_for_the_fixture_org(services: Services, tmp_path: Path) -> None:
    seed_org(services)
    path = render_png(compute_report(services, now=NOW), tmp_path / "out" / "report.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


@pytest.mark.parametrize(
    ("today", "labels"),
    [
        (date(2024, 2, 29), ["2023-10", "2023-11", "2023-12", "2024-01", "2024-02"]),
        (date(2024, 12, 31), ["2024-08", "2024-09", "2024-10", "2024-11", "2024-12"]),
    ],
)
def test_month_periods(today: date, labels: list[str]) -> None:
    periods = month_periods(today)
    assert [p.label for p in periods] == labels and periods[-1].current
    assert all(a.end == b.start for a, b in zip(periods, periods[1:], strict=False))


def test_forgetting_a_person_leaves_the_figures_as_they_were(services: Services) -> None:
    from datetime import timedelta

    from bot.privacy import forget_person
    from storage.models import AuditLog

    seed_org(services)
    before = compute_report(services, now=NOW)
    forget_person(services, slack_id="UE1", actor="test")  # done two check-ins, led the kudos and learning
    with session_scope(services.engine) as s:  # as if forgotten on NOW (the store's audit time is the real clock)
        for row in s.exec(select(AuditLog).where(AuditLog.action == "person.forget")):
            row.at = NOW
            s.add(row)
    after = compute_report(services, now=NOW)
    assert render_csv(after) == render_csv(before)
    later = compute_report(services, now=NOW + timedelta(days=45))  # a period that began after the forget
    assert later.current.checkins_due == before.current.checkins_due - 1
    assert later.current.people == before.current.people - 1


def test_people_count_from_the_period_they_were_imported_in(services: Services) -> None:
    seed_org(services)
    with session_scope(services.engine) as s:
        upsert_person(session=s, slack_id="UE6", name="New", team="platform", manager_slack_id="UM2")
        upsert_person(session=s, slack_id="UE7", name="Back", team="platform", manager_slack_id="UM2")
        for sid in ("UE6", "UE7"):
            person = s.exec(select(Person).where(Person.slack_id == sid)).one()
            person.created_at = at(5, 15)  # imported mid-May
            s.add(person)
        # UE7's April check-in was recorded before the import (a backfill): April saw them, so they count there
        s.add(CheckIn(employee_slack_id="UE7", manager_slack_id="UM2", state="done", started_at=at(4, 3),
                      finished_at=at(4, 3)))
    report = compute_report(services, now=NOW)
    may, april, march = report.current, report.periods[-2], report.periods[-3]
    assert [(c.team, c.done, c.due) for c in may.coverage] == [("growth", 2, 3), ("platform", 1, 4)]
    assert (april.checkins_done, april.checkins_due) == (2, 6)  # UE7 seen in April; UE6 not yet there
    assert (march.checkins_done, march.checkins_due) == (0, 5)
    assert may.people == 10 and april.people == 9 and march.people == 8


def _add(services: Services, *rows: tuple[str, str, str | None]) -> None:
    with session_scope(services.engine) as s:
        for sid, team, mgr in rows:
            upsert_person(session=s, slack_id=sid, name="Name" + sid, team=team, manager_slack_id=mgr)
            person = s.exec(select(Person).where(Person.slack_id == sid)).one()
            person.created_at = datetime(2023, 12, 1, tzinfo=UTC)
            s.add(person)


def test_a_team_under_three_people_has_no_figures_of_its_own(services: Services) -> None:
    seed_org(services)
    _add(services, ("UE6", "design", "UM1"))  # a team of one: its coverage would be that person's record
    with session_scope(services.engine) as s:
        s.add(CheckIn(employee_slack_id="UE6", manager_slack_id="UM1", state="done", started_at=at(5, 7),
                      finished_at=at(5, 7)))
        s.add(Recognition(giver_slack_id="UE1", receivers=["UE6"], message="m", values=[], created_at=at(5, 12)))
    may = compute_report(services, now=NOW).current
    # design (1) and the HR team (1) together are still under three: totals only
    assert [(c.team, c.done, c.due) for c in may.coverage] == [("growth", 2, 3), ("platform", 1, 2)]
    assert (may.checkins_done, may.checkins_due) == (4, 6) and may.kudos == 3
    assert may.kudos_received_by_team == {"growth": 2, "platform": 1} and may.merged == 1
    text = render_text(compute_report(services, now=NOW), "en")
    assert "design" not in text and "fewer than 3 people" in text
    assert "design" not in render_csv(compute_report(services, now=NOW))

    _add(services, ("UE7", "legal", "UM2"), ("UE8", "legal", "UM2"))  # small teams together reach three
    may = compute_report(services, now=NOW).current
    assert [(c.team, c.done, c.due) for c in may.coverage] == [
        ("growth", 2, 3), ("platform", 1, 2), (SMALL_TEAMS, 1, 3)
    ]
    assert may.unshown is None and may.kudos_received_by_team[SMALL_TEAMS] == 1
    zh = render_text(compute_report(services, now=NOW), "zh")
    assert "（小团队合计）: 1/3 33%" in zh and "不足 3 人" in zh and "legal" not in zh


def test_a_team_of_three_keeps_its_row(services: Services) -> None:
    seed_org(services)  # platform is its manager and two reports: three people, so it is shown as itself
    may = compute_report(services, now=NOW).current
    assert "platform" in {c.team for c in may.coverage} and may.merged == 0
    assert "people have no figures" not in render_text(compute_report(services, now=NOW), "en")
