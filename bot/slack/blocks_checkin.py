"""Block Kit for check-ins: pure functions returning slack_sdk.models blocks (validated by the SDK)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

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

from bot.i18n import fmt_date, t
from bot.slack.parsing import to_mrkdwn

MAX_TEXT = 2900  # Slack's section text limit is 3000 characters


def clip(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _distinct(locales: list[str]) -> list[str]:
    return list(dict.fromkeys(locales)) or ["en"]


def _joined(key: str, locales: list[str], **kw: str | Callable[[str], str]) -> str:
    """`key` in each of the thread's languages, one line each; a callable value is given the language."""
    return "\n".join(
        t(key, loc, **{k: v(loc) if callable(v) else v for k, v in kw.items()}) for loc in _distinct(locales)
    )


def _label(key: str, locales: list[str]) -> str:
    """A button's label in the thread's languages ("Skip / 跳过" when the two people read different ones)."""
    return clip(" / ".join(dict.fromkeys(t(key, loc) for loc in _distinct(locales))), 75)


def root_blocks(*, manager: str, employee: str, locales: list[str], state: str, when: datetime, tz: str) -> list[Block]:
    """The thread's root message: who, state (in progress → done, with the date), how it works, who sees it."""
    loc = locales[0] if locales else "en"
    return [
        HeaderBlock(text=clip(t("checkin_root_title", loc, manager=manager, employee=employee), 150)),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=_joined(f"checkin_root_state_{state}", locales, date=lambda x: fmt_date(when, tz, x))
                )
            ]
        ),
        SectionBlock(text=MarkdownTextObject(text=_joined("checkin_root_intro", locales))),
        ContextBlock(elements=[MarkdownTextObject(text=_joined("checkin_privacy", locales))]),
    ]


def question_blocks(
    *, checkin_id: int, n: int, total: int, topic: str, texts: list[str], locales: list[str], ack: str | None = None
) -> list[Block]:
    """One question, numbered, with Skip / Back / Finish (their value: the check-in and this question's step).

    `ack`: the line that acknowledges the answer just given, shown first (acknowledge, then explore).
    """
    loc = locales[0] if locales else "en"
    value = f"{checkin_id}:{n - 1}"
    buttons = [ButtonElement(text=_label("checkin_btn_skip", locales), action_id="checkin_skip", value=value)]
    if n > 1:
        buttons.append(ButtonElement(text=_label("checkin_btn_back", locales), action_id="checkin_back", value=value))
    buttons.append(
        ButtonElement(
            text=_label("checkin_btn_finish", locales), action_id="checkin_finish", value=value, style="primary"
        )
    )
    lead: list[Block] = [SectionBlock(text=MarkdownTextObject(text=clip(ack, 500)))] if ack else []
    return [
        *lead,
        ContextBlock(
            elements=[
                MarkdownTextObject(text=t("checkin_question_label", loc, n=str(n), total=str(total), topic=topic))
            ]
        ),
        SectionBlock(text=MarkdownTextObject(text=clip("\n".join(f"*{x}*" for x in texts)))),
        ActionsBlock(block_id=f"checkin_nav_{checkin_id}_{n}", elements=buttons),
    ]


@dataclass(frozen=True)
class PointRow:
    """One development point as the closing message shows it. `outcome`: agreed or disputed, shown instead of the
    buttons; `reason_also`: the reason in the other person's language (mixed-language check-ins); `focus`: the
    behaviour to practise (the competency's closest descriptor). The confidence is stored and exported, never
    shown: no score next to a person's name."""

    id: int
    competency: str  # its name, as shown
    evidence: str
    reason: str
    outcome: str | None = None
    reason_also: str | None = None
    focus: str | None = None


def summary_blocks(
    *,
    summary: str,
    points: list[PointRow],
    locale: str,
    employee_locale: str,
    also: str | None = None,
    recap: str | None = None,
) -> list[Block]:
    """The closing message: summary, then each point with its quoted evidence and Agree / I see it differently.

    `also`: the other person's language in a mixed-language check-in; the titles are given in it too (the
    competency names come with it from the caller), and so are `recap` (the factual summary) and each point's
    reason when the caller has them.
    """
    langs = [locale] + ([also] if also and also != locale else [])

    def title(key: str) -> str:
        return " · ".join(t(key, x) for x in langs)

    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=clip(f"*{title('checkin_summary_title')}*\n{summary}"))),
        *([ContextBlock(elements=[MarkdownTextObject(text=clip(recap, 1900))])] if recap and also else []),
        DividerBlock(),
        SectionBlock(text=MarkdownTextObject(text=f"*{title('checkin_points_title')}*")),
    ]
    if not points:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=t("checkin_no_points", locale))))
    for row in points[:10]:
        pid, evidence = row.id, to_mrkdwn(clip(row.evidence, 600))
        if row.focus:
            focus = to_mrkdwn(row.focus[:1].lower() + row.focus[1:] if locale == "en" else row.focus)
            line = t("checkin_point_line_focus", locale, competency=row.competency, focus=focus, evidence=evidence)
        else:
            line = t("checkin_point_line", locale, competency=row.competency, evidence=evidence)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=clip(line))))
        why = t("checkin_point_why", locale, reason=row.reason)
        if row.reason_also and also:
            why += "\n" + t("checkin_point_why", also, reason=row.reason_also)
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip(why, 1900))]))
        if row.outcome:
            blocks.append(
                ContextBlock(block_id=f"point_{pid}", elements=[MarkdownTextObject(text=clip(row.outcome, 1900))])
            )
            continue
        blocks.append(
            ActionsBlock(
                block_id=f"point_{pid}",
                elements=[
                    ButtonElement(
                        text=t("checkin_btn_confirm", employee_locale), action_id="point_confirm", value=str(pid)
                    ),
                    ButtonElement(
                        text=t("checkin_btn_dispute", employee_locale), action_id="point_dispute", value=str(pid)
                    ),
                ],
            )
        )
    return blocks


def kudos_close_blocks(rows: list[tuple[int, str, str, str]], locale: str) -> list[dict]:
    """For the manager: open points with kudos evidence since they opened, each with "Close this point".

    `rows` are (point id, competency name, giver slack id, kudos message).
    """
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=f"*{t('checkin_kudos_evidence_title', locale)}*"))]
    for pid, name, giver, message in rows[:10]:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=clip(
                        t(
                            "checkin_kudos_evidence_line",
                            locale,
                            competency=name,
                            giver=giver,
                            message=to_mrkdwn(clip(message, 500)),
                        )
                    )
                ),
                accessory=ButtonElement(
                    text=t("checkin_btn_close_point", locale), action_id="point_close", value=str(pid)
                ),
            )
        )
    return to_dicts(blocks)


def to_dicts(blocks: list[Block]) -> list[dict]:
    return [b.to_dict() for b in blocks]
