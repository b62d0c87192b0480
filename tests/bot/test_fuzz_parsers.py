"""Property tests: parsers never crash; bad input always gets a clear error."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.coach.gaps import gap_signal, sentences
from bot.people import ImportError_, parse_people_csv
from bot.slack.parsing import mentions, plain_names, strip_mentions

HEADER = "slack_id,name,email,manager_slack_id,team,role,timezone,locale,is_hr_admin\n"


@given(st.text(max_size=400))
def test_people_csv_parses_or_names_a_line(body: str) -> None:
    try:
        rows = parse_people_csv(HEADER + body)
    except ImportError_ as err:
        assert str(err).startswith("line ")
    else:
        assert all(r.line >= 2 for r in rows)


@given(
    st.lists(st.tuples(st.from_regex(r"U[A-Z0-9]{4}", fullmatch=True), st.text(max_size=12)), max_size=5),
    st.text(max_size=80),
)
def test_mentions_are_found_in_both_escaped_forms(users: list[tuple[str, str]], noise: str) -> None:
    text = (
        noise.replace("<", "")
        + " "
        + " ".join(f"<@{u}|{n.replace('>', '')}>" if i % 2 else f"<@{u}>" for i, (u, n) in enumerate(users))
    )
    assert mentions(text) == list(dict.fromkeys(u for u, _ in users))
    assert "<@" not in strip_mentions(text)
    plain_names(text)


@given(st.text(max_size=2000), st.booleans())
def test_gap_detection_never_crashes(text: str, manager: bool) -> None:
    for s in sentences(text):
        sig = gap_signal(s, author_is_manager=manager)
        assert sig is None or 0 < sig.strength <= 1


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=st.sampled_from(["/checkin", "/growth"]), text=st.text(max_size=300))
def test_slash_commands_always_answer(sandbox, command: str, text: str) -> None:  # type: ignore[no-untyped-def]
    sent = sandbox.driver.slash("U0EMP2", command, text)
    assert sent.status == 200
    body = sent.json() or {}
    assert body.get("text")
