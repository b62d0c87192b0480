"""Check-in flows at the Slack edge, shared by `/checkin`, nudge buttons and App Home.

The domain (`bot.checkins`) decides; this module posts what it decided: the root message, one question at a
time in the thread, the manager's private tip, and the closing summary with points and courses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient

from bot import checkins
from bot.checkin_flow import Move
from bot.checkins import Finished, Refusal, Started, Turn, current_answers
from bot.coach import get_coach
from bot.coach.acknowledge import acknowledgement
from bot.coach.base import PointDraft
from bot.coach.offline import growth_focus, offline_summary, point_reason
from bot.i18n import fmt_date, norm_locale, t
from bot.person_cache import cached_person
from bot.services import Services
from bot.slack.blocks_checkin import PointRow, question_blocks, root_blocks, summary_blocks, to_dicts
from bot.slack.parsing import from_slack, to_mrkdwn
from knowledge.competencies import load_competency_model
from prompts.questions import load_bank
from storage.db import session_scope
from storage.models import Answer, CheckIn, Person
from storage.people import get_person

log = logging.getLogger(__name__)


@dataclass
class StartOutcome:
    ok: bool
    message: str
    channel: str | None = None
    thread_ts: str | None = None
    checkin_id: int | None = None
    existing: bool = False


def _first_name(person: Person | None) -> str:
    return (person.name or "").split(" ")[0] if person else ""


def _permalink(client: WebClient, channel: str, ts: str) -> str:
    try:
        return str(client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"])
    except Exception:  # the link is a convenience; the thread exists either way
        return f"<#{channel}>"


def start_checkin_flow(
    services: Services,
    client: WebClient,
    *,
    manager_slack_id: str,
    employee_slack_id: str,
    locale: str,
    started: checkins.Started | None = None,
    link: bool = True,
) -> StartOutcome:
    """Open (or point to) the guided check-in of a manager with a report, in their group DM's thread.

    `started`: what the caller's own `start_guided` just returned (the slash command checks before its ack); it is
    used as is when both people's Slack profiles were synced already, saving the second round of look-ups. `link`:
    whether the outcome's message needs the thread's permalink (one more Slack call).
    """
    try:
        if started is None or not _profiles_synced(started):
            started = checkins.start_guided(
                services, manager_slack_id=manager_slack_id, employee_slack_id=employee_slack_id, sync_profiles=True
            )
    except Refusal as r:
        return StartOutcome(False, t(r.key, locale, **r.kw))
    c = started.checkin
    name = started.employee.name
    if started.existing:
        link = _permalink(client, c.channel_id or "", c.thread_ts or "")
        return StartOutcome(
            False,
            t("checkin_already_open", locale, name=name, link=link),
            c.channel_id,
            c.thread_ts,
            c.id,
            existing=True,
        )
    if not checkins.claim_root(services, checkin_id=c.id or 0):  # a double submit: the other request posts it
        return StartOutcome(False, t("checkin_being_started", locale, name=name), existing=True)
    try:
        channel = client.conversations_open(users=f"{manager_slack_id},{employee_slack_id}")["channel"]["id"]
        checkins.note_channel(services, checkin_id=c.id or 0, channel_id=channel)
        post_root(services, client, c, started, channel)
    except Exception:
        checkins.release_root(services, checkin_id=c.id or 0)
        raise
    return StartOutcome(
        True,
        t("checkin_started", locale, name=name, link=_permalink(client, channel, c.thread_ts or "") if link else ""),
        channel,
        c.thread_ts,
        c.id,
    )


def _profiles_synced(started: checkins.Started) -> bool:
    people = [started.employee] + ([started.manager] if started.manager else [])
    return all(p.profile_synced for p in people)


def post_root(services: Services, client: WebClient, c: CheckIn, started: Started, channel: str) -> None:
    tz = started.manager.timezone if started.manager else started.employee.timezone
    loc = c.locales[0] if c.locales else "en"
    blocks = root_blocks(
        manager=started.manager.name if started.manager else "",
        employee=started.employee.name,
        locales=c.locales,
        state="open",
        when=c.started_at,
        tz=tz,
    )
    text = t(
        "checkin_root_title",
        loc,
        manager=started.manager.name if started.manager else "",
        employee=started.employee.name,
    )
    root = client.chat_postMessage(channel=channel, text=text, blocks=to_dicts(blocks))
    c.channel_id, c.thread_ts = channel, root["ts"]  # what follows goes to the thread; the record of it comes after
    if started.reflection_answers and started.manager:
        _share_reflection(client, c, started)
    if started.manager:
        _offer_kudos_evidence(services, client, c, started.manager)
    post_question(services, client, c, before_tip=lambda: _record_thread(services, c))


def _record_thread(services: Services, c: CheckIn) -> CheckIn:
    """Record a check-in's thread once its first question is up: a reply that comes sooner waits for this record
    (`checkins.store_reply`) and so answers that question, after it, instead of racing it."""
    channel, ts = c.channel_id or "", c.thread_ts or ""
    return checkins.attach_thread(services, checkin_id=c.id or 0, channel_id=channel, thread_ts=ts)


def _offer_kudos_evidence(services: Services, client: WebClient, c: CheckIn, manager: Person) -> None:
    """Kudos tagged with an open point's competency: offer the manager to close that point (privately)."""
    try:
        from bot.recognition import kudos_evidence
    except ImportError:
        return
    evidence = kudos_evidence(services, person_slack_id=c.employee_slack_id)
    if not evidence:
        return
    from bot.slack.blocks_checkin import kudos_close_blocks

    loc = norm_locale(manager.locale)
    model = load_competency_model()
    rows = [(e.point_id, model.name(e.competency, loc), e.giver_slack_id, e.message) for e in evidence]
    client.chat_postEphemeral(
        channel=c.channel_id or "",
        user=manager.slack_id,
        thread_ts=c.thread_ts,
        text=t("checkin_kudos_evidence_title", loc),
        blocks=kudos_close_blocks(rows, loc),
    )


def _share_reflection(client: WebClient, c: CheckIn, started: Started) -> None:
    assert started.manager is not None
    loc = started.manager.locale
    lines = [t("checkin_reflection_context", loc, name=started.employee.name)]
    bank = load_bank()
    for a in started.reflection_answers:
        try:
            q = bank.get(a.question_id).render(loc, _first_name(started.employee))
        except KeyError:
            q = a.question_id
        lines.append(f"• _{q}_\n> {to_mrkdwn(a.text[:500])}")
    client.chat_postEphemeral(
        channel=c.channel_id or "", user=started.manager.slack_id, text="\n".join(lines)[:2900], thread_ts=c.thread_ts
    )


def post_question(
    services: Services,
    client: WebClient,
    c: CheckIn,
    *,
    before_tip: Callable[[], Any] | None = None,
    after: Answer | None = None,
) -> None:
    """Post the current question in the thread and the manager's coaching tip privately (`before_tip` runs between).

    `after`: the employee's answer just stored; the question then opens with a line acknowledging it.
    """
    bank = load_bank()
    q = checkins.question_at(c)
    employee = cached_person(services, c.employee_slack_id)  # every answer posts a question: no session for these
    manager = cached_person(services, c.manager_slack_id)
    locales = c.locales or ["en"]
    texts = [q.render(norm_locale(loc), _first_name(employee)) for loc in locales]
    if q.topic == "goal_progress" and c.kind == "guided" and _first_of_topic(c, q.topic):
        goals = _goal_names(services, c.employee_slack_id)
        if goals:
            texts += [
                t("checkin_goals_line", norm_locale(loc), goals="; ".join(f"“{g}”" for g in goals[:3]))
                for loc in locales
            ]
    topic = " / ".join(dict.fromkeys(bank.topic_name(q.topic, norm_locale(loc)) for loc in locales))
    ack = None
    if after is not None and after.author_slack_id == c.employee_slack_id:
        ack = acknowledgement(after.text, employee.locale if employee else locales[0], turn=c.step)
    blocks = question_blocks(
        checkin_id=c.id or 0,
        n=c.step + 1,
        total=len(c.question_ids),
        topic=topic,
        texts=texts,
        locales=locales,
        ack=ack,
    )
    text = "\n".join([ack, *texts] if ack else texts)
    client.chat_postMessage(channel=c.channel_id, thread_ts=c.thread_ts, text=text, blocks=to_dicts(blocks))
    if before_tip is not None:
        before_tip()
    if manager is not None and c.kind == "guided":
        client.chat_postEphemeral(
            channel=c.channel_id or "",
            user=manager.slack_id,
            thread_ts=c.thread_ts,
            text=t("checkin_tip", manager.locale, tip=q.tip[norm_locale(manager.locale)]),
        )


def _first_of_topic(c: CheckIn, topic: str) -> bool:
    bank = load_bank()
    return all(bank.get(qid).topic != topic for qid in c.question_ids[: c.step])


def _goal_names(services: Services, employee_slack_id: str) -> list[str]:
    """The employee's open goals this cycle, so the goal questions can name them."""
    try:
        from bot.goals import goal_names
    except ImportError:
        return []
    try:
        return goal_names(services, person_slack_id=employee_slack_id)
    except Exception:  # goals are context; the question goes out either way
        log.warning("could not read goals of %s", employee_slack_id)
        return []


def continue_after(services: Services, client: WebClient, turn: Turn) -> None:
    """After an answer or a move: the next question, or the end."""
    if turn.finished:
        queue_finish(services, client, turn.checkin.id or 0)
    elif turn.question is not None:
        post_question(services, client, turn.checkin, after=turn.answer if turn.moved == Move.ANSWER else None)


def queue_finish(services: Services, client: WebClient, checkin_id: int) -> None:
    """Hand a check-in that has just ended to the analysis queue (`bot.slack.finisher`); inline when there is none."""
    from bot.slack.finisher import Finisher

    finisher = services.extras.get("finisher")
    if isinstance(finisher, Finisher):
        finisher.submit(checkin_id)
    else:
        Finisher(services, client).run_one(checkin_id)


def finish_flow(services: Services, client: WebClient, c: CheckIn) -> Finished:
    """Close the check-in: summary and development points in the thread, courses for each, root marked done.

    Runs from the analysis queue, which holds the check-in's lease; `posted_at` is set last, so a crash anywhere in
    here leaves the check-in owed and the queue's sweep finishes it (the analysis itself is stored only once).
    """
    fin = checkins.finish(services, checkin_id=c.id or 0)
    c = fin.checkin
    if c.channel_id and c.thread_ts:
        _post_closing(services, client, c, fin)
    from storage import checkins as repo

    with session_scope(services.engine) as session:
        repo.mark_posted(session=session, checkin_id=c.id or 0, now=services.now())
    return fin


def _post_closing(services: Services, client: WebClient, c: CheckIn, fin: Finished) -> None:
    with session_scope(services.engine) as session:
        employee = get_person(session=session, slack_id=c.employee_slack_id)
        manager = get_person(session=session, slack_id=c.manager_slack_id) if c.manager_slack_id else None
    emp_loc = norm_locale(employee.locale if employee else "en")
    if c.kind == "reflection":
        client.chat_postMessage(channel=c.channel_id, thread_ts=c.thread_ts, text=t("checkin_reflection_done", emp_loc))
        return
    text, blocks = summary_message(services, c.id or 0)
    client.chat_postMessage(channel=c.channel_id, thread_ts=c.thread_ts, text=text, blocks=blocks)
    _post_courses(services, client, c, fin, emp_loc)
    _mark_root(client, c, manager, employee, "done")


def summary_message(services: Services, checkin_id: int) -> tuple[str, list[dict[str, Any]]]:
    """The closing message of a check-in, rendered from the store (so agreeing or disputing re-renders it)."""
    from storage import checkins as repo

    with session_scope(services.engine) as session:
        c = repo.get_checkin(session=session, checkin_id=checkin_id)
        assert c is not None
        employee = get_person(session=session, slack_id=c.employee_slack_id)
        points = [
            p
            for p in repo.points_of(session=session, person_slack_id=c.employee_slack_id)
            if p.checkin_id == checkin_id
        ]
        # one language for the whole message: the employee's, the language the coach wrote the summary and reasons
        # in (a zh manager with an en report read "小结" over an English summary, and buttons in a third mix)
        loc = emp_loc = norm_locale(employee.locale if employee else (c.locales[0] if c.locales else "en"))
        # ...with the titles, competency names and the summary's facts also in the manager's when it differs
        also = next((norm_locale(x) for x in c.locales or [] if norm_locale(x) != loc), None)
        answers = current_answers(repo.answers_of(session=session, checkin_id=checkin_id)) if also else []
    name = employee.name if employee else ""
    model = load_competency_model()

    def comp_name(comp: str) -> str:
        return model.name(comp, loc) + (f" ({model.name(comp, also)})" if also else "")

    rows = []
    for p in points:
        outcome = None
        if p.confirmed:
            outcome = t("checkin_point_confirmed", loc, name=name)
        elif p.disputed:
            outcome = t("checkin_point_disputed", loc, name=name) + (
                f"\n> {to_mrkdwn(p.dispute_text[:500])}" if p.dispute_text else ""
            )
        # the offline coach's reasons are made from the point itself, so they can be said in the manager's language
        again = point_reason(model, p.competency, p.evidence, also) if also and p.source == "offline" else None
        focus = growth_focus(get_coach(services), p.competency, p.evidence, loc)
        rows.append(PointRow(p.id or 0, comp_name(p.competency), p.evidence, p.reason, outcome, again, focus))
    recap = _recap(answers, points, also) if also else None
    blocks = summary_blocks(
        summary=c.summary or "", points=rows, locale=loc, employee_locale=emp_loc, also=also, recap=recap
    )
    return c.summary or t("checkin_summary_title", loc), to_dicts(blocks)


def _recap(answers: list[Answer], points: list[Any], locale: str) -> str:
    """The factual summary (answers, topics, points) in `locale`, for the manager of a mixed-language check-in:
    the summary itself is in the employee's language (an LLM's words cannot be re-said offline; these facts can)."""
    drafts = [PointDraft(p.competency, p.evidence, p.confidence, p.reason) for p in points]
    return offline_summary(answers, drafts, locale, load_competency_model())


def _post_courses(services: Services, client: WebClient, c: CheckIn, fin: Finished, locale: str) -> None:
    if not fin.points:
        return
    try:
        from bot.learning import propose_actions
        from bot.slack.blocks_learning import action_blocks
    except ImportError:
        return
    from storage import checkins as repo

    ids = {p.id for p in fin.points}
    with session_scope(services.engine) as session:  # a re-run after a crash re-posts the actions it stored, no more
        stored = [a for a in repo.actions_of(session=session, person_slack_id=c.employee_slack_id) if a.point_id in ids]
    pairs = (
        [(p, [a for a in stored if a.point_id == p.id]) for p in fin.points]
        if stored
        else propose_actions(services, person_slack_id=c.employee_slack_id, points=fin.points)
    )
    model = load_competency_model()
    for point, actions in pairs:
        if not actions:
            continue
        blocks = action_blocks(model.name(point.competency, locale), actions, locale)
        text = ", ".join(a.title for a in actions)
        client.chat_postMessage(
            channel=c.channel_id,
            thread_ts=c.thread_ts,
            text=text,
            blocks=[b.to_dict() if hasattr(b, "to_dict") else b for b in blocks],
        )


def _mark_root(client: WebClient, c: CheckIn, manager: Person | None, employee: Person | None, state: str) -> None:
    tz = manager.timezone if manager else (employee.timezone if employee else "UTC")
    loc = c.locales[0] if c.locales else "en"
    when = c.finished_at or c.started_at
    blocks = root_blocks(
        manager=manager.name if manager else "",
        employee=employee.name if employee else "",
        locales=c.locales,
        state=state,
        when=when,
        tz=tz,
    )
    text = t(f"checkin_root_state_{state}", loc, date=fmt_date(when, tz, loc))
    try:
        client.chat_update(channel=c.channel_id or "", ts=c.thread_ts or "", text=text, blocks=to_dicts(blocks))
    except Exception:
        log.warning("could not update the root message of check-in %s", c.id)


def close_abandoned(services: Services, client: WebClient) -> int:
    """Close check-ins silent for 7 days (answers kept) and show it on their root message."""
    closed = checkins.abandon_stale(services)
    for c in closed:
        if not c.thread_ts:
            continue
        with session_scope(services.engine) as session:
            manager = get_person(session=session, slack_id=c.manager_slack_id) if c.manager_slack_id else None
            employee = get_person(session=session, slack_id=c.employee_slack_id)
        _mark_root(client, c, manager, employee, "abandoned")
    return len(closed)


def start_reflection_flow(
    services: Services, client: WebClient, *, employee_slack_id: str, locale: str
) -> StartOutcome:
    """The employee's own reflection: a DM thread with the bot."""
    try:
        started = checkins.start_reflection(services, employee_slack_id=employee_slack_id)
    except Refusal as r:
        return StartOutcome(False, t(r.key, locale, **r.kw))
    channel = client.conversations_open(users=employee_slack_id)["channel"]["id"]
    checkins.note_channel(services, checkin_id=started.checkin.id or 0, channel_id=channel)
    root = client.chat_postMessage(channel=channel, text=t("checkin_reflection_root", locale))
    c = started.checkin
    c.channel_id, c.thread_ts = channel, root["ts"]
    post_question(services, client, c, before_tip=lambda: _record_thread(services, c))
    note = "" if started.employee.manager_slack_id else t("checkin_no_manager", locale)
    return StartOutcome(True, note, channel, root["ts"], c.id)


@dataclass
class StoredReply:
    """A message in a check-in's thread, already stored: the turn it made (None: not an answer to take)."""

    checkin: CheckIn
    turn: Turn | None


def store_thread_reply(services: Services, event: dict[str, Any]) -> StoredReply | None:
    """The storing half of a thread reply: the answer (or steering word) of a check-in, stored at once.

    The middleware calls this before the ack, so an answer is in the store before Slack hears 200: while the store is
    down Slack gets a 500 and retries, and a process killed after the ack has lost nothing. Replies are idempotent by
    their Slack ts. None when the message is not a new message in a check-in's thread.
    """
    thread_ts, channel = event.get("thread_ts"), event.get("channel")
    if (
        not isinstance(thread_ts, str)
        or not isinstance(channel, str)
        or not isinstance(event.get("ts"), str)
        or thread_ts == event.get("ts")
        or event.get("subtype") not in (None, "thread_broadcast", "file_share")
        or event.get("bot_id")
    ):
        return None
    stored = checkins.store_reply(
        services,
        channel_id=channel,
        thread_ts=thread_ts,
        user=event.get("user") or "",
        text=from_slack(event.get("text")),
        ts=event["ts"],
    )
    return StoredReply(*stored) if stored is not None else None


def handle_thread_message(
    services: Services,
    client: WebClient,
    event: dict[str, Any],
    *,
    is_retry: bool,
    stored: tuple[StoredReply | None] | None = None,
) -> bool:
    """A message in a thread: a check-in answer or edit. Returns True when it belonged to a check-in thread.

    A Slack retry of a reply already stored redoes only what the first delivery did not get to (Slack retries when
    the ack came late, not only when it failed), so the question is not posted twice.
    """
    if event.get("subtype") == "message_changed":
        msg = event.get("message") or {}
        if not msg.get("thread_ts") or msg.get("bot_id"):
            return False
        edited = checkins.edit_answer(
            services,
            channel_id=event.get("channel", ""),
            thread_ts=msg["thread_ts"],
            ts=msg.get("ts", ""),
            user=msg.get("user", ""),
            new_text=from_slack(msg.get("text")),
        )
        return edited is not None
    # `stored`: what the middleware stored before the ack (see store_thread_reply)
    found = stored[0] if stored is not None else store_thread_reply(services, event)
    if found is None:
        return False
    turn = found.turn
    if turn is None:  # a third party (ignored), or one of the pair writing in a closed check-in (told, once)
        user = str(event.get("user") or "")
        if not is_retry and found.checkin.state != "open" and user in checkins.participants(found.checkin):
            person = cached_person(services, user)
            client.chat_postEphemeral(
                channel=found.checkin.channel_id or "",
                user=user,
                thread_ts=found.checkin.thread_ts,
                text=t("checkin_closed_start_new", norm_locale(person.locale if person else None)),
            )
        return True
    if turn.duplicate:
        if not is_retry or _answered_after(client, found.checkin, str(event.get("ts") or "")):
            return True
        if turn.checkin.state == "open":
            post_question(services, client, turn.checkin)  # the first attempt died before posting it
        elif turn.checkin.state == "finishing":
            queue_finish(services, client, turn.checkin.id or 0)  # ... or before queueing its closing work
        return True
    _follow_up_hint(services, client, turn)
    continue_after(services, client, turn)
    return True


def _answered_after(client: WebClient, c: CheckIn, ts: str) -> bool:
    """Whether the bot already posted in the check-in's thread after the message `ts` (Slack retried a delivery
    whose work was done: its ack came late). Asked of Slack only on a retry, so the hot path pays nothing; when
    Slack cannot say, False: asking a question twice is better than not asking it."""
    if not (c.channel_id and c.thread_ts and ts):
        return False
    try:
        resp = client.conversations_replies(channel=c.channel_id, ts=c.thread_ts, oldest=ts, limit=50)
    except Exception:
        log.warning("could not read thread %s to check a retried reply", c.thread_ts)
        return False
    later = [m for m in resp["messages"] if _ts(m.get("ts")) > _ts(ts)]
    return any(m.get("bot_id") or m.get("subtype") == "bot_message" for m in later)


def _ts(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _follow_up_hint(services: Services, client: WebClient, turn: Turn) -> None:
    """The coach's optional follow-up for the answer just stored, privately to the manager; never blocks the flow."""
    if turn.finished or turn.answer is None:
        return
    try:
        from bot.coach.followups import suggest_follow_up

        hint = suggest_follow_up(services, checkin=turn.checkin, answer=turn.answer)
        if hint is not None:
            client.chat_postEphemeral(
                channel=turn.checkin.channel_id or "",
                user=hint.manager_slack_id,
                thread_ts=turn.checkin.thread_ts,
                text=t("checkin_followup_hint", hint.locale, text=hint.text),
            )
    except Exception:  # a suggestion is optional; the next question must come regardless
        log.warning("follow-up suggestion failed for check-in %s", turn.checkin.id, exc_info=True)
