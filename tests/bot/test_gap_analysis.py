"""Team gap analysis on a fixture org: quantity and quality gaps, blocked priorities, learning themes, renderers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.capabilities import load_map
from bot.gap_analysis import compute_gaps
from bot.gap_chart import render_png
from bot.gap_render import CSV_COLUMNS, render_csv, render_text
from bot.services import Services
from storage.db import session_scope
from storage.models import Course, DevelopmentPoint, LearningRecord, Person

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
MAP = """\
version: 1
priorities:
  - id: customer_first
    name: {en: Customer first, zh: 客户第一}
    depends_on: [data_driven]
    capabilities:
      customer_insight: {pm: 3, cs: 2}
  - id: data_driven
    name: {en: Data driven, zh: 数据驱动}
    capabilities:
      data_analysis: {pm: 2, analyst: 3}
"""


@pytest.fixture
def org(services: Services) -> Services:
    """pm: P1 (customer_insight 3 via two closed points), P2, P3 (none); cs: C1 (team b); analyst: A1 (level 2)."""
    services.clock = lambda: NOW
    people = [("P1", "pm", "a"), ("P2", "pm", "a"), ("P3", "pm", "b"), ("C1", "cs", "b"), ("A1", "analyst", "a"),
              ("X1", "designer", "a")]
    with session_scope(services.engine) as s:
        for sid, role, team in people:
            s.add(Person(slack_id=sid, name=sid, role=role, team=team))
        for _ in range(2):
            s.add(DevelopmentPoint(person_slack_id="P1", competency="customer_insight", evidence="e", status="closed",
                                   closed_at=NOW - timedelta(days=3)))
        s.add(DevelopmentPoint(person_slack_id="A1", competency="data_analysis", evidence="e", status="closed",
                               closed_at=NOW - timedelta(days=3)))
        s.add(Course(id="both", title="Customer data", competencies=["customer_insight", "data_analysis"]))
        s.add(Course(id="ci", title="Interviews", competencies=["customer_insight"]))
        s.add(Course(id="ci2", title="More interviews", competencies=["customer_insight"], duration_minutes=30))
        s.add(Course(id="other", title="Planning", competencies=["planning"]))
        s.add(LearningRecord(person_slack_id="P2", course_id="ci", status="completed", at=NOW - timedelta(days=400)))
    load_map(services, text=MAP, source="fixture.yaml")
    return services


def test_quantity_and_quality_gaps_by_role_and_capability(org: Services) -> None:
    report = compute_gaps(org, min_group=1)  # the arithmetic; the default hides small groups (below)
    assert report.roles == ["analyst", "cs", "pm"] and report.people == 5  # the designer is not in the map
    pm_ci = report.cell("pm", "customer_insight")
    assert pm_ci is not None
    # P1 is at 3; P2 at 1 (+0.25 × fade(400 d) from an old course); P3 at 1 → 2 of 3 below, 2 levels short each
    assert (pm_ci.required, pm_ci.people, pm_ci.below, pm_ci.avg_shortfall) == (3, 3, 2, 2.0)
    assert pm_ci.mean_shortfall == pytest.approx(1.33)
    assert pm_ci.blocks == ["customer_first"]
    analyst = report.cell("analyst", "data_analysis")
    assert analyst is not None and (analyst.below, analyst.avg_shortfall) == (1, 1.0)
    assert analyst.blocks == ["customer_first", "data_driven"]  # customer_first depends on data_driven
    assert report.cell("cs", "data_analysis") is None  # the map does not ask it of that role
    order = [(g.role, g.capability) for g in report.open_gaps]  # largest mean shortfall first
    assert order[:2] == [("pm", "customer_insight"), ("analyst", "data_analysis")]  # ties: by role


def test_learning_themes_rank_courses_by_open_gaps_addressed(org: Services) -> None:
    themes = compute_gaps(org, min_group=1).themes
    # person-level gaps: customer_insight P2, P3, C1; data_analysis P1, P2, P3, A1 → "both" addresses 7
    # P2 completed "ci", so it addresses 2 of the 3 customer_insight gaps
    assert [(th.course_id, th.gaps_addressed) for th in themes] == [("both", 7), ("ci2", 3), ("ci", 2)]
    assert "other" not in {th.course_id for th in themes}


def test_one_team(org: Services) -> None:
    report = compute_gaps(org, team="b", min_group=1)
    assert report.roles == ["cs", "pm"] and report.people == 2
    assert report.cell("pm", "customer_insight").below == 1  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="unknown team 'z'; teams: a, b"):
        compute_gaps(org, team="z")


def test_renderers(org: Services, tmp_path: Path) -> None:
    report = compute_gaps(org, team="a", min_group=1)
    csv_text = render_csv(report)
    assert csv_text.splitlines()[0] == ",".join(CSV_COLUMNS)
    assert "a,pm,customer_insight,3,2,1,2,1,customer_first" in csv_text
    en = render_text(report, "en")
    assert "PM · Customer insight: 1/2 below level 3, average shortfall 2; blocks: Customer first" in en
    assert "Learning themes" in en and "P1" not in en
    assert "客户洞察" in render_text(report, "zh")
    png = render_png(report, tmp_path / "gaps.png")
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 10_000


def test_groups_smaller_than_three_get_no_figures(org: Services, tmp_path: Path) -> None:
    report = compute_gaps(org)  # pm has 3 people; analyst and cs one each
    pm = report.cell("pm", "customer_insight")
    analyst = report.cell("analyst", "data_analysis")
    assert pm is not None and not pm.suppressed and pm.below == 2
    assert analyst is not None and analyst.suppressed and (analyst.below, analyst.avg_shortfall) == (0, 0.0)
    assert ("analyst", "data_analysis") not in [(g.role, g.capability) for g in report.open_gaps]
    assert ",analyst,data_analysis,3,1,,,," in render_csv(report)  # withheld, not zero
    en = render_text(report, "en")
    assert "fewer than 3 people in the role here" in en and "Analyst" in en and "1/1" not in en
    assert "少于 3 人" in render_text(report, "zh")
    team = compute_gaps(org, team="a")  # in one team even the pm group is too small
    assert all(g.suppressed for g in team.gaps)
    assert render_png(team, tmp_path / "small.png").stat().st_size > 10_000
