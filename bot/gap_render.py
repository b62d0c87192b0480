"""The gap report as text (either language) and CSV (one row per role and capability)."""

from __future__ import annotations

import csv
import io

from bot.gap_analysis import MIN_GROUP, GapReport, role_label
from bot.i18n import t
from knowledge.competencies import load_competency_model

CSV_COLUMNS = ["team", "role", "capability", "required_level", "people", "people_below", "avg_shortfall",
               "mean_shortfall", "blocks_priorities"]


def _prio(report: GapReport, pid: str, locale: str) -> str:
    try:
        return report.cmap.priority(pid).name.get(locale) or pid
    except StopIteration:
        return pid


def render_text(report: GapReport, locale: str, *, limit: int | None = None) -> str:
    """A short table of the open gaps (largest first), then the learning themes."""
    model = load_competency_model()
    scope = report.team or t("goals_gaps_all_teams", locale)
    lines = [t("goals_gaps_title", locale, scope=scope, people=report.people,
               map=f"{report.cmap.company.get(locale, '')} v{report.cmap.version}".strip())]
    gaps = report.open_gaps
    if not report.gaps:
        lines.append(t("goals_gaps_no_roles", locale))
    elif not gaps:
        lines.append(t("goals_gaps_none", locale))
    for g in gaps[:limit]:
        lines.append(t("goals_gaps_row", locale, role=role_label(g.role), capability=model.name(g.capability, locale),
                       required=g.required, below=g.below, people=g.people, shortfall=f"{g.avg_shortfall:g}",
                       blocks=", ".join(_prio(report, p, locale) for p in g.blocks)))
    if limit is not None and len(gaps) > limit:
        lines.append(t("goals_gaps_more", locale, n=len(gaps) - limit))
    small = sorted({g.role for g in report.gaps if g.suppressed})
    if small:
        lines.append(t("goals_gaps_small_groups", locale, roles=", ".join(role_label(r) for r in small), n=MIN_GROUP))
    if report.themes:
        lines.append(t("goals_gaps_themes", locale))
        lines += [t("goals_gaps_theme_row", locale, n=n, title=th.title, gaps=th.gaps_addressed,
                    capabilities=", ".join(model.name(c, locale) for c in th.capabilities))
                  for n, th in enumerate(report.themes, 1)]
    return "\n".join(lines) + "\n"


def render_csv(report: GapReport) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for g in report.gaps:
        if g.suppressed:  # too few people: the figures are withheld, not zero
            w.writerow([report.team or "", g.role, g.capability, g.required, g.people, "", "", "", ";".join(g.blocks)])
            continue
        w.writerow([report.team or "", g.role, g.capability, g.required, g.people, g.below, f"{g.avg_shortfall:g}",
                    f"{g.mean_shortfall:g}", ";".join(g.blocks)])
    return out.getvalue()
