"""`/goal` end to end (modal → field errors → saved → capability check DM) and the gap report upload."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from sqlmodel import select

from bot.demo.sandbox import Sandbox
from bot.gap_render import CSV_COLUMNS
from bot.goals import goal_names
from bot.slack.gap_reporting import parse_gaps_args, post_gap_report
from storage.db import session_scope
from storage.models import DevelopmentAction, DevelopmentPoint, Goal

PNG = b"\x89PNG\r\n\x1a\n"


def _values(text: str, measure: str, due: date | None, capability: str | None) -> dict:
    return {
        "goal_text": {"value": {"type": "plain_text_input", "value": text}},
        "goal_measure": {"value": {"type": "plain_text_input", "value": measure}},
        "goal_due": {"value": {"type": "datepicker", "selected_date": due.isoformat() if due else None}},
        "goal_capability": {"value": {"type": "static_select", "selected_option":
                                      {"value": capability, "text": {"type": "plain_text", "text": capability}}
                                      if capability else None}},
        "goal_development": {"value": {"type": "plain_text_input", "value": "Sit in on five customer calls"}},
    }


def _open_modal(sb: Sandbox, user: str) -> dict:
    sent = sb.driver.slash(user, "/goal", "")
    assert sent.status == 200
    [call] = sb.stub.wait_calls("views.open", 1)
    return call.params["view"]


def test_goal_modal_errors_then_saved_with_a_capability_check(sandbox: Sandbox) -> None:
    view = _open_modal(sandbox, "U0EMP")
    assert view["callback_id"] == "goal_modal" and view["title"]["text"] == "Set a goal"
    select_el = next(b for b in view["blocks"] if b["block_id"] == "goal_capability")["element"]
    first_group = [o["value"] for o in select_el["option_groups"][0]["options"]]
    assert "customer_insight" in first_group  # the map's capabilities for a product manager come first

    past = date.today() - timedelta(days=5)
    bad = sandbox.driver.submit_view("U0EMP", view, _values("Cut onboarding churn", "  ", past, "customer_insight"))
    body = bad.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"goal_measure", "goal_due"}
    assert "in the past" in body["errors"]["goal_due"]
    with session_scope(sandbox.services.engine) as s:
        assert s.exec(select(Goal)).all() == []

    due = date.today() + timedelta(days=60)
    text = "Cut onboarding churn for new customers by interviewing churned users"
    ok = sandbox.driver.submit_view("U0EMP", view, _values(text, "30-day churn from 12% to 8%", due,
                                                          "customer_insight"))
    assert ok.status == 200 and not ok.body
    [update] = sandbox.stub.wait_calls("chat.update", 1, timeout=60)
    assert update.params["channel"] == "D0EMP"
    dm = update.params["text"]
    assert "Your goal is saved" in dm and "Customer insight" in dm and "3 needed" in dm
    with session_scope(sandbox.services.engine) as s:
        [goal] = s.exec(select(Goal)).all()
        points = s.exec(select(DevelopmentPoint).where(DevelopmentPoint.source == "goal")).all()
        actions = s.exec(select(DevelopmentAction)).all()
    assert goal.development_competency == "customer_insight" and goal.due_date == due
    assert "customer_insight" in {p.competency for p in points}
    per_point: dict[int | None, int] = {}
    for a in actions:
        per_point[a.point_id] = per_point.get(a.point_id, 0) + 1
    assert actions and max(per_point.values()) <= 3 and all(a.status == "proposed" for a in actions)
    assert goal_names(sandbox.services, person_slack_id="U0EMP") == [text]


def test_goal_modal_in_chinese(sandbox: Sandbox) -> None:
    view = _open_modal(sandbox, "U0EMPZH")
    assert view["title"]["text"] == "设定目标"
    bad = sandbox.driver.submit_view("U0EMPZH", view, _values("", "", None, None))
    errors = bad.json()["errors"]
    assert set(errors) == {"goal_text", "goal_measure", "goal_due"} and "截止日期" in errors["goal_due"]


def test_gap_report_uploads_a_png_and_a_csv(sandbox: Sandbox) -> None:
    client = sandbox.services.extras["slack_client"]
    post_gap_report(sandbox.services, client, admin_slack_id="U0HR", team="growth", locale="en")
    [done] = sandbox.stub.calls_of("files.completeUploadExternal")
    assert done.params["channel_id"] == "D0HR"
    files = {u["filename"].rsplit(".", 1)[-1]: u["data"] for u in sandbox.stub.uploads.values() if u.get("data")}
    assert files["png"].startswith(PNG) and len(files["png"]) > 10_000
    rows = list(csv.DictReader(io.StringIO(files["csv"].decode("utf-8"))))
    assert list(rows[0]) == CSV_COLUMNS and {r["team"] for r in rows} == {"growth"}
    assert {r["role"] for r in rows} == {"engineering_manager", "product_manager", "data_analyst", "customer_success"}
    [summary] = sandbox.stub.messages["D0HR"]
    assert "Capability gaps" in summary["text"] and "Erik" not in summary["text"]
    with pytest.raises(ValueError, match="unknown team"):
        post_gap_report(sandbox.services, client, admin_slack_id="U0HR", team="nope", locale="en")


def test_parse_gaps_args() -> None:
    assert parse_gaps_args("report gaps") is None
    assert parse_gaps_args("gaps team:growth") == "growth"
    assert parse_gaps_args("report gaps team:平台") == "平台"
    for bad in ("gaps growth", "gaps team:", "gaps team:a team:b"):
        with pytest.raises(ValueError, match="usage"):
            parse_gaps_args(bad)
