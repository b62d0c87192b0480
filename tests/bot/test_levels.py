"""The level rule: what raises a level, what lowers it, how evidence fades; and the evidence it reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.capability_levels import Evidence, fade, level_from, levels_for
from bot.services import Services
from storage.db import session_scope
from storage.models import Answer, CheckIn, Course, DevelopmentPoint, LearningRecord, Recognition

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def ev(kind: str, days_ago: float = 0) -> Evidence:
    return Evidence(kind, NOW - timedelta(days=days_ago), kind)


def test_no_evidence_is_level_1() -> None:
    lv = level_from("data_analysis", [], NOW)
    assert (lv.level, lv.score, lv.evidence) == (1, 1.0, [])


def test_closed_points_raise_one_level_each_and_open_points_lower() -> None:
    assert level_from("x", [ev("closed_point")], NOW).level == 2
    assert level_from("x", [ev("closed_point"), ev("closed_point", 1)], NOW).level == 3
    assert level_from("x", [ev("closed_point")] * 5, NOW).level == 4  # capped at 4
    assert level_from("x", [ev("closed_point"), ev("closed_point"), ev("open_point")], NOW).score == 2.5
    assert level_from("x", [ev("closed_point"), ev("open_point"), ev("open_point"), ev("open_point")], NOW).level == 1


def test_courses_and_kudos_raise_a_little_and_are_capped() -> None:
    assert level_from("x", [ev("course")], NOW).score == 1.25
    assert level_from("x", [ev("course")] * 10, NOW).score == 2.0  # ten courses are not two levels
    assert level_from("x", [ev("kudos")] * 2, NOW).level == 2  # 1.5 rounds half up
    assert level_from("x", [ev("kudos")] * 9, NOW).score == 1.75
    assert level_from("x", [ev("checkin")] * 3, NOW).score == pytest.approx(1.3)


def test_evidence_fades_with_a_half_life_of_180_days() -> None:
    assert fade(NOW - timedelta(days=180), NOW) == pytest.approx(0.5)
    assert fade(NOW + timedelta(days=3), NOW) == 1.0  # clock skew counts in full
    assert level_from("x", [ev("closed_point", 179)], NOW).level == 2
    assert level_from("x", [ev("closed_point", 181)], NOW).level == 1
    assert level_from("x", [ev("closed_point", 800)], NOW).evidence == []  # beyond two years: ignored
    assert level_from("x", [ev("open_point", 400)], NOW).score == 0.5  # open points describe the present


def test_caps_keep_the_newest_evidence() -> None:
    lv = level_from("x", [ev("course", 360)] + [ev("course", 0)] * 4, NOW)
    assert lv.score == 2.0 and [w for e, w in lv.evidence if e.at < NOW] == [0.0]


def test_levels_from_the_store(services: Services) -> None:
    services.clock = lambda: NOW
    with session_scope(services.engine) as s:
        s.add(Course(id="c1", title="Talking to customers", competencies=["customer_insight", "communication"]))
        s.add(LearningRecord(person_slack_id="U1", course_id="c1", status="completed", at=NOW - timedelta(days=10)))
        s.add(LearningRecord(person_slack_id="U1", course_id="c1", status="started", at=NOW))
        s.add(
            DevelopmentPoint(
                person_slack_id="U1",
                competency="customer_insight",
                evidence="asked why users churn",
                status="closed",
                created_at=NOW - timedelta(days=90),
                closed_at=NOW,
            )
        )
        s.add(
            DevelopmentPoint(
                person_slack_id="U1",
                competency="data_analysis",
                evidence="guessed the numbers",
                status="open",
                created_at=NOW - timedelta(days=5),
            )
        )
        s.add(
            DevelopmentPoint(
                person_slack_id="U1",
                competency="planning",
                evidence="my own goal",
                source="goal",
                status="open",
                created_at=NOW,
            )
        )
        s.add(
            Recognition(
                giver_slack_id="U2",
                receivers=["U1", "U3"],
                message="great customer calls",
                competencies=["customer_insight"],
                created_at=NOW - timedelta(days=1),
            )
        )
        c = CheckIn(
            employee_slack_id="U1",
            manager_slack_id="U2",
            state="done",
            started_at=NOW - timedelta(days=2),
            finished_at=NOW - timedelta(days=2),
        )
        s.add(c)
        s.flush()
        s.add(
            Answer(
                checkin_id=c.id,
                question_id="q1",
                step=0,
                author_slack_id="U1",
                slack_ts="1.1",
                text="I pulled the cohort data from the dashboard to check the numbers",
            )
        )
        s.add(
            Answer(
                checkin_id=c.id,
                question_id="q1",
                step=1,
                author_slack_id="U2",
                slack_ts="1.2",
                text="Our stakeholders were happy",
            )
        )
    levels = levels_for(
        services,
        people=["U1", "U3"],
        capabilities=["customer_insight", "data_analysis", "planning", "stakeholder_management"],
    )
    ci = levels["U1"]["customer_insight"]
    assert {e.kind for e, _ in ci.evidence} == {"closed_point", "course", "kudos"}
    assert ci.score == pytest.approx(1 + 1 + 0.25 * 0.5 ** (10 / 180) + 0.25 * 0.5 ** (1 / 180), abs=1e-3)
    assert ci.level == 2  # 2.49: half a level more would be needed for 3
    da = levels["U1"]["data_analysis"]
    assert {e.kind for e, _ in da.evidence} == {"open_point", "checkin"} and da.level == 1
    assert levels["U1"]["planning"].evidence == []  # a goal's own point is an intention, not evidence
    assert levels["U1"]["stakeholder_management"].evidence == []  # the manager's words are not U1's evidence
    assert levels["U3"]["customer_insight"].level == 1 and levels["U3"]["customer_insight"].score == pytest.approx(
        1.25, abs=1e-2
    )


def test_a_checkin_quote_is_the_sentence_that_names_the_capability() -> None:
    from bot.capability_levels import _quote

    text = "We're at 60% of the goal; the pricing experiment is the blocker. I ran the customer interviews myself."
    assert _quote(text, "customer_insight") == "I ran the customer interviews myself."
    assert _quote("x" * 10 + " no cue here at all.", "customer_insight").startswith("xxxxxxxxxx no cue")


def test_the_goal_check_shows_directions_and_plain_sources_not_weights() -> None:
    from bot.goals import Need
    from bot.slack.blocks_goals import _evidence, need_line

    now = datetime(2026, 12, 1, tzinfo=UTC)
    level = level_from(
        "communication",
        [
            Evidence("open_point", now, "My updates ramble and she stops reading after the first paragraph"),
            Evidence("course", now, "Writing Concise Emails"),
        ],
        now,
    )
    need = Need("communication", 3, ["development", "role"], level)
    ev, line = _evidence(need, "en"), need_line(need, "en")
    assert "↑" in ev and "↓" in ev and "0." not in ev
    assert "(your development goal, your role)" in line
    assert "、" in need_line(need, "zh")
