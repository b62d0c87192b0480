"""The signed path end to end: Slack request -> Bolt app over HTTP -> store -> Slack Web API stub."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlmodel import Session, select

from bot.demo.sandbox import SIGNING_SECRET, Sandbox
from bot.slack.sandbox import SlackDriver, SlackStub
from storage.models import ProcessedEvent


def test_signed_slash_command_is_answered_in_the_users_language(sandbox: Sandbox) -> None:
    en = sandbox.driver.slash("U0EMP", "/checkin", "wibble")
    zh = sandbox.driver.slash("U0EMPZH", "/checkin", "wibble")
    assert en.status == 200 and "Usage" in en.json()["text"] and en.json()["response_type"] == "ephemeral"
    assert zh.status == 200 and "用法" in zh.json()["text"]


def test_forged_and_stale_requests_get_401_and_store_nothing(sandbox: Sandbox) -> None:
    d = sandbox.driver
    body = json.dumps(
        {
            "type": "event_callback",
            "event_id": "EvFORGED",
            "event": {
                "type": "message",
                "user": "U0EMP",
                "channel": "D0EMP",
                "channel_type": "im",
                "text": "hi",
                "ts": "1.1",
            },
        }
    ).encode()
    assert d.send(body, "application/json", signature="v0=" + "1" * 64).status == 401
    assert d.send(body, "application/json", timestamp=int(time.time()) - 6 * 60).status == 401
    wrong_secret = SlackDriver(sandbox.server.url, "not-the-secret", sandbox.stub)
    assert wrong_secret.slash("U0EMP", "/checkin", "").status == 401
    with Session(sandbox.services.engine) as s:
        assert s.exec(select(ProcessedEvent).where(ProcessedEvent.event_id == "EvFORGED")).first() is None
    # a timestamp that is no whole number of seconds: 401 too (not a 500), and nothing said to the channel it names
    form = b"command=%2Fcheckin&text=&user_id=U0EMP&channel_id=C0EVIL&team_id=T0TEAM"
    for stamp in ("abc", "", "1e9", " 1700000000", "17000000.5", "0x10", "-5"):
        headers = {"X-Slack-Request-Timestamp": stamp}
        assert d.send(form, "application/x-www-form-urlencoded", headers=headers, signature="v0=00").status == 401
        assert d.send(body, "application/json", headers=headers, signature="v0=00").status == 401
    time.sleep(0.2)
    assert sandbox.stub.calls_of("chat.postMessage") == []
    assert sandbox.stub.calls_of("chat.postEphemeral") == []


def test_event_retry_has_no_second_effect(sandbox: Sandbox) -> None:
    d = sandbox.driver
    first = d.message("U0EMP", "D0EMP", "hello there")
    sandbox.stub.wait_calls("chat.postMessage", 1)
    for n in (1, 2, 3):
        again = d.message("U0EMP", "D0EMP", "hello there", event_id=first.event_id, retry=n, record=False, ts=first.ts)
        assert again.status == 200
    time.sleep(0.3)
    assert len(sandbox.stub.calls_of("chat.postMessage")) == 1


def test_bot_echo_is_ignored(sandbox: Sandbox) -> None:
    sandbox.driver.bot_echo("D0EMP", "Thanks, logged")
    time.sleep(0.3)
    assert sandbox.stub.calls_of("chat.postMessage") == []


def test_healthz(sandbox: Sandbox) -> None:
    with urllib.request.urlopen(sandbox.server.url + "/healthz", timeout=5) as r:
        assert r.status == 200 and json.loads(r.read()) == {"status": "ok"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_http_process_through_the_sandbox(tmp_path: Path) -> None:
    stub = SlackStub().start()
    stub.add_user("U0EMP", "Erik", tz="Europe/Berlin", locale="zh-CN")
    port = _free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": stub.base_url,
        "GROWTHLOOP_DATA_DIR": str(tmp_path),
    }
    for k in ("SLACK_APP_TOKEN", "DATABASE_URL", "OPENAI_API_KEY", "CHROMA_URL"):
        env.pop(k, None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "serve",
            "--http",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-scheduler",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError("serve did not become healthy") from None
                time.sleep(0.2)
        driver = SlackDriver(url, SIGNING_SECRET, stub)
        answer = driver.slash("U0EMP", "/checkin", "nonsense")
        assert answer.status == 200 and "用法" in answer.json()["text"]  # locale synced from users.info
        assert driver.slash("U0EMP", "/checkin", "", signature="v0=bad").status == 401
        driver.message("U0EMP", "D0EMP", "hi")
        stub.wait_calls("chat.postMessage", 1, timeout=20)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        stub.stop()


def test_serve_without_token_stops_with_one_clear_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env["GROWTHLOOP_DATA_DIR"] = str(tmp_path)
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve", "--http"], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [out.stderr.strip()] and "SLACK_BOT_TOKEN" in out.stderr
