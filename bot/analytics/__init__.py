"""HR analytics: `compute_report` (domain) and its renderings (`render_text`, `render_csv`, `render_png`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.analytics.compute import LinkStat, PeriodMetrics, Report, TeamCoverage, compute_report
from bot.analytics.periods import Period
from bot.analytics.render import CSV_COLUMNS, render_csv, render_text, summary_text


def render_png(report: Report, path: Path) -> Path:
    """The report as a PNG at `path`. matplotlib (~30 MB of RSS) is imported by the first chart drawn, not by
    every process that serves Slack."""
    from bot.analytics.chart import render_png as draw

    return draw(report, path)


def handle_hr_report(**kw: Any) -> None:
    """`/hr report`: the /hr listener looks this up here; the Slack work lives in `bot.slack.reporting`."""
    from bot.slack.reporting import handle_hr_report as handle

    handle(**kw)


__all__ = [
    "handle_hr_report",
    "CSV_COLUMNS",
    "LinkStat",
    "Period",
    "PeriodMetrics",
    "Report",
    "TeamCoverage",
    "compute_report",
    "render_csv",
    "render_png",
    "render_text",
    "summary_text",
]
