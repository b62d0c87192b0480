"""The team gap report to an HR admin's DM: a short text, the heat-map PNG and the CSV (files_upload_v2).

`/hr report gaps [team:NAME]` is wired by the `/hr` listener: `parse_gaps_args` then `post_gap_report`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from slack_sdk import WebClient

from bot.gap_analysis import compute_gaps
from bot.gap_render import render_csv, render_text
from bot.services import Services


def parse_gaps_args(text: str) -> str | None:
    """The team of `[report] gaps [team:NAME]` (None for the whole organisation).

    Raises:
        ValueError: for anything else, with the usage in the message.
    """
    words = (text or "").split()
    if words[:1] == ["report"]:
        words = words[1:]
    if words[:1] == ["gaps"]:
        words = words[1:]
    if not words:
        return None
    if len(words) == 1 and words[0].lower().startswith("team:") and len(words[0]) > 5:
        return words[0][5:]
    raise ValueError(f"unexpected {' '.join(words)!r}; usage: /hr report gaps [team:NAME]")


def post_gap_report(services: Services, client: WebClient, *, admin_slack_id: str, team: str | None,
                    locale: str) -> None:
    """Compute the gaps and send them to `admin_slack_id` (the caller checks that they are an HR admin).

    Args:
        services: the shared services.
        client: a Slack WebClient.
        admin_slack_id: the HR admin who asked.
        team: one team, or None for everyone.
        locale: the admin's language for the text (the chart's labels are English).

    Raises:
        ValueError: for a team nobody belongs to (nothing is posted).
    """
    report = compute_gaps(services, team=team, language=locale)
    channel = client.conversations_open(users=admin_slack_id)["channel"]["id"]
    client.chat_postMessage(channel=channel, text=render_text(report, locale, limit=8))
    stem = f"growthloop-gaps-{team or 'all'}-{report.generated_at:%Y%m%d}"
    with tempfile.TemporaryDirectory(prefix="growthloop-gaps-") as tmp:
        from bot.gap_chart import render_png  # matplotlib only when a chart is drawn

        png = render_png(report, Path(tmp) / "gaps.png")
        client.files_upload_v2(channel=channel, file_uploads=[
            {"file": str(png), "filename": f"{stem}.png", "title": "Capability gaps (heat-map)",
             "alt_txt": "Heat-map of people below the required level, by role and capability"},
            {"content": render_csv(report), "filename": f"{stem}.csv", "title": "Capability gaps (CSV)"},
        ])
