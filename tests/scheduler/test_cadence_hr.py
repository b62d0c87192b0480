"""HR sets cadences from Slack (`/hr cadence …`): parsing in both languages, team and pair cadences, errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlmodel import select

from bot.cadence import (
    CadenceSpec,
    UserError,
    pair_cadence,
    pair_cadence_text,
    parse_cadence_spec,
    set_pair_cadence,
    set_team_cadence,
    status,
    team_cadence,
    team_cadence_text,
)
from bot.people import import_people
from bot.services import Services
from storage.db import session_scope
from storage.models import Cadence

PEOPLE = """slack_id,name,email,manager_slack_id,team,role,timezone,locale,is_hr_admin
U0HR,Hana,hana@acme.example,,people,,Asia/Singapore,en,true
U0MGR,Maria,maria@acme.example,,growth,,Europe/Berlin,en,false
U0EMP,Erik,erik@acme.example,U0MGR,growth,,America/New_York,zh,false
U0EMP2,Priya,priya@acme.example,U0MGR,Growth,,Asia/Kolkata,en,false
"""
NOW = datetime(2024, 10, 24, 12, 0, tzinfo=UTC)  # Thursday; Berlin leaves summer time on Sunday 27 Oct


@pytest.fixture
def org(services: Services) -> Services:
    services.clock = lambda: NOW
    import_people(services, PEOPLE)
    return services


def _cadences(services: Services) -> list[tuple[str, str | None, str | None, str, int, str]]:
    with session_scope(services.engine) as session:
        return sorted(
            (c.scope, c.team, c.employee_slack_id, c.frequency, c.weekday, c.local_time)
            for c in session.exec(select(Cadence))
        )


@pytest.mark.parametrize(
    ("words", "spec"),
    [
        (["weekly"], CadenceSpec("weekly")),
        (["biweekly", "thu", "15:00"], CadenceSpec("biweekly", 3, time(15, 0))),
        (["monthly", "14:30", "Monday"], CadenceSpec("monthly", 0, time(14, 30))),
        (["每周", "周二", "10:00"], CadenceSpec("weekly", 1, time(10, 0))),
        (["每两周", "星期四"], CadenceSpec("biweekly", 3)),
        (["每周二", "9:30"], CadenceSpec("weekly", 1, time(9, 30))),
        (["每两周五"], CadenceSpec("biweekly", 4)),
        (["每月", "礼拜一", "11：00"], CadenceSpec("monthly", 0, time(11, 0))),
        (["Weekly", "TUE"], CadenceSpec("weekly", 1)),
        (["reset"], CadenceSpec(reset=True)),
    ],
)
def test_parse_cadence_spec_in_both_languages(words: list[str], spec: CadenceSpec) -> None:
    assert parse_cadence_spec(words) == spec


@pytest.mark.parametrize(
    ("words", "key"),
    [
        ([], "scheduler_cadence_usage"),
        (["daily"], "scheduler_cadence_bad_frequency"),
        (["weekly", "someday"], "scheduler_cadence_bad_weekday"),
        (["weekly", "sat"], "scheduler_cadence_weekend"),
        (["每周", "周日"], "scheduler_cadence_weekend"),
        (["weekly", "25:00"], "scheduler_cadence_bad_time"),
        (["weekly", "10"], "scheduler_cadence_bad_time"),
        (["weekly", "08:00"], "scheduler_cadence_outside_hours"),
        (["weekly", "18:00"], "scheduler_cadence_outside_hours"),
        (["weekly", "tue", "wed"], "scheduler_cadence_usage"),
        (["weekly", "10:00", "11:00"], "scheduler_cadence_usage"),
    ],
)
def test_parse_cadence_spec_rejects_with_a_reason_in_both_languages(words: list[str], key: str) -> None:
    with pytest.raises(UserError) as exc:
        parse_cadence_spec(words)
    assert exc.value.key == key
    assert exc.value.text("en") != exc.value.text("zh")


def test_team_cadence_applies_to_the_teams_pairs_at_the_managers_local_time(org: Services) -> None:
    info = set_team_cadence(
        org, admin_slack_id="U0HR", team="GROWTH", spec=parse_cadence_spec(["monthly", "mon", "11:00"])
    )
    assert (info.team, info.own, info.pairs, info.overrides) == ("Growth", True, 2, [])
    assert _cadences(org) == [("team", "Growth", None, "monthly", 0, "11:00")]
    # the first Monday of November at 11:00 Berlin (winter time): 10:00 UTC for the report in Kolkata (15:30 there);
    # 05:00 in New York, so that pair meets at the nearest hour both work, 15:00 Berlin (09:00 New York)
    assert status(org, slack_id="U0EMP2").as_employee.at == datetime(2024, 11, 4, 10, 0, tzinfo=UTC)
    assert status(org, slack_id="U0EMP").as_employee.at == datetime(2024, 11, 4, 14, 0, tzinfo=UTC)
    text = team_cadence_text(info, locale="en", changed=True)
    assert text == (
        "✅ Team Growth now checks in monthly on the first Monday at 11:00 (the team's own cadence; each "
        "manager's local time, moved into hours both work for a report in another time zone). 2 pair(s) follow it."
    )
    assert "每月（第一个周一 11:00）" in team_cadence_text(info, locale="zh")


def test_omitted_weekday_and_time_keep_the_current_ones(org: Services) -> None:
    set_team_cadence(org, admin_slack_id="U0HR", team="growth", spec=parse_cadence_spec(["weekly", "thu", "15:00"]))
    set_team_cadence(org, admin_slack_id="U0HR", team="growth", spec=parse_cadence_spec(["biweekly"]))
    assert _cadences(org) == [("team", "Growth", None, "biweekly", 3, "15:00")]
    # biweekly from the coming Thursday (today, 24 Oct, 15:00 Berlin summer time is still ahead)
    assert status(org, slack_id="U0EMP").as_employee.at == datetime(2024, 10, 24, 13, 0, tzinfo=UTC)
    assert team_cadence(org, admin_slack_id="U0HR", team="growth").rule.anchor == date(2024, 10, 24)


def test_a_persons_cadence_is_their_pair_with_their_manager_and_overrides_the_team(org: Services) -> None:
    set_team_cadence(org, admin_slack_id="U0HR", team="growth", spec=parse_cadence_spec(["weekly", "mon"]))
    pair = set_pair_cadence(
        org, admin_slack_id="U0HR", person="<@U0EMP|erik>", spec=parse_cadence_spec(["每周四", "15:00"])
    )
    assert (pair.manager_slack_id, pair.employee_slack_id, pair.source) == ("U0MGR", "U0EMP", "pair")
    assert pair.next_at == datetime(2024, 10, 24, 13, 0, tzinfo=UTC)  # today, Thu 15:00 Berlin (summer time)
    assert ("pair", None, "U0EMP", "weekly", 3, "15:00") in _cadences(org)
    assert status(org, slack_id="U0EMP").as_employee.at == pair.next_at
    zh = pair_cadence_text(pair, tz="Asia/Singapore", locale="zh", changed=True)
    assert (
        zh.startswith("✅ <@U0EMP> 与 <@U0MGR> 的 check-in 频率已设为每周（周四 15:00）（该组合自己的频率")
        and "10月24日 周四 21:00" in zh
    )
    team = team_cadence(org, admin_slack_id="U0HR", team="growth")
    assert team.pairs == 1 and [(m, e) for m, e, _ in team.overrides] == [("U0MGR", "U0EMP")]
    assert "• <@U0EMP> with <@U0MGR>: weekly on Thursday at 15:00" in team_cadence_text(team, locale="en")
    # by name, then back to the team's cadence
    assert pair_cadence(org, admin_slack_id="U0HR", person="@erik").source == "pair"
    back = set_pair_cadence(org, admin_slack_id="U0HR", person="U0EMP", spec=parse_cadence_spec(["reset"]))
    assert back.source == "team" and back.rule.weekday == 0
    assert [c for c in _cadences(org) if c[0] == "pair"] == []


def test_team_names_match_whatever_their_spelling(org: Services) -> None:
    """Erik's team is "growth", Priya's "Growth" (as in /hr broadcast audiences: the same team)."""
    set_team_cadence(org, admin_slack_id="U0HR", team="growth", spec=parse_cadence_spec(["weekly", "fri"]))
    with session_scope(org.engine) as session:  # a row stored under another spelling (e.g. by the API) is replaced
        session.add(Cadence(scope="team", team="GROWTH", frequency="monthly", weekday=0))
    set_team_cadence(org, admin_slack_id="U0HR", team="growth", spec=parse_cadence_spec(["weekly", "wed"]))
    assert _cadences(org) == [("team", "Growth", None, "weekly", 2, "10:00")]
    for sid in ("U0EMP", "U0EMP2"):
        assert status(org, slack_id=sid).as_employee.at.weekday() == 2


@pytest.mark.parametrize(
    ("call", "key"),
    [
        (
            lambda s: set_team_cadence(s, admin_slack_id="U0EMP", team="growth", spec=CadenceSpec("weekly")),
            "not_hr_admin",
        ),
        (
            lambda s: set_team_cadence(s, admin_slack_id="U0HR", team="nosuch", spec=CadenceSpec("weekly")),
            "scheduler_hr_unknown_team",
        ),
        (
            lambda s: set_pair_cadence(s, admin_slack_id="U0HR", person="@nobody", spec=CadenceSpec("weekly")),
            "scheduler_cadence_unknown_person",
        ),
        (
            lambda s: set_pair_cadence(s, admin_slack_id="U0HR", person="<@U0MGR>", spec=CadenceSpec("weekly")),
            "scheduler_cadence_no_manager",
        ),
        (
            lambda s: set_pair_cadence(s, admin_slack_id="U0MGR", person="<@U0EMP>", spec=CadenceSpec("weekly")),
            "not_hr_admin",
        ),
    ],
)
def test_errors_change_nothing(org: Services, call, key: str) -> None:  # noqa: ANN001
    with pytest.raises(UserError) as exc:
        call(org)
    assert exc.value.key == key
    assert _cadences(org) == []


def test_a_new_cadence_never_sends_a_nudge_for_a_time_before_the_change(org: Services) -> None:
    """Set on Thursday 14:00 Berlin to "Thursdays 11:00": today's 11:00 slot is past, and would otherwise go out
    late (as after downtime); it is superseded, and the planner leaves it alone. The New York report's slot is
    moved into hours both work (15:00 Berlin), still ahead: it stays, and is nudged when it comes."""
    from scheduler.planning import build_pairs, plan
    from storage import scheduling as repo

    set_team_cadence(org, admin_slack_id="U0HR", team="growth", spec=parse_cadence_spec(["weekly", "thu", "11:00"]))
    with session_scope(org.engine) as session:
        pairs = build_pairs(repo.person_views(session=session), repo.cadence_views(session=session))
        states = repo.nudge_states(session=session, since=datetime(2024, 10, 1, tzinfo=UTC))
    slot = datetime(2024, 10, 24, 9, 0, tzinfo=UTC)
    assert {k: {s: st.status for s, st in v.items()} for k, v in states.items()} == {
        ("U0MGR", "U0EMP2"): {slot: "superseded"},
    }
    assert [d for d in plan(pairs, now=NOW, states=states) if d.kind == "nudge"] == []
    later = [d for d in plan(pairs, now=NOW + timedelta(hours=1, minutes=1), states=states) if d.kind == "nudge"]
    assert [(d.employee, d.slot_at) for d in later] == [("U0EMP", datetime(2024, 10, 24, 13, 0, tzinfo=UTC))]
    assert len([d for d in plan(pairs, now=NOW) if d.kind == "nudge"]) == 1  # the control: without the marks
