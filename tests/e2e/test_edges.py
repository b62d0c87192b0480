"""Requests no surface expects, as outside tooling and Slack send them: the shared payload examples of another
app's buttons, shortcut and form; typed names nobody has; commands without their argument."""

from __future__ import annotations

import json
import time
from pathlib import Path

from bot.demo.sandbox import Sandbox

PAYLOADS = Path(__file__).resolve().parents[3] / "shared" / "slack-payloads"


def _payload(name: str) -> dict:
    if (PAYLOADS / name).exists():
        return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))
    return {  # the same shape, for a checkout without the shared folder
        "block_actions.json": {
            "type": "block_actions",
            "user": {"id": "U0EMP"},
            "channel": {"id": "G0PAIR"},
            "container": {"type": "message", "message_ts": "1.2", "channel_id": "G0PAIR", "thread_ts": "1.1"},
            "actions": [{"action_id": "checkin_open_modal", "block_id": "b", "type": "button", "value": "x"}],
        },
        "message_shortcut.json": {
            "type": "message_action",
            "callback_id": "flag_checkin",
            "user": {"id": "U0MGR"},
            "channel": {"id": "G0PAIR"},
            "message_ts": "1.3",
            "trigger_id": "1.2.3",
            "message": {"type": "message", "user": "U0EMP", "ts": "1.3", "text": "hi"},
        },
        "view_submission.json": {
            "type": "view_submission",
            "user": {"id": "U0EMP"},
            "view": {"id": "V1", "type": "modal", "callback_id": "checkin_modal", "state": {"values": {}}},
        },
    }[name]


def test_interactions_that_are_not_ours_are_acknowledged_and_explained(sandbox: Sandbox) -> None:
    d, stub = sandbox.driver, sandbox.stub
    button = _payload("block_actions.json")
    button["user"]["id"] = "U0EMPZH"  # a zh user: the note is in Chinese
    assert d._interactive(button).status == 200
    note = stub.wait_for(lambda s: s.calls_of("chat.postEphemeral"))[-1].params
    assert note["user"] == "U0EMPZH" and "按钮已失效" in note["text"]
    assert note["thread_ts"] == button["container"]["thread_ts"]
    assert d._interactive(_payload("message_shortcut.json")).status == 200
    stub.wait_for(lambda s: len(s.calls_of("chat.postEphemeral")) == 2)
    assert "Give kudos" in stub.calls_of("chat.postEphemeral")[-1].params["text"]
    form = d._interactive(_payload("view_submission.json"))
    assert form.status == 200 and not form.body  # an empty 200 closes the form
    time.sleep(0.3)
    assert len(stub.calls_of("chat.postEphemeral")) == 2 and not stub.calls_of("chat.postMessage")


def test_a_typed_name_nobody_has_and_pause_without_a_duration(sandbox: Sandbox) -> None:
    d = sandbox.driver
    nobody = d.slash("U0MGR", "/checkin", "@nobody")
    assert nobody.json()["text"].startswith("I don't know anyone called @nobody.") and "<@" not in nobody.json()["text"]
    zh = d.slash("U0MGRZH", "/checkin", "@张三")
    assert "找不到名为 @张三 的人" in zh.json()["text"]
    by_name = d.slash("U0MGR", "/checkin", "@erik")  # the email's name resolves to the person
    assert "Erik" in by_name.json()["text"]
    pause = d.slash("U0EMPZH", "/checkin", "pause")
    assert pause.json()["text"].startswith("用法：`/checkin pause 2w`") and "“”" not in pause.json()["text"]


def test_checkin_subcommands_in_chinese(sandbox: Sandbox) -> None:
    d = sandbox.driver
    paused = d.slash("U0EMPZH", "/checkin", "暂停 2周").json()["text"]
    assert "暂停" in paused and "用法" not in paused
    assert "用法" not in d.slash("U0EMPZH", "/checkin", "状态").json()["text"]
    resumed = d.slash("U0EMPZH", "/checkin", "恢复").json()["text"]
    assert "用法" not in resumed and resumed != paused
    assert "`/checkin pause 2周`" in d.slash("U0EMPZH", "/checkin", "帮助").json()["text"]  # as the nudges write it
