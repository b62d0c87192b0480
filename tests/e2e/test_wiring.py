"""The loop's joints: goals named in the check-in, kudos evidence offered to the manager, /hr report gaps."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, select

from bot.demo.sandbox import Sandbox
from bot.goals import save_goal
from bot.recognition import give_kudos
from storage.db import session_scope
from storage.models import DevelopmentPoint
from tests.e2e.checkin_helpers import thread_root, wait_thread_posts


def test_goal_questions_name_the_goals(sandbox: Sandbox) -> None:
    sb = sandbox
    today = sb.services.now().date()
    save_goal(
        sb.services,
        person_slack_id="U0EMP",
        text="Launch self-serve onboarding",
        measure="activation +10%",
        due=today + timedelta(days=30),
        capability="customer_insight",
        today=today,
    )
    sb.driver.slash("U0MGR", "/checkin", "<@U0EMP>")
    root = thread_root(sb)
    wait_thread_posts(sb, root["channel"], root["ts"], 1)
    sb.driver.message("U0EMP", root["channel"], "fine", thread_ts=root["ts"])
    q2 = wait_thread_posts(sb, root["channel"], root["ts"], 2)[1]
    assert "Launch self-serve onboarding" in q2["text"]


def test_kudos_evidence_is_offered_and_the_manager_closes_the_point(sandbox: Sandbox) -> None:
    sb = sandbox
    with session_scope(sb.services.engine) as s:
        s.add(DevelopmentPoint(person_slack_id="U0EMP", competency="communication", evidence="slides never land"))
    out = give_kudos(
        sb.services,
        giver_slack_id="U0EMP2",
        recipients=["U0EMP"],
        message="Crisp exec update today!",
        competency="communication",
    )
    assert getattr(out, "ok", True)
    sb.driver.slash("U0MGR", "/checkin", "<@U0EMP>")
    offer = sb.stub.wait_for(
        lambda s: next(
            (c for c in s.calls_of("chat.postEphemeral") if "Crisp exec update" in str(c.params.get("blocks"))), None
        )
    )
    assert offer.params["user"] == "U0MGR"
    message = {
        **offer.response,
        "channel": offer.params["channel"],
        "ts": offer.response.get("message_ts"),
        "blocks": offer.params["blocks"],
        "ephemeral_to": "U0MGR",
    }
    sb.driver.click("U0EMP3", message, "point_close")  # not the manager
    sb.stub.wait_for(
        lambda s: any("Only the person's manager" in c.params.get("text", "") for c in s.calls_of("chat.postEphemeral"))
    )
    sb.driver.click("U0MGR", message, "point_close")
    sb.stub.wait_for(
        lambda s: any(
            "Closed the development point" in c.params.get("text", "") for c in s.calls_of("chat.postEphemeral")
        )
    )
    with Session(sb.services.engine) as s:
        assert s.exec(select(DevelopmentPoint)).one().status == "closed"
    growth = sb.driver.slash("U0EMP", "/growth", "")
    assert "evidence on open point" not in str(growth.json()["blocks"])  # closed now
    assert "Crisp exec update" in str(growth.json()["blocks"])


def test_hr_report_gaps(sandbox: Sandbox) -> None:
    sb = sandbox
    refused = sb.driver.slash("U0EMP", "/hr", "report gaps")
    assert "Only HR admins" in refused.json()["text"]
    bad = sb.driver.slash("U0HR", "/hr", "report gaps nonsense")
    assert "Usage: `/hr report gaps`" in bad.json()["text"]
    unknown = sb.driver.slash("U0HR", "/hr", "Report Gaps team:nope")  # the words in any case
    assert "Nobody is in a team called “nope”" in unknown.json()["text"] and "growth" in unknown.json()["text"]
    ok = sb.driver.slash("U0HR", "/hr", "report gaps")
    assert ok.status == 200
    sb.stub.wait_for(lambda s: any(u.get("data") and b"\x89PNG" in u["data"] for u in s.uploads.values()), timeout=60)


def test_report_gaps_cli(tmp_path: Path) -> None:
    env = {**os.environ, "GROWTHLOOP_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    csv = Path(__file__).resolve().parents[2] / "bot" / "demo" / "people.csv"
    subprocess.run(
        [sys.executable, "-m", "bot.cli", "people", "import", str(csv)],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli", "report", "--gaps", "--format", "csv"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0].count(",") >= 3
