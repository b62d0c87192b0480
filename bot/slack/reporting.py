"""Post the HR report to an admin's DM: a short summary, the PNG chart and the CSV (files_upload_v2)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.analytics import compute_report, render_csv, render_png, summary_text
from bot.i18n import t
from bot.services import Services


def post_report(services: Services, client: WebClient, *, admin_slack_id: str, locale: str) -> None:
    """Compute the report and send it to `admin_slack_id` (the caller checks that they are an HR admin).

    Args:
        services: the shared services.
        client: a Slack WebClient.
        admin_slack_id: the HR admin who asked.
        locale: the admin's language for the summary (the chart's labels are English).
    """
    report = compute_report(services)
    channel = client.conversations_open(users=admin_slack_id)["channel"]["id"]
    client.chat_postMessage(channel=channel, text=summary_text(report, locale))
    stamp = f"{report.current.period.label}-{report.generated_at:%Y%m%d}"
    with tempfile.TemporaryDirectory(prefix="growthloop-report-") as tmp:
        png = render_png(report, Path(tmp) / f"growthloop-report-{stamp}.png")
        client.files_upload_v2(
            channel=channel,
            file_uploads=[
                {
                    "file": str(png),
                    "filename": png.name,
                    "title": f"HR report {report.current.period.label} (chart)",
                    "alt_txt": "Check-in coverage by team, and development points and learning per period",
                },
                {
                    "content": render_csv(report),
                    "filename": f"growthloop-report-{stamp}.csv",
                    "title": f"HR report {report.current.period.label} (CSV)",
                },
            ],
        )


def handle_hr_report(
    *, ack: Ack, services: Services, command: dict[str, Any], context: dict[str, Any], client: WebClient
) -> None:
    """`/hr report` (the /hr listener has checked the admin): ack at once, then post the report to their DM."""
    locale = context.get("locale") or "en"
    person = context.get("person")
    if person is None or not person.is_hr_admin:
        ack(response_type="ephemeral", text=t("not_hr_admin", locale))
        return
    ack(response_type="ephemeral", text=t("report_preparing", locale))
    post_report(services, client, admin_slack_id=command["user_id"], locale=locale)
