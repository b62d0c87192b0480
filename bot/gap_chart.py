"""The gap heat-map PNG: roles × capabilities, coloured by the mean shortfall, with the learning themes below.

Labels are English (matplotlib's DejaVu Sans has no CJK glyphs); a team name it cannot draw is not printed.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LinearSegmentedColormap  # noqa: E402

from bot.gap_analysis import MIN_GROUP, GapReport, Theme, role_label  # noqa: E402
from knowledge.competencies import CompetencyModel, load_competency_model  # noqa: E402

_CMAP = LinearSegmentedColormap.from_list("gap", ["#e9f5ee", "#f6d6a8", "#d68c45", "#9c3d1e"])
GREY = "#6c757d"


def _ascii(text: str) -> bool:
    return all(ord(ch) < 0x2000 for ch in text)


def _theme_line(n: int, th: Theme, model: CompetencyModel) -> str:
    title = th.title if _ascii(th.title) else th.course_id
    caps = ", ".join(model.name(c, "en") for c in th.capabilities)
    return f"{n}. {title}  ({caps}): {th.gaps_addressed} open gap{'s' if th.gaps_addressed != 1 else ''}"


def render_png(report: GapReport, path: Path) -> Path:
    """Draw the heat-map to `path` (parents created) and return it."""
    model = load_competency_model()
    roles, caps = report.roles, report.capabilities
    path.parent.mkdir(parents=True, exist_ok=True)
    themes = report.themes[:5]
    left, right, top, labels = 2.0, 0.4, 1.05, 1.45  # inches
    cell_w, cell_h = 1.2, 0.6
    grid_w, grid_h = cell_w * max(1, len(caps)), cell_h * max(1, len(roles))
    themes_h = 0.3 * (max(1, len(themes)) + 1) + 0.25
    width, height = max(9.0, left + grid_w + right), top + grid_h + labels + themes_h
    fig = plt.figure(figsize=(width, height), dpi=110)
    ax = fig.add_axes((left / width, (themes_h + labels) / height, grid_w / width, grid_h / height))
    where = f"team {report.team}" if report.team and _ascii(report.team) else ("one team" if report.team else
                                                                               "all teams")
    fig.text(0.2 / width, 1 - 0.25 / height, f"Capability gaps, {where} ({report.people} people)", fontsize=13,
             fontweight="bold", va="top")
    fig.text(0.2 / width, 1 - 0.6 / height, "Each cell: people below the required level / people in the role, and "
             "their average shortfall in levels; Lx = required level.\nColour: mean shortfall over everyone in the "
             "role. Grey: the map does not ask this of the role.", fontsize=8.5, color=GREY, va="top")
    if not roles or not caps:
        ax.text(0.5, 0.5, "No one in the people table has a role the capability map names", ha="center",
                va="center", color=GREY, transform=ax.transAxes)
        ax.set_axis_off()
    else:
        grid = np.full((len(roles), len(caps)), np.nan)
        for i, role in enumerate(roles):
            for j, cap in enumerate(caps):
                g = report.cell(role, cap)
                if g is not None and not g.suppressed:
                    grid[i, j] = g.mean_shortfall
        ax.imshow(np.ma.masked_invalid(grid), cmap=_CMAP, vmin=0, vmax=2.5, aspect="auto")
        ax.set_facecolor("#f4f4f4")
        for i, role in enumerate(roles):
            for j, cap in enumerate(caps):
                g = report.cell(role, cap)
                if g is None:
                    ax.text(j, i, "–", ha="center", va="center", color="#bbbbbb", fontsize=9)
                    continue
                if g.suppressed:  # fewer than MIN_GROUP people: no figures about individuals
                    ax.text(j, i, f"<{MIN_GROUP}\npeople", ha="center", va="center", color=GREY, fontsize=7.5)
                    continue
                label = f"{g.below}/{g.people}" + (f"\n−{g.avg_shortfall:g}" if g.below else "\nok")
                dark = g.mean_shortfall > 1.4
                ax.text(j, i, label, ha="center", va="center", fontsize=8.5, color="white" if dark else "#222222",
                        fontweight="bold" if g.below else "normal")
                ax.text(j + 0.45, i - 0.38, f"L{g.required}", ha="right", va="top", fontsize=6.5,
                        color="white" if dark else GREY)
        ax.set_xticks(range(len(caps)), [model.name(c, "en") for c in caps], rotation=30, ha="right", fontsize=9)
        ax.set_yticks(range(len(roles)), [role_label(r) for r in roles], fontsize=9.5)
        ax.set_xticks(np.arange(-0.5, len(caps)), minor=True)
        ax.set_yticks(np.arange(-0.5, len(roles)), minor=True)
        ax.grid(which="minor", color="white", linewidth=2)
        ax.tick_params(which="both", length=0)
        for side in ax.spines.values():
            side.set_visible(False)
    y = (themes_h - 0.3) / height
    fig.text(0.2 / width, y, "Learning themes that address the most open gaps", fontsize=10.5, fontweight="bold")
    lines = [_theme_line(n, th, model) for n, th in enumerate(themes, 1)] or ["No open gaps: nothing to close."]
    for k, line in enumerate(lines):
        fig.text(0.3 / width, y - 0.3 * (k + 1) / height, line, fontsize=9)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
