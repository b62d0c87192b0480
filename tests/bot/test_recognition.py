"""Kudos: parsing (with a property test), validation, the daily allowance, values, and kudos as evidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from bot.i18n import load_strings
from bot.kudos_text import MAX_MESSAGE_CHARS, KudosProblem, ParsedKudos, parse_kudos_text
from bot.recognition import allowance_status, give_kudos, kudos_evidence, recent_kudos
from bot.services import Services
from bot.slack.blocks_kudos import problem_text
from bot.values import ValuesError, load_values, load_values_file
from storage.db import session_scope
from storage.models import DevelopmentPoint, Recognition
from storage.people import upsert_person

NOW = datetime(2024, 3, 5, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai, 16:30 in Berlin


class FakeDirectory:
    def __init__(self, users: dict[str, dict[str, Any]]) -> None:
        self.users = users

    def user_info(self, slack_id: str) -> dict[str, Any] | None:
        return self.users.get(slack_id)


@pytest.fixture
def org(services: Services) -> Services:
    services.clock = lambda: NOW
    with session_scope(services.engine) as s:
        upsert_person(
            session=s, slack_id="UGIVER", name="Gia", timezone="Asia/Shanghai", locale="zh", profile_synced=True
        )
        for i in range(1, 8):
            upsert_person(
                session=s,
                slack_id=f"UR{i}",
                name=f"R{i}",
                team="growth",
                manager_slack_id="UGIVER",
                profile_synced=True,
            )
    services.directory = FakeDirectory(
        {
            "UBOT2": {"id": "UBOT2", "is_bot": True},
            "UNEW": {"id": "UNEW", "profile": {"real_name": "Newbie"}, "tz": "UTC"},
        }
    )
    return services


def _count(services: Services) -> int:
    with Session(services.engine) as s:
        return len(list(s.exec(select(Recognition))))


# --- parsing ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "recipients", "message", "tags"),
    [
        ("<@U1|erik> <@U2> great demo #customer_first", ("U1", "U2"), "great demo", ("customer_first",)),
        ("<@U1>, <@U1> 谢谢帮忙 #客户第一 #one_team", ("U1",), "谢谢帮忙", ("客户第一", "one_team")),
        ("<@W9ABC> we are #1 in sales", ("W9ABC",), "we are #1 in sales", ()),
        ("<@U1> thanks <@U2> for pairing", ("U1",), "thanks <@U2> for pairing", ()),
    ],
)
def test_parse_accepts_both_mention_forms(
    text: str, recipients: tuple[str, ...], message: str, tags: tuple[str, ...]
) -> None:
    assert parse_kudos_text(text) == ParsedKudos(recipients, message, tags)


@pytest.mark.parametrize(
    ("text", "key", "field"),
    [
        ("", "help_kudos", "recipients"),
        ("thanks everyone", "help_kudos", "recipients"),
        ("<@U1>", "kudos_err_no_message", "message"),
        ("<@U1>   #own_it", "kudos_err_no_message", "message"),
        ("<#C123|general> great week", "kudos_err_channel", "recipients"),
        ("<!here> great week", "kudos_err_group", "recipients"),
        ("<!subteam^S1|@devs> great week", "kudos_err_group", "recipients"),
        ("@nobody thanks", "kudos_err_unknown_name", "recipients"),
        ("<@U1> " + "x" * 5000, "kudos_err_too_long", "message"),
    ],
)
def test_parse_problems(text: str, key: str, field: str) -> None:
    problem = parse_kudos_text(text)
    assert isinstance(problem, KudosProblem) and (problem.key, problem.field) == (key, field)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<@>|#!^ ,，UCW0123abc你好\n\t_")) | st.characters(), max_size=300))
def test_parse_never_crashes_and_always_explains(text: str) -> None:
    result = parse_kudos_text(text)
    if isinstance(result, ParsedKudos):
        assert result.recipients and result.message.strip() and len(result.message) <= MAX_MESSAGE_CHARS
        assert all(r[0] in "UW" for r in result.recipients)
    else:
        assert result.key in load_strings()
        for locale in ("en", "zh"):
            assert problem_text(result, locale).strip()


# --- giving -------------------------------------------------------------------------------------------------


def test_kudos_is_stored_with_resolved_values(org: Services) -> None:
    out = give_kudos(
        org, giver_slack_id="UGIVER", recipients=["UR1", "UR2"], message="Clear demo", tags=["客户第一", "One_Team"]
    )
    assert out.ok and out.recognition is not None
    assert out.recognition.values == ["customer_first", "one_team"] and out.recognition.receivers == ["UR1", "UR2"]
    assert [r.message for r in recent_kudos(org, slack_id="UR2")] == ["Clear demo"]
    assert recent_kudos(org, slack_id="UR3") == []


@pytest.mark.parametrize(
    ("recipients", "kw", "key"),
    [
        (["UGIVER"], {}, "kudos_err_self"),
        (["UR1", "UGIVER"], {}, "kudos_err_self"),
        (["U0BOT"], {"bot_user_id": "U0BOT"}, "kudos_err_bot"),
        (["UBOT2"], {}, "kudos_err_bot"),
        (["UNOSUCH"], {}, "kudos_err_unknown_user"),
        (["UR1"], {"tags": ["synergy"]}, "kudos_err_unknown_value"),
        (["UR1"], {"competency": "juggling"}, "kudos_err_unknown_competency"),
        (["UR1"], {"message": "   "}, "kudos_err_no_message"),
        (["UR1"], {"message": "y" * 5000}, "kudos_err_too_long"),
    ],
)
def test_bad_kudos_are_refused_and_nothing_is_stored(
    org: Services, recipients: list[str], kw: dict[str, Any], key: str
) -> None:
    kw.setdefault("message", "thanks!")
    out = give_kudos(org, giver_slack_id="UGIVER", recipients=recipients, **kw)
    assert not out.ok and out.problem is not None and out.problem.key == key
    assert _count(org) == 0
    assert problem_text(out.problem, "zh").strip() and problem_text(out.problem, "en").strip()


def test_unknown_value_message_lists_the_real_values(org: Services) -> None:
    out = give_kudos(org, giver_slack_id="UGIVER", recipients=["UR1"], message="hi", tags=["synergy"])
    assert out.problem is not None
    text = problem_text(out.problem, "en")
    assert "#synergy" in text and "#customer_first" in text


def test_a_slack_user_not_yet_in_the_people_file_can_receive(org: Services) -> None:
    assert give_kudos(org, giver_slack_id="UGIVER", recipients=["UNEW"], message="welcome aboard").ok


def test_allowance_counts_recipients_per_local_day_and_resets_at_local_midnight(org: Services) -> None:
    assert give_kudos(org, giver_slack_id="UGIVER", recipients=["UR1", "UR2", "UR3"], message="a").ok
    partial = give_kudos(org, giver_slack_id="UGIVER", recipients=["UR4", "UR5", "UR6"], message="b")
    assert partial.problem is not None and partial.problem.key == "kudos_err_allowance"
    assert partial.problem.params["left"] == 2
    assert "2 of 5" in problem_text(partial.problem, "en", "Asia/Shanghai")
    assert give_kudos(org, giver_slack_id="UGIVER", recipients=["UR4", "UR5"], message="c").ok
    full = give_kudos(org, giver_slack_id="UGIVER", recipients=["UR6"], message="d")
    assert full.problem is not None and full.problem.params["left"] == 0
    # Giver is in Shanghai: 23:30 local, so the allowance resets in 30 minutes, at 16:00 UTC.
    assert full.problem.params["resets_at"] == datetime(2024, 3, 5, 16, 0, tzinfo=UTC)
    text = problem_text(full.problem, "zh", "Asia/Shanghai")
    assert "3月6日" in text and "00:00" in text
    assert _count(org) == 2
    org.clock = lambda: NOW + timedelta(minutes=31)
    assert allowance_status(org, giver_slack_id="UGIVER").used == 0
    assert give_kudos(org, giver_slack_id="UGIVER", recipients=["UR6"], message="new day").ok


def test_allowance_setting_is_respected(org: Services) -> None:
    org.settings = org.settings.model_copy(update={"growthloop_kudos_daily_allowance": 1})
    assert give_kudos(org, giver_slack_id="UGIVER", recipients=["UR1"], message="a").ok
    assert not give_kudos(org, giver_slack_id="UGIVER", recipients=["UR2"], message="b").ok


def test_competency_kudos_become_evidence_on_an_open_point(org: Services) -> None:
    with session_scope(org.engine) as s:
        old = Recognition(
            giver_slack_id="UR2",
            receivers=["UR1"],
            message="before",
            competencies=["communication"],
            created_at=NOW - timedelta(days=30),
        )
        s.add(old)
        point = DevelopmentPoint(
            person_slack_id="UR1",
            competency="communication",
            evidence="structure decks",
            created_at=NOW - timedelta(days=7),
        )
        closed = DevelopmentPoint(
            person_slack_id="UR1",
            competency="planning",
            evidence="x",
            status="closed",
            created_at=NOW - timedelta(days=7),
        )
        s.add(point)
        s.add(closed)
    give_kudos(org, giver_slack_id="UGIVER", recipients=["UR1"], message="great talk", competency="communication")
    give_kudos(org, giver_slack_id="UGIVER", recipients=["UR1"], message="good plan", competency="planning")
    give_kudos(org, giver_slack_id="UGIVER", recipients=["UR1"], message="no tag")
    evidence = kudos_evidence(org, person_slack_id="UR1")
    assert [(e.point_id, e.competency, e.message, e.giver_slack_id) for e in evidence] == [
        (point.id, "communication", "great talk", "UGIVER")
    ]
    assert kudos_evidence(org, person_slack_id="UR2") == []


# --- values -------------------------------------------------------------------------------------------------


def test_shipped_values_load_in_both_languages() -> None:
    values = load_values()
    assert "customer_first" in values.ids
    assert all(v.name.en and v.name.zh and v.description.zh for v in values.values)


def test_a_value_is_found_by_its_name_in_either_language_or_a_common_word() -> None:
    values = load_values()
    for tag in ("#one_team", "#One-Team", "#一个团队", "#协作", "#Collaboration", "#Customer_first", "#客户第一"):
        assert values.resolve(tag) is not None, tag
    assert values.resolve("#协作").id == "one_team"  # type: ignore[union-attr]
    assert values.resolve("#telepathy") is None


@pytest.mark.parametrize(
    "body",
    [
        "values:\n  - id: a_b\n    name: {en: A}\n    description: {en: x, zh: y}\n",
        "values:\n  - id: Bad-Id\n    name: {en: A, zh: B}\n    description: {en: x, zh: y}\n",
        "values:\n  - id: aa\n    name: {en: A, zh: B}\n    description: {en: x, zh: y}\n    colour: red\n",
        "values:\n  - id: aa\n    name: {en: A, zh: B}\n    description: {en: x, zh: y}\n"
        "  - id: bb\n    name: {en: C, zh: D}\n    description: {en: x, zh: y}\n    aliases: [AA]\n",
        "values: []\n",
    ],
)
def test_values_loader_is_strict(tmp_path: Path, body: str) -> None:
    path = tmp_path / "values.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ValuesError):
        load_values_file(path)
