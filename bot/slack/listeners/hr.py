"""`/hr` (HR admins): broadcast, cycle start, cadences, company holidays; `report` is delegated to `bot.analytics`."""

from __future__ import annotations

from datetime import time
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import broadcasts, cadence
from bot.cadence import UserError
from bot.i18n import fmt_date, t
from bot.services import Services
from scheduler.slots import local_instant

_noon = time(12, 0)


def _holidays(services: Services, user: str, args: list[str], loc: str, tz: str) -> str:
    sub = args[0].lower() if args else "list"
    if sub == "list":
        days = cadence.list_holidays(services, admin_slack_id=user, from_day=services.now().date())
        items = [fmt_date(local_instant(d, _noon, tz), tz, loc) + (f" {n}" if n else "") for d, n in days]
        return t("scheduler_hr_holidays", loc, days="; ".join(items)) if items else t("scheduler_hr_holidays_none", loc)
    if sub in ("add", "remove") and len(args) >= 2:
        day = broadcasts.parse_day(args[1])
        if sub == "add":
            cadence.add_holiday(services, admin_slack_id=user, day=day, name=" ".join(args[2:]))
            return t("scheduler_hr_holiday_added", loc, day=day.isoformat(), name=" ".join(args[2:]))
        removed = cadence.remove_holiday(services, admin_slack_id=user, day=day)
        key = "scheduler_hr_holiday_removed" if removed else "scheduler_hr_holiday_missing"
        return t(key, loc, day=day.isoformat())
    return t("scheduler_hr_holiday_usage", loc)


_SHOW = {"show", "list", "查看", "显示", "顯示"}


def _cadence(services: Services, user: str, args: list[str], loc: str, tz: str) -> str:
    """`/hr cadence team:NAME|@person [weekly|biweekly|monthly [weekday] [HH:MM] | reset]`, `/hr cadence show …`."""
    if args and args[0].lower() in _SHOW:
        args = args[1:]
        if not args:  # every team
            infos = cadence.all_team_cadences(services, admin_slack_id=user)
            return "\n".join(cadence.team_cadence_text(i, locale=loc) for i in infos) or t(
                "scheduler_cadence_usage", loc
            )
        if len(args) > 1:
            raise UserError("scheduler_cadence_usage")
    if not args:
        raise UserError("scheduler_cadence_usage")
    target, rest = args[0], args[1:]
    spec = cadence.parse_cadence_spec(rest) if rest else None  # validate before touching anything
    if target.lower().startswith("team:"):
        team = target[5:]
        if spec is None:
            return cadence.team_cadence_text(cadence.team_cadence(services, admin_slack_id=user, team=team), locale=loc)
        info = cadence.set_team_cadence(services, admin_slack_id=user, team=team, spec=spec)
        return cadence.team_cadence_text(info, locale=loc, changed=True)
    if spec is None:
        return cadence.pair_cadence_text(
            cadence.pair_cadence(services, admin_slack_id=user, person=target), tz=tz, locale=loc
        )
    pair = cadence.set_pair_cadence(services, admin_slack_id=user, person=target, spec=spec)
    return cadence.pair_cadence_text(pair, tz=tz, locale=loc, changed=True)


def handle(services: Services, user: str, text: str, loc: str, tz: str) -> str:
    """The reply to one `/hr` command (raises UserError for mistakes)."""
    from scheduler.runner import kick

    words = text.split()
    sub = words[0].lower() if words else "help"
    if sub == "broadcast":
        if len(words) < 3:
            raise UserError("scheduler_hr_broadcast_usage")
        spec, message = words[1], text.split(None, 2)[2]
        out = broadcasts.start_broadcast(services, admin_slack_id=user, spec=spec, message=message)
        kick(services)
        return t("scheduler_broadcast_queued", loc, count=out.count, audience=out.audience)
    if sub == "cycle":
        if len(words) != 4 or words[1].lower() != "start":
            raise UserError("scheduler_hr_cycle_usage")
        cycle, days = broadcasts.start_cycle(services, admin_slack_id=user, name=words[2], end_text=words[3])
        end = fmt_date(local_instant(cycle.end_date, _noon, tz), tz, loc)
        return t(
            "scheduler_hr_cycle_started", loc, name=cycle.name, end=end, dates=broadcasts.fmt_milestones(days, loc, tz)
        )
    if sub == "cadence":
        return _cadence(services, user, words[1:], loc, tz)
    if sub in ("holidays", "holiday"):
        return _holidays(services, user, words[1:], loc, tz)
    return t("scheduler_hr_usage", loc)


def register(app: App, services: Services) -> None:
    @app.command("/hr")
    def hr(ack: Ack, command: dict[str, Any], context: dict[str, Any], client: WebClient) -> None:
        loc = context.get("locale") or "en"
        person = context.get("person")
        tz = getattr(person, "timezone", None) or "UTC"
        text = (command.get("text") or "").strip()
        if not getattr(person, "is_hr_admin", False):
            ack(response_type="ephemeral", text=t("not_hr_admin", loc))
            return
        words = text.lower().split()
        if words[:2] == ["report", "gaps"]:
            _gaps(ack, services, command["user_id"], text, loc, client)
            return
        if words[:1] == ["report"]:
            _report(ack, services, command, context, client)
            return
        try:
            reply = handle(services, command["user_id"], text, loc, tz)
        except UserError as exc:
            reply = exc.text(loc)
        ack(response_type="ephemeral", text=reply)


def _report(ack: Ack, services: Services, command: dict[str, Any], context: dict[str, Any], client: WebClient) -> None:
    try:
        from bot import analytics  # written by the analytics issue

        handler = analytics.handle_hr_report  # type: ignore[attr-defined]
    except (ImportError, AttributeError):
        ack(response_type="ephemeral", text=t("scheduler_hr_report_unavailable", context.get("locale")))
        return
    handler(ack=ack, services=services, command=command, context=context, client=client)


def _gaps(ack: Ack, services: Services, user: str, text: str, loc: str, client: WebClient) -> None:
    """`/hr report gaps [team:NAME]`: the capability-gap heat-map and CSV to the admin's DM."""
    from bot.gap_analysis import teams
    from bot.slack.gap_reporting import parse_gaps_args, post_gap_report

    try:
        team = parse_gaps_args(" ".join(text.split()[2:]))
    except ValueError:
        ack(response_type="ephemeral", text=t("goals_gaps_usage_hr", loc))
        return
    known = teams(services)
    if team is not None and team not in known:  # said in the ack, in the admin's language; nothing is posted
        ack(response_type="ephemeral", text=t("goals_gaps_unknown_team", loc, team=team, teams=", ".join(known) or "–"))
        return
    ack(response_type="ephemeral", text=t("goals_gaps_preparing", loc))
    post_gap_report(services, client, admin_slack_id=user, team=team, locale=loc)
