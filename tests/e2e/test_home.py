"""App Home end to end for each role: published on app_home_opened, valid Block Kit, within Slack's limits."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from slack_sdk.models.views import View

from bot.demo.growth_seed import ensure_sample_point
from bot.demo.sandbox import Sandbox, start_sandbox
from storage.db import session_scope
from storage.models import Nudge
from storage.people import upsert_person


def _open_home(sb: Sandbox, user: str, n: int = 1) -> dict[str, Any]:
    before = len([c for c in sb.stub.calls_of("views.publish") if c.params.get("user_id") == user])
    sb.driver.app_home_opened(user)
    sb.stub.wait_for(
        lambda s: len([c for c in s.calls_of("views.publish") if c.params.get("user_id") == user]) >= before + n
    )
    view = sb.stub.views["home:" + user]
    _valid(view)
    return view


def _valid(view: dict[str, Any]) -> None:
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    View(**view).to_dict()  # slack_sdk validates every block and text length


def _buttons(view: dict[str, Any], action_id: str) -> list[dict[str, Any]]:
    out = []
    for b in view["blocks"]:
        for el in b.get("elements") or ([b["accessory"]] if b.get("accessory") else []):
            if el.get("type") == "button" and el.get("action_id") == action_id:
                out.append(el)
    return out


def test_employee_home_shows_points_actions_kudos_and_buttons(sandbox: Sandbox) -> None:
    point = ensure_sample_point(sandbox.services, "U0EMP")
    sandbox.driver.slash("U0EMP2", "/kudos", "<@U0EMP> your board update was crystal clear")
    sandbox.stub.wait_for(lambda s: s.messages.get("D0EMP"))
    view = _open_home(sandbox, "U0EMP")
    text = str(view)
    assert "Communication" in text and "Bottom Line Up Front" in text and "crystal clear" in text
    assert len(_buttons(view, "learn_done")) == 1 and len(_buttons(view, "learn_start")) == 1
    assert all(b["value"].isdigit() for b in _buttons(view, "learn_start") + _buttons(view, "learn_done"))
    assert _buttons(view, "home_give_kudos") and _buttons(view, "home_learn")
    assert not _buttons(view, "home_start_checkin") and not _buttons(view, "home_post_report")
    assert point


def test_competency_kudos_show_as_evidence_on_the_point(sandbox: Sandbox) -> None:
    ensure_sample_point(sandbox.services, "U0EMP")
    from bot.recognition import give_kudos

    assert give_kudos(
        sandbox.services,
        giver_slack_id="U0EMP2",
        recipients=["U0EMP"],
        message="great pitch",
        competency="communication",
    ).ok
    home = _open_home(sandbox, "U0EMP")
    assert "Evidence: kudos from <@U0EMP2>" in str(home)


def test_home_buttons_give_kudos_and_learn(tmp_path: Path) -> None:
    sandbox = start_sandbox(tmp_path / "data", growthloop_embedder="hash")  # the learning index, built fast
    try:
        ensure_sample_point(sandbox.services, "U0EMP")
        _open_home(sandbox, "U0EMP")
        sandbox.driver.click_home("U0EMP", "home_give_kudos")
        modal = sandbox.stub.wait_calls("views.open", 1)[0].params["view"]
        assert modal["callback_id"] == "kudos_modal"
        sandbox.driver.click_home("U0EMP", "home_learn")
        dm = sandbox.stub.wait_for(lambda s: s.messages.get("D0EMP"), timeout=60)[0]
        assert "/learn" in dm["text"] or any(
            el.get("action_id") == "learn_start" for b in dm["blocks"] for el in b.get("elements") or []
        )
    finally:
        sandbox.stop()


def _report_text(view: dict[str, Any], slack_id: str) -> str:
    return next(b["text"]["text"] for b in view["blocks"] if b.get("block_id") == f"report_{slack_id}")


def test_manager_home_lists_reports_overdue_first_with_start_buttons(sandbox: Sandbox) -> None:
    view = _open_home(sandbox, "U0MGR")
    starts = _buttons(view, "home_start_checkin")
    assert sorted(b["value"] for b in starts) == ["U0EMP", "U0EMP2", "U0EMP3"]
    # nobody has had a check-in yet and each has one planned ahead: that is not overdue
    assert "Your team" in str(view) and "overdue" not in str(view)
    assert all("first check-in ahead" in _report_text(view, r) for r in ("U0EMP", "U0EMP2", "U0EMP3"))
    # a nudge that came due yesterday and was not acted on: overdue, and listed first
    with session_scope(sandbox.services.engine) as s:
        s.add(
            Nudge(
                manager_slack_id="U0MGR", employee_slack_id="U0EMP2", slot_at=sandbox.services.now() - timedelta(days=1)
            )
        )
    view = _open_home(sandbox, "U0MGR")
    rows = [b["block_id"] for b in view["blocks"] if str(b.get("block_id", "")).startswith("report_")]
    assert rows[0] == "report_U0EMP2" and ":warning: overdue" in _report_text(view, "U0EMP2")
    assert "overdue" not in _report_text(view, "U0EMP")
    sandbox.driver.click_home("U0MGR", "home_start_checkin", "U0EMP")
    # The check-in surface opens the pair's conversation; without it the manager is told it's unavailable.
    sandbox.stub.wait_for(
        lambda s: any(c.params.get("channel", "").startswith(("G", "D0MGR")) for c in s.calls_of("chat.postMessage"))
    )


def test_long_team_is_paged_with_a_more_button(sandbox: Sandbox) -> None:
    with session_scope(sandbox.services.engine) as s:
        for i in range(30):
            upsert_person(
                session=s,
                slack_id=f"U1R{i:03d}",
                name=f"Report {i}",
                team="platform",
                manager_slack_id="U0MGRZH",
                locale="zh",
                profile_synced=True,
            )
    view = _open_home(sandbox, "U0MGRZH")
    assert len(_buttons(view, "home_start_checkin")) == 8 and "更多" in str(view)
    sandbox.driver.click_home("U0MGRZH", "home_more")
    sandbox.stub.wait_for(lambda s: len(_buttons(s.views["home:U0MGRZH"], "home_start_checkin")) == 16)
    _valid(sandbox.stub.views["home:U0MGRZH"])


def test_hr_home_shows_coverage_and_posts_the_report(sandbox: Sandbox) -> None:
    view = _open_home(sandbox, "U0HR")
    assert "HR admin" in str(view) and "0/5" in str(view)
    assert _buttons(view, "home_post_report")
    sandbox.driver.click_home("U0HR", "home_post_report")
    sandbox.stub.wait_calls("files.completeUploadExternal", 1, timeout=30)
    names = sorted(u["filename"] for u in sandbox.stub.uploads.values())
    assert names[0].endswith(".csv") and names[1].endswith(".png")


def test_several_roles_stack(sandbox: Sandbox) -> None:
    with session_scope(sandbox.services.engine) as s:
        upsert_person(session=s, slack_id="U0MGR", is_hr_admin=True)
    view = _open_home(sandbox, "U0MGR")
    headers = [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"]
    assert headers == ["Your growth", "Recent kudos", "Your team", "HR admin"]
