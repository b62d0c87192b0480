"""More property tests (issue 8): `/hr cycle start` dates, catalog lines, and random signed Slack requests.

Random requests, correctly signed, go to the real app over HTTP: the answer is always 200 or 4xx, never a 5xx.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.broadcasts import parse_day, start_cycle
from bot.cadence import UserError
from bot.demo.sandbox import Sandbox, start_sandbox
from bot.i18n import load_strings
from knowledge.catalog import FIELDS, CatalogError, parse_catalog

# --- dates of `/hr cycle start NAME YYYY-MM-DD` ---------------------------------------------------------------


@settings(deadline=None)
@given(st.text(max_size=40) | st.dates().map(date.isoformat) | st.from_regex(r"\d{4}-\d{2}-\d{2}", fullmatch=True))
def test_cycle_dates_parse_or_explain_in_both_languages(text: str) -> None:
    try:
        day = parse_day(text)
    except UserError as err:
        assert err.key in load_strings()
        assert err.text("en") and err.text("zh") and err.text("en") != err.text("zh")
    else:
        assert day.isoformat() == text.strip()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.text(min_size=1, max_size=30).filter(lambda s: s.strip() == s and " " not in s),
    end=st.text(max_size=12) | st.dates().map(date.isoformat),
)
def test_cycle_start_never_crashes(sqlite_services, name: str, end: str) -> None:  # type: ignore[no-untyped-def]
    from bot.people import import_people

    sqlite_services.clock = lambda: datetime(2025, 3, 3, 9, tzinfo=UTC)
    import_people(
        sqlite_services,
        "slack_id,name,email,manager_slack_id,team,role,timezone,locale,is_hr_admin\n"
        "U0HR,Hana,,,people,,Asia/Singapore,en,true\n",
    )
    try:
        cycle, milestones = start_cycle(sqlite_services, admin_slack_id="U0HR", name=name, end_text=end)
    except UserError as err:
        assert err.text("en")
    else:
        assert cycle.end_date > cycle.start_date and all(cycle.start_date <= d <= cycle.end_date for d in milestones)


# --- catalog lines ---------------------------------------------------------------------------------------------

_cells = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        ["communication", "feedback;coaching", "en", "zh", "10", "-3", "video", "https://x.example/c", "", "x" * 200]
    ),
)


@given(
    st.lists(
        st.dictionaries(
            st.sampled_from([*FIELDS, "extra"]),
            _cells | st.integers() | st.lists(_cells, max_size=3) | st.none(),
            max_size=9,
        ),
        max_size=4,
    ),
    st.text(max_size=60),
)
def test_jsonl_catalog_lines_parse_or_name_the_line(rows: list[dict], noise: str) -> None:
    text = "\n".join(json.dumps(r) for r in rows) + ("\n" + noise if noise.strip() else "")
    try:
        records = parse_catalog(text, "jsonl")
    except CatalogError as err:
        assert str(err).startswith("line ") and int(str(err).split()[1].rstrip(":")) >= 1
    else:
        assert len({r.id for r in records}) == len(records)


@given(st.lists(st.lists(_cells, min_size=0, max_size=10), max_size=4))
def test_csv_catalog_lines_parse_or_name_the_line(rows: list[list[str]]) -> None:
    text = ",".join(FIELDS) + "\n" + "\n".join(",".join(c.replace("\n", " ") for c in r) for r in rows)
    try:
        parse_catalog(text, "csv")
    except CatalogError as err:
        assert str(err).startswith("line ")


def test_csv_catalog_with_a_bare_carriage_return() -> None:
    with pytest.raises(CatalogError):
        parse_catalog(",".join(FIELDS) + "\n\r0", "csv")


# --- random signed Slack requests ----------------------------------------------------------------------------

ACTIONS = [
    "checkin_skip",
    "checkin_back",
    "checkin_finish",
    "point_confirm",
    "point_dispute",
    "point_close",
    "home_more",
    "home_give_kudos",
    "home_learn",
    "home_start_checkin",
    "home_post_report",
    "nudge_snooze",
    "nudge_skip",
    "nudge_start",
    "learn_start",
    "learn_done",
    "learn_not_relevant",
    "unknown_action",
]
VIEWS = ["point_dispute_modal", "kudos_modal", "goal_modal", "unknown_view"]
USERS = st.sampled_from(["U0EMP", "U0MGR", "U0HR", "U0EMPZH", "UNEW00001", ""])
_json_leaf = st.none() | st.booleans() | st.integers() | st.text(max_size=30)
_json = st.recursive(
    _json_leaf,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=3),
    max_leaves=8,
)
_value = (
    st.text(max_size=30) | st.from_regex(r"-?\d{1,12}", fullmatch=True) | st.just("c|x|1|U0EMP") | st.just("points:5")
)


@pytest.fixture(scope="module")
def fuzz_sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    sb = start_sandbox(Path(tmp_path_factory.mktemp("fuzz")) / "data")
    yield sb
    sb.stop()


def _ok(status: int) -> bool:
    return status == 200 or 400 <= status < 500


_FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_FUZZ
@given(
    body=st.binary(max_size=300) | st.text(max_size=300).map(str.encode),
    ctype=st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain"]),
)
def test_random_bodies_are_refused_politely(fuzz_sb, body: bytes, ctype: str) -> None:  # type: ignore[no-untyped-def]
    sb = fuzz_sb
    assert _ok(sb.driver.send(body, ctype).status)


@_FUZZ
@given(
    command=st.sampled_from(["/checkin", "/growth", "/kudos", "/hr", "/learn", "/goal", "/unknown"]),
    user=USERS,
    text=st.text(max_size=120),
)
def test_random_slash_commands_answer(fuzz_sb, command: str, user: str, text: str) -> None:  # type: ignore[no-untyped-def]
    sb = fuzz_sb
    assert _ok(sb.driver.slash(user, command, text).status)


@_FUZZ
@given(
    user=USERS, action_id=st.sampled_from(ACTIONS), value=_value, channel=st.sampled_from(["C0GENERAL", "D0EMP", ""])
)
def test_random_button_clicks_are_handled(fuzz_sb, user: str, action_id: str, value: str, channel: str) -> None:  # type: ignore[no-untyped-def]
    sb = fuzz_sb
    assert _ok(sb.driver.action(user, action_id, value, channel=channel).status)


@_FUZZ
@given(
    user=USERS,
    callback=st.sampled_from(VIEWS),
    meta=st.text(max_size=40) | _json.map(json.dumps),
    values=st.dictionaries(
        st.sampled_from(["why", "to", "message", "value", "competency", "text", "due"]),
        st.dictionaries(st.text(max_size=8), _json, max_size=2),
        max_size=3,
    ),
)
def test_random_view_submissions_are_handled(fuzz_sb, user: str, callback: str, meta: str, values: dict) -> None:  # type: ignore[no-untyped-def]
    sb = fuzz_sb
    sent = sb.driver.submit_view(user, {"callback_id": callback, "private_metadata": meta}, values)
    assert _ok(sent.status)


@_FUZZ
@given(
    event=st.fixed_dictionaries(
        {"type": st.sampled_from(["message", "app_home_opened", "app_mention", "other"])},
        optional={
            "user": USERS,
            "text": st.text(max_size=40),
            "channel": st.sampled_from(["D0EMP", "G0X", "C0GENERAL"]),
            "thread_ts": st.sampled_from(["1.000001", "x"]),
            "subtype": st.sampled_from(["message_changed", "bot_message", "weird"]),
            "message": _json,
            "ts": st.text(max_size=12),
            "tab": st.text(max_size=6),
        },
    )
)
def test_random_events_are_handled(fuzz_sb, event: dict) -> None:  # type: ignore[no-untyped-def]
    sb = fuzz_sb
    assert _ok(sb.driver.event(event).status)


@_FUZZ
@given(payload=_json)
def test_random_interactive_payloads_are_refused_politely(fuzz_sb, payload: object) -> None:  # type: ignore[no-untyped-def]
    sb = fuzz_sb
    body = urlencode({"payload": json.dumps(payload)}).encode()
    assert _ok(sb.driver.send(body, "application/x-www-form-urlencoded").status)
