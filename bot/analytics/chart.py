"""The report as a PNG: check-in coverage by team, and development points with learning, per period.

Labels are English: matplotlib's bundled DejaVu Sans has no CJK glyphs and no CJK font ships with the app.
A team name the font cannot draw is labelled "team N" rather than as empty boxes.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.ft2font import FT2Font  # noqa: E402

from bot.analytics.compute import MIN_SAMPLE, Report, rate  # noqa: E402
from bot.analytics.render import pct  # noqa: E402

BLUE, LIGHT, GREEN, ORANGE, GREY = "#2c6e49", "#a7c4b5", "#4c956c", "#d68c45", "#6c757d"


@lru_cache(maxsize=1)
def _drawable() -> frozenset[int]:
    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"))
    return frozenset(FT2Font(path).get_charmap())


def _label(name: str, index: int) -> str:
    return name if all(ord(ch) in _drawable() for ch in name) else f"team {index + 1}"


def _coverage_panel(ax: plt.Axes, report: Report) -> None:
    cur = report.current
    prev = report.periods[-2] if len(report.periods) > 1 else None
    teams = [c.team for c in cur.coverage]
    ax.set_title(f"Check-in coverage by team, {cur.period.label}", loc="left", fontsize=12, fontweight="bold")
    if not teams:
        ax.text(
            0.5,
            0.5,
            "No one is due a check-in yet\n(no employees with a manager)",
            ha="center",
            va="center",
            fontsize=11,
            color=GREY,
            transform=ax.transAxes,
        )
        ax.set_axis_off()
        return
    y = list(range(len(teams)))[::-1]
    prev_rates = {c.team: rate(c.done, c.due) or 0.0 for c in prev.coverage} if prev else {}
    ax.barh(
        [v + 0.2 for v in y],
        [prev_rates.get(tm, 0.0) * 100 for tm in teams],
        height=0.35,
        color=LIGHT,
        label=f"previous ({prev.period.label})" if prev else "previous",
    )
    ax.barh(
        [v - 0.2 for v in y],
        [(c.rate or 0.0) * 100 for c in cur.coverage],
        height=0.35,
        color=BLUE,
        label=f"current ({cur.period.label})",
    )
    prev_counts = {c.team: c for c in prev.coverage} if prev else {}
    for v, tm in zip(y, teams, strict=True):
        if (pc := prev_counts.get(tm)) and pc.due:
            ax.text(
                min((pc.rate or 0.0) * 100, 100) + 1.5,
                v + 0.2,
                f"{pc.done}/{pc.due}",
                va="center",
                fontsize=9,
                color=GREY,
            )
    for v, c in zip(y, cur.coverage, strict=True):
        ax.text(
            min((c.rate or 0.0) * 100, 100) + 1.5,
            v - 0.2,
            f"{c.done}/{c.due}  {pct(c.done, c.due)}",
            va="center",
            fontsize=10,
        )
    ax.set_yticks(y, [_label(tm, i) for i, tm in enumerate(teams)], fontsize=11)
    ax.set_xlim(0, 125)
    ax.set_xticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"])
    ax.set_xlabel("check-ins done / due this period")
    ax.legend(loc="lower right", fontsize=9, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)


def _share(num: int, den: int) -> float:
    r = rate(num, den)
    return float("nan") if r is None else r * 100


def _development_panel(ax: plt.Axes, report: Report) -> None:
    labels = [m.period.label for m in report.periods]
    x = list(range(len(labels)))
    opened = [m.points_opened for m in report.periods]
    closed = [m.points_closed for m in report.periods]
    ax.set_title("Development points and learning per period", loc="left", fontsize=12, fontweight="bold")
    ax.bar([v - 0.2 for v in x], opened, width=0.38, color=ORANGE, label="points opened")
    ax.bar([v + 0.2 for v in x], closed, width=0.38, color=GREEN, label="points closed")
    ax.set_xticks(x, labels, fontsize=10, rotation=15 if max(len(s) for s in labels) > 8 else 0)
    ax.set_ylabel("development points")
    ax.set_ylim(0, max([*opened, *closed, 1]) * 1.3)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.spines[["top"]].set_visible(False)
    share = ax.twinx()
    # No one to count (0/0) is a gap in the line, not a 0%.
    learning = [_share(m.learners, m.people) for m in report.periods]
    actions = [_share(m.actions_done, m.actions_total) for m in report.periods]
    share.plot(x, learning, color=BLUE, marker="o", linewidth=2, label="people learning (%)")
    share.plot(x, actions, color=GREY, marker="s", linewidth=2, linestyle="--", label="actions done (%)")
    share.set_ylim(0, 110)
    share.set_ylabel("share of people / actions (%)")
    share.spines[["top"]].set_visible(False)
    handles = ax.get_legend_handles_labels()
    more = share.get_legend_handles_labels()
    ax.legend(handles[0] + more[0], handles[1] + more[1], loc="upper left", fontsize=9, frameon=False, ncol=2)


def _footer(report: Report) -> str:
    lk = report.link
    text = (
        f"Points with a completed course closed by the next period: {lk.with_course_closed} of {lk.with_course} "
        f"({pct(lk.with_course_closed, lk.with_course)});  without: {lk.without_course_closed} of "
        f"{lk.without_course} ({pct(lk.without_course_closed, lk.without_course)})."
    )
    if lk.small_sample:
        text += f"  Fewer than {MIN_SAMPLE} points in a group: too few to read as a trend."
    if report.empty:
        text = "Nothing recorded yet in these periods: every figure is zero.  " + text
    return text


def render_png(report: Report, path: Path) -> Path:
    """Draw the report to `path` (PNG) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 6.2), dpi=110, gridspec_kw={"width_ratios": [1, 1.15]})
    try:
        basis = "cycles" if report.basis == "cycles" else "calendar months (no cycles yet)"
        fig.suptitle(
            f"GrowthLoop HR report: {report.current.period.label}  ·  periods: {basis}  ·  "
            f"generated {report.generated_at:%Y-%m-%d}",
            fontsize=13,
            x=0.01,
            ha="left",
        )
        _coverage_panel(left, report)
        _development_panel(right, report)
        fig.text(0.01, 0.015, _footer(report), fontsize=10, color="#333333", wrap=True)
        fig.tight_layout(rect=(0, 0.06, 1, 0.95))
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path
