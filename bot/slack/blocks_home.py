"""Block Kit for App Home (pure): the employee, manager and HR sections, stacked, inside Slack's limits."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.analytics.render import pct
from bot.home import HomeModel, PointItem, ReportRow
from bot.i18n import fmt_date, fmt_dt, t
from bot.slack.parsing import to_mrkdwn
from knowledge.competencies import CompetencyModel

MAX_BLOCKS = 100
POINTS_PER_PAGE = 4
ACTIONS_PER_POINT = 5
REPORTS_PER_PAGE = 8
_ICONS = {"course": ":books:", "practice": ":hammer_and_wrench:", "mentor": ":handshake:"}


def clip(text: str, limit: int = 2900) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(text))


def _button(label: str, action_id: str, value: str, style: str | None = None) -> ButtonElement:
    return ButtonElement(text=label[:75], action_id=action_id, value=value[:2000], style=style)


def _more(section: str, shown: int, total: int, locale: str) -> ActionsBlock:
    return ActionsBlock(
        block_id=f"more_{section}",
        elements=[_button(t("home_btn_more", locale, shown=shown, total=total), "home_more", f"{section}:{shown}")],
    )


def _point_blocks(p: PointItem, model: CompetencyModel, locale: str, tz: str) -> list[Block]:
    quote = to_mrkdwn(" ".join(p.evidence.split())[:400])
    blocks: list[Block] = [
        SectionBlock(
            block_id=f"point_{p.id}",
            text=_md(t("home_point", locale, competency=model.name(p.competency, locale), evidence=quote)),
        )
    ]
    for a in p.actions[:ACTIONS_PER_POINT]:
        status = (
            t(f"home_status_{a.status}", locale)
            if a.status in ("proposed", "accepted", "started", "done")
            else a.status
        )
        icon = ":white_check_mark:" if a.status == "done" else _ICONS.get(a.kind, ":small_blue_diamond:")
        text = _md(t("home_action", locale, icon=icon, title=a.title[:200], status=status))
        if a.status in ("proposed", "accepted"):
            blocks.append(
                SectionBlock(text=text, accessory=_button(t("home_btn_start", locale), "learn_start", str(a.id)))
            )
        elif a.status == "started":
            blocks.append(
                SectionBlock(
                    text=text, accessory=_button(t("home_btn_done", locale), "learn_done", str(a.id), "primary")
                )
            )
        else:
            blocks.append(SectionBlock(text=text))
    if p.kudos:
        ev = p.kudos[0]
        blocks.append(
            ContextBlock(
                elements=[
                    _md(
                        t(
                            "home_kudos_evidence",
                            locale,
                            giver=ev.giver_slack_id,
                            when=fmt_date(ev.at, tz, locale),
                            message=to_mrkdwn(ev.message[:200]),
                        )
                    )
                ]
            )
        )
    return blocks


def employee_blocks(m: HomeModel, model: CompetencyModel, locale: str, page: int = 0) -> list[Block]:
    tz = m.timezone
    blocks: list[Block] = [HeaderBlock(text=t("home_growth_header", locale))]
    if m.next_checkin:
        blocks.append(
            ContextBlock(elements=[_md(t("home_next_checkin", locale, when=fmt_dt(m.next_checkin, tz, locale)))])
        )
    if not m.points:
        blocks.append(SectionBlock(text=_md(t("home_no_points", locale))))
    shown = m.points[: (page + 1) * POINTS_PER_PAGE]
    for p in shown:
        blocks += _point_blocks(p, model, locale, tz)
    if len(shown) < len(m.points):
        blocks.append(_more("points", len(shown), len(m.points), locale))
    blocks.append(
        ActionsBlock(
            block_id="home_employee_actions",
            elements=[
                _button(t("home_btn_give_kudos", locale), "home_give_kudos", "give", "primary"),
                _button(t("home_btn_learn", locale), "home_learn", "learn"),
            ],
        )
    )
    blocks.append(HeaderBlock(text=t("home_kudos_header", locale)))
    if not m.kudos:
        blocks.append(ContextBlock(elements=[_md(t("home_no_kudos", locale))]))
    for k in m.kudos[:5]:
        message = to_mrkdwn(" ".join(k.message.split())[:300])
        blocks.append(
            ContextBlock(
                elements=[
                    _md(
                        t(
                            "home_kudos_item",
                            locale,
                            giver=k.giver_slack_id,
                            when=fmt_date(k.created_at, tz, locale),
                            message=message,
                        )
                    )
                ]
            )
        )
    return blocks


def _report_block(r: ReportRow, locale: str, tz: str) -> SectionBlock:
    last = fmt_date(r.last_checkin, tz, locale) if r.last_checkin else t("home_never", locale)
    nxt = fmt_dt(r.next_checkin, tz, locale) if r.next_checkin else t("home_unknown", locale)
    text = t(
        "home_report_row",
        locale,
        flag=t("home_overdue", locale) if r.overdue else t("home_first", locale) if r.first else "",
        slack_id=r.slack_id,
        last=last,
        next=nxt,
        actions=r.open_actions,
    )
    return SectionBlock(
        block_id=f"report_{r.slack_id}",
        text=_md(text),
        accessory=_button(t("home_btn_start_checkin", locale), "home_start_checkin", r.slack_id),
    )


def manager_blocks(m: HomeModel, locale: str, page: int = 0) -> list[Block]:
    rows = m.reports or []
    shown = rows[: (page + 1) * REPORTS_PER_PAGE]
    blocks: list[Block] = [DividerBlock(), HeaderBlock(text=t("home_team_header", locale))]
    blocks += [_report_block(r, locale, m.timezone) for r in shown]
    if len(shown) < len(rows):
        blocks.append(_more("reports", len(shown), len(rows), locale))
    return blocks


def hr_blocks(m: HomeModel, locale: str) -> list[Block]:
    hr = m.hr
    assert hr is not None
    blocks: list[Block] = [DividerBlock(), HeaderBlock(text=t("home_hr_header", locale))]
    if hr.due:
        blocks.append(
            SectionBlock(
                text=_md(
                    t(
                        "home_hr_coverage",
                        locale,
                        period=hr.period_label,
                        done=hr.done,
                        due=hr.due,
                        rate=pct(hr.done, hr.due),
                    )
                )
            )
        )
        fields = [_md(f"*{c.team}*: {c.done}/{c.due} ({pct(c.done, c.due)})") for c in hr.coverage[:10]]
        if fields:
            blocks.append(SectionBlock(fields=fields))
    else:
        blocks.append(SectionBlock(text=_md(t("home_hr_nobody_due", locale))))
    blocks.append(
        ActionsBlock(
            block_id="home_hr_actions",
            elements=[_button(t("home_btn_post_report", locale), "home_post_report", "report", "primary")],
        )
    )
    return blocks


def home_view(m: HomeModel, model: CompetencyModel, locale: str, pages: dict[str, int] | None = None) -> View:
    """The whole App Home; roles stack (employee, then manager, then HR), never over 100 blocks."""
    pages = pages or {}
    blocks = employee_blocks(m, model, locale, pages.get("points", 0))
    if m.reports is not None:
        blocks += manager_blocks(m, locale, pages.get("reports", 0))
    if m.hr is not None:
        blocks += hr_blocks(m, locale)
    if len(blocks) > MAX_BLOCKS:
        blocks = blocks[: MAX_BLOCKS - 1] + [ContextBlock(elements=[_md(t("home_truncated", locale))])]
    return View(type="home", callback_id="growthloop_home", blocks=blocks)
