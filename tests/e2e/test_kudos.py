"""Kudos end to end: the slash command, the message shortcut and its modal, through the signed sandbox."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from slack_sdk.models.views import View
from sqlmodel import Session, select

from bot.demo.sandbox import Sandbox, start_sandbox
from storage.models import Recognition


def _kudos(sb: Sandbox) -> list[Recognition]:
    with Session(sb.services.engine) as s:
        return list(s.exec(select(Recognition)))


def _dm_texts(sb: Sandbox, user: str) -> list[str]:
    return [m["text"] for m in sb.stub.messages.get("D" + user.lstrip("U"), [])]


def test_kudos_command_reaches_each_recipient_in_their_language(sandbox: Sandbox) -> None:
    answer = sandbox.driver.slash("U0MGR", "/kudos", "<@U0EMP|erik> <@U0EMPZH> great launch demo #customer_first")
    assert answer.status == 200 and answer.json()["response_type"] == "ephemeral"
    assert "Kudos sent to <@U0EMP>, <@U0EMPZH>" in answer.json()["text"] and "3 of 5" in answer.json()["text"]
    sandbox.stub.wait_for(lambda s: _dm_texts(sandbox, "U0EMP") and _dm_texts(sandbox, "U0EMPZH"))
    assert "<@U0MGR> gave you kudos" in _dm_texts(sandbox, "U0EMP")[0]
    assert "表扬了你" in _dm_texts(sandbox, "U0EMPZH")[0]
    [row] = _kudos(sandbox)
    assert row.receivers == ["U0EMP", "U0EMPZH"] and row.values == ["customer_first"]
    sandbox.stub.wait_for(lambda s: "home:U0EMP" in s.views)  # the recipient's App Home shows it
    assert "great launch demo" in str(sandbox.stub.views["home:U0EMP"])


@pytest.mark.parametrize(
    ("user", "text", "expected"),
    [
        ("U0EMP", "<@U0EMP> me me me", "yourself"),
        ("U0EMP", "<@U0BOT> thanks bot", "Bots don't need kudos"),
        ("U0EMP", "<@U0NOBODY> thanks", "I don't know <@U0NOBODY>"),
        ("U0EMP", "<#C0STANDUP|standup> thanks all", "not channels"),
        ("U0EMP", "<!channel> thanks all", "not to @here"),
        ("U0EMP", "@ghost thanks", "couldn't find a Slack user called @ghost"),
        ("U0EMP", "<@U0EMP2> " + "a" * 5000, "5,000 characters"),
        ("U0EMP", "<@U0EMP2> thanks #synergy", "#synergy isn't one of our company values"),
        ("U0EMP", "<@U0EMP2>", "Add a message"),
        ("U0EMP", "", "Usage"),
        ("U0EMPZH", "<@U0EMP2> thanks #synergy", "不是公司的价值观"),
    ],
)
def test_bad_kudos_get_a_clear_message_and_store_nothing(sandbox: Sandbox, user: str, text: str, expected: str) -> None:
    answer = sandbox.driver.slash(user, "/kudos", text)
    assert answer.status == 200 and expected in answer.json()["text"]
    time.sleep(0.1)
    assert _kudos(sandbox) == [] and sandbox.stub.calls_of("chat.postMessage") == []


def test_allowance_is_told_with_its_reset_time(sandbox: Sandbox) -> None:
    d = sandbox.driver
    assert "Kudos sent" in d.slash("U0EMP", "/kudos", "<@U0EMP2> <@U0EMP3> <@U0MGR> <@U0HR> thanks!").json()["text"]
    partial = d.slash("U0EMP", "/kudos", "<@U0EMPZH> <@U0EMPZH2> thanks!").json()["text"]
    assert "1 of 5 kudos left" in partial and "resets at" in partial
    assert "Kudos sent" in d.slash("U0EMP", "/kudos", "<@U0EMPZH> thanks!").json()["text"]
    assert "all 5 kudos for today" in d.slash("U0EMP", "/kudos", "<@U0EMPZH2> thanks!").json()["text"]
    assert len(_kudos(sandbox)) == 2


def test_kudos_channel_gets_the_post_when_set(tmp_path: Path) -> None:
    sb = start_sandbox(tmp_path / "data", growthloop_kudos_channel="C0KUDOS")
    try:
        sb.driver.slash("U0EMP", "/kudos", "<@U0EMP2> thanks for the SQL review #one_team")
        msg = sb.stub.wait_for(lambda s: s.messages.get("C0KUDOS"))[0]
        assert "<@U0EMP> gave kudos to <@U0EMP2>" in msg["text"]
        sb.stub.wait_for(lambda s: _kudos(sb)[0].channel_ts == msg["ts"])
    finally:
        sb.stop()


def test_message_shortcut_opens_a_modal_and_validates_the_submission(sandbox: Sandbox) -> None:
    stub, d = sandbox.stub, sandbox.driver
    message = stub.post_as_user("U0EMP", "C0GENERAL", "I wrote up the churn analysis: https://wiki/churn")
    assert d.message_shortcut("U0EMP2", "give_kudos", message).status == 200
    opened = stub.wait_calls("views.open", 1)[0].params["view"]
    View(**opened).validate_json()
    assert opened["callback_id"] == "kudos_modal"
    by_block = {b.get("block_id"): b for b in opened["blocks"]}
    assert by_block["kudos_to"]["element"]["initial_users"] == ["U0EMP"]
    assert [o["value"] for o in by_block["kudos_value"]["element"]["options"]][0] == "customer_first"
    assert "communication" in [o["value"] for o in by_block["kudos_competency"]["element"]["options"]]

    def values(users: list[str], text: str, value: str | None = None, comp: str | None = None) -> dict:
        out: dict = {
            "kudos_to": {"users": {"type": "multi_users_select", "selected_users": users}},
            "kudos_message": {"text": {"type": "plain_text_input", "value": text}},
            "kudos_value": {"value": {"type": "static_select", "selected_option": None}},
            "kudos_competency": {"competency": {"type": "static_select", "selected_option": None}},
        }
        if value:
            out["kudos_value"]["value"]["selected_option"] = {"value": value}
        if comp:
            out["kudos_competency"]["competency"]["selected_option"] = {"value": comp}
        return out

    self_only = d.submit_view("U0EMP2", opened, values(["U0EMP2"], "thanks")).json()
    assert self_only["response_action"] == "errors" and "yourself" in self_only["errors"]["kudos_to"]
    blank = d.submit_view("U0EMP2", opened, values(["U0EMP"], "   ")).json()
    assert "Add a message" in blank["errors"]["kudos_message"]
    assert _kudos(sandbox) == []
    ok = d.submit_view("U0EMP2", opened, values(["U0EMP"], "Crisp churn write-up", "learn_fast", "data_analysis"))
    assert ok.status == 200 and not ok.body
    dm = stub.wait_for(lambda s: _dm_texts(sandbox, "U0EMP"))
    assert "Crisp churn write-up" in dm[0]
    [row] = _kudos(sandbox)
    assert (row.giver_slack_id, row.values, row.competencies) == ("U0EMP2", ["learn_fast"], ["data_analysis"])
    stub.wait_for(lambda s: any("Kudos sent" in t for t in _dm_texts(sandbox, "U0EMP2")))


def test_shortcut_on_a_bot_message_presets_nobody(sandbox: Sandbox) -> None:
    bot_msg = {
        "type": "message",
        "user": "U0BOT",
        "bot_id": "B0BOT",
        "text": "reminder",
        "ts": "1.2",
        "channel": "C0GENERAL",
    }
    sandbox.driver.message_shortcut("U0EMP", "give_kudos", bot_msg)
    view = sandbox.stub.wait_calls("views.open", 1)[0].params["view"]
    assert "initial_users" not in view["blocks"][0]["element"]
