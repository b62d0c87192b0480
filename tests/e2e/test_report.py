"""The HR report end to end: `/hr report` and App Home upload a PNG and a CSV; `growthloop report` on the CLI."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

from bot.analytics import CSV_COLUMNS
from bot.demo.growth_seed import ensure_sample_point
from bot.demo.sandbox import Sandbox
from bot.slack.reporting import post_report

PNG = b"\x89PNG\r\n\x1a\n"


def _files(sb: Sandbox) -> dict[str, bytes]:
    return {u["filename"].rsplit(".", 1)[-1]: u["data"] for u in sb.stub.uploads.values() if u.get("data")}


def test_post_report_uploads_a_png_and_a_csv_to_the_admins_dm(sandbox: Sandbox) -> None:
    ensure_sample_point(sandbox.services, "U0EMP")
    sandbox.driver.slash("U0MGR", "/kudos", "<@U0EMP> <@U0EMPZH> thanks #one_team")
    client = sandbox.services.extras["slack_client"]
    post_report(sandbox.services, client, admin_slack_id="U0HR", locale="en")
    [done] = sandbox.stub.calls_of("files.completeUploadExternal")
    assert done.params["channel_id"] == "D0HR"
    files = _files(sandbox)
    assert files["png"].startswith(PNG) and len(files["png"]) > 10_000
    rows = list(csv.DictReader(io.StringIO(files["csv"].decode("utf-8"))))
    assert list(rows[0]) == CSV_COLUMNS
    kudos = {(r["metric"], r["group"]): r["numerator"] for r in rows if r["current"] == "true"}
    assert kudos[("kudos_received", "growth")] == "1" and kudos[("kudos_received", "platform")] == "1"
    assert kudos[("points_opened", "all")] == "1"
    summary = [m["text"] for m in sandbox.stub.messages["D0HR"]]
    assert summary and summary[0].startswith("*HR report*") and "Erik" not in summary[0]


def test_hr_report_command_for_admins_only(sandbox: Sandbox) -> None:
    refused = sandbox.driver.slash("U0EMP", "/hr", "report")
    assert "Only HR admins" in refused.json()["text"]
    assert sandbox.stub.calls_of("files.completeUploadExternal") == []
    answer = sandbox.driver.slash("U0HR", "/hr", "report")
    assert answer.status == 200 and "HR report" in answer.json()["text"]
    sandbox.stub.wait_calls("files.completeUploadExternal", 1, timeout=30)
    assert _files(sandbox)["png"].startswith(PNG)


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "GROWTHLOOP_DEFAULT_LOCALE")}
    env["GROWTHLOOP_DATA_DIR"] = str(tmp_path / "data")
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "report", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


def test_cli_report_formats_on_an_empty_store(tmp_path: Path) -> None:
    text = _cli(tmp_path, "--format", "text")
    assert text.returncode == 0 and "every figure is zero" in text.stdout
    out = _cli(tmp_path, "--format", "csv", "--out", str(tmp_path / "r.csv"))
    assert out.returncode == 0 and (tmp_path / "r.csv").read_text().splitlines()[0] == ",".join(CSV_COLUMNS)
    png = _cli(tmp_path, "--format", "png")
    assert png.returncode == 0 and (tmp_path / "growthloop-report.png").read_bytes().startswith(PNG)
    bad = _cli(tmp_path, "--format", "xml")
    assert bad.returncode == 2 and "--format must be text, csv or png" in bad.stderr
