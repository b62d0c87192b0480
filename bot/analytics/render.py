"""The report as text (en/zh) and as CSV (one row per metric, period and group)."""

from __future__ import annotations

import csv
import io

from bot.analytics.compute import MIN_GROUP, MIN_SAMPLE, NO_TEAM, SMALL_TEAMS, PeriodMetrics, Report, rate
from bot.i18n import t

CSV_COLUMNS = ["period", "period_start", "period_end", "current", "metric", "group", "numerator", "denominator", "rate"]


def pct(num: int, den: int) -> str:
    r = rate(num, den)
    return "–" if r is None else f"{r:.0%}"


def _basis(report: Report, locale: str) -> str:
    if report.basis == "cycles":
        return t("analytics_basis_cycles", locale, name=report.current.period.label)
    return t("analytics_basis_months", locale)


def team_label(team: str, locale: str) -> str:
    """A team as the report names it: the two groups the report makes up are said in the reader's language."""
    return {NO_TEAM: t("analytics_team_none", locale), SMALL_TEAMS: t("analytics_team_small", locale)}.get(team, team)


def _row(m: PeriodMetrics) -> str:
    cols = [
        m.period.label + (" *" if m.period.current else ""),
        f"{m.checkins_done}/{m.checkins_due} {pct(m.checkins_done, m.checkins_due)}",
        f"{m.actions_done}/{m.actions_total} {pct(m.actions_done, m.actions_total)}",
        f"{m.learners}/{m.people} {pct(m.learners, m.people)}",
        str(m.kudos),
        f"{m.points_opened}/{m.points_closed}",
    ]
    return " | ".join(cols)


def render_text(report: Report, locale: str) -> str:
    """A plain-text report in `locale`: a table of periods, then the current period by team and value."""
    when = report.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    lines = [t("analytics_title", locale, basis=_basis(report, locale), when=when), ""]
    if report.empty:
        lines += [t("analytics_empty", locale), ""]
    lines.append(t("analytics_table_header", locale))
    lines += [_row(m) for m in report.periods]
    cur = report.current
    label = cur.period.label
    lines += ["", t("analytics_coverage_by_team", locale, period=label)]
    lines += [f"  {team_label(c.team, locale)}: {c.done}/{c.due} {pct(c.done, c.due)}" for c in cur.coverage] or [
        "  " + t("analytics_none", locale)
    ]
    lines += ["", t("analytics_kudos_by_team", locale, period=label)]
    teams = sorted(  # the merged group last
        set(cur.kudos_given_by_team) | set(cur.kudos_received_by_team),
        key=lambda tm: (tm == SMALL_TEAMS, tm),
    )
    lines += [
        f"  {team_label(tm, locale)}: {cur.kudos_given_by_team.get(tm, 0)} / {cur.kudos_received_by_team.get(tm, 0)}"
        for tm in teams
    ] or ["  " + t("analytics_none", locale)]
    if cur.merged:
        lines.append("  " + t("analytics_small_teams", locale, n=cur.merged, min=MIN_GROUP))
    lines += ["", t("analytics_kudos_by_value", locale, period=label)]
    lines += [f"  #{v}: {n}" for v, n in cur.kudos_by_value.items()] or ["  " + t("analytics_none", locale)]
    lk = report.link
    lines += [
        "",
        t(
            "analytics_link",
            locale,
            wc_closed=lk.with_course_closed,
            wc=lk.with_course,
            wc_rate=pct(lk.with_course_closed, lk.with_course),
            nc_closed=lk.without_course_closed,
            nc=lk.without_course,
            nc_rate=pct(lk.without_course_closed, lk.without_course),
        ),
    ]
    if lk.small_sample:
        lines.append(t("analytics_link_small", locale, min=MIN_SAMPLE))
    return "\n".join(lines) + "\n"


def summary_text(report: Report, locale: str) -> str:
    """One short paragraph on the current period (for the admin's DM)."""
    cur = report.current
    if report.empty:
        return t("analytics_summary_empty", locale, period=cur.period.label)
    return t(
        "analytics_summary",
        locale,
        period=cur.period.label,
        done=cur.checkins_done,
        due=cur.checkins_due,
        coverage=pct(cur.checkins_done, cur.checkins_due),
        adone=cur.actions_done,
        atotal=cur.actions_total,
        learners=cur.learners,
        people=cur.people,
        kudos=cur.kudos,
        opened=cur.points_opened,
        closed=cur.points_closed,
    )


def render_csv(report: Report) -> str:
    """Long-format CSV (`CSV_COLUMNS`): one row per period, metric and group; easy to pivot in a spreadsheet."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)

    def row(m: PeriodMetrics | None, metric: str, group: str, num: int, den: int | None) -> None:
        r = rate(num, den) if den is not None else None
        period = (
            [m.period.label, m.period.start.isoformat(), m.period.end.isoformat(), str(m.period.current).lower()]
            if m
            else ["all", report.periods[0].period.start.isoformat(), report.current.period.end.isoformat(), ""]
        )
        w.writerow([*period, metric, group, num, "" if den is None else den, "" if r is None else f"{r:.4f}"])

    for m in report.periods:
        row(m, "checkin_coverage", "all", m.checkins_done, m.checkins_due)
        for c in m.coverage:
            row(m, "checkin_coverage", c.team, c.done, c.due)
        row(m, "action_completion", "all", m.actions_done, m.actions_total)
        row(m, "learning_participation", "all", m.learners, m.people)
        row(m, "kudos", "all", m.kudos, None)
        for team, n in m.kudos_given_by_team.items():
            row(m, "kudos_given", team, n, None)
        for team, n in m.kudos_received_by_team.items():
            row(m, "kudos_received", team, n, None)
        for value, n in m.kudos_by_value.items():
            row(m, "kudos_by_value", value, n, None)
        row(m, "points_opened", "all", m.points_opened, None)
        row(m, "points_closed", "all", m.points_closed, None)
    lk = report.link
    row(None, "closed_by_next_period", "with_completed_course", lk.with_course_closed, lk.with_course)
    row(None, "closed_by_next_period", "without_completed_course", lk.without_course_closed, lk.without_course)
    return out.getvalue()
