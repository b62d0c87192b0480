"""Guided check-ins and reflections: the domain service (no Slack).

State lives in the store (`CheckIn.step`, `Answer` rows), so a restart resumes at the same question. Each reply
is stored at once, verbatim, keyed by its Slack ts, so a retried event never stores an answer twice.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from bot.checkin_flow import FlowState, Move, apply, word_command
from bot.people import sync_if_known
from bot.services import Services
from prompts.questions import Question, load_bank
from storage import checkins as repo
from storage.db import session_scope
from storage.models import Answer, AuditLog, CheckIn, DevelopmentPoint, Person, ProcessedEvent
from storage.people import get_person

ABANDON_AFTER = timedelta(days=7)
REFLECTION_TOPICS = ("goal_progress", "behaviour_capability", "development_focus")


class _CheckinLock:
    """One check-in's lock in this process; kept only while someone holds or waits for it (no growth per check-in)."""

    __slots__ = ("_lock", "__weakref__")

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


_locks: weakref.WeakValueDictionary[int, _CheckinLock] = weakref.WeakValueDictionary()
_locks_guard = threading.Lock()


def _lock(checkin_id: int) -> _CheckinLock:
    with _locks_guard:
        lock = _locks.get(checkin_id)
        if lock is None:
            lock = _locks[checkin_id] = _CheckinLock()
        return lock


class Refusal(Exception):
    """A check-in cannot start; `key` names the user-facing string, `kw` its values."""

    def __init__(self, key: str, **kw: str) -> None:
        super().__init__(key)
        self.key = key
        self.kw = kw


@dataclass
class Started:
    checkin: CheckIn
    manager: Person | None
    employee: Person
    existing: bool = False
    reflection: CheckIn | None = None
    reflection_answers: list[Answer] = field(default_factory=list)


@dataclass
class Turn:
    """What a reply or a steering move did."""

    checkin: CheckIn
    question: Question | None = None  # the question to ask now (None when finished)
    answer: Answer | None = None
    duplicate: bool = False
    finished: bool = False
    moved: Move | None = None


def question_at(checkin: CheckIn, step: int | None = None) -> Question:
    return load_bank().get(checkin.question_ids[checkin.step if step is None else step])


def start_guided(
    services: Services, *, manager_slack_id: str, employee_slack_id: str, sync_profiles: bool = False
) -> Started:
    """Create (or find the open) guided check-in of a manager with a direct report.

    With `sync_profiles` (off the ack path: it may ask Slack), both people's locales are first filled from Slack,
    and a check-in not yet posted takes the languages as now known (the report may never have written to the bot,
    so the people file's locale may not be the one Slack has).
    """
    if sync_profiles:
        for slack_id in (employee_slack_id, manager_slack_id):
            sync_if_known(services, slack_id)
    with session_scope(services.engine) as session:
        manager = get_person(session=session, slack_id=manager_slack_id)
        employee = get_person(session=session, slack_id=employee_slack_id)
        if employee is None or employee.forgotten:
            raise Refusal("checkin_unknown_person", user=employee_slack_id)
        if manager_slack_id == employee_slack_id:
            raise Refusal("checkin_self")
        if employee.manager_slack_id != manager_slack_id:
            raise Refusal("checkin_not_your_report", name=employee.name, user=employee_slack_id)
        existing = repo.open_checkin_between(
            session=session, manager_slack_id=manager_slack_id, employee_slack_id=employee_slack_id
        )
        if existing is not None and existing.thread_ts:
            return Started(existing, manager, employee, existing=True)
        rotation = repo.count_checkins(
            session=session, manager_slack_id=manager_slack_id, employee_slack_id=employee_slack_id
        )
        if existing is None:
            existing = CheckIn(
                kind="guided",
                manager_slack_id=manager_slack_id,
                employee_slack_id=employee_slack_id,
                question_ids=load_bank().plan(rotation),
                locales=_locales(manager, employee),
                started_at=services.now(),
                last_activity_at=services.now(),
            )
            session.add(existing)
            session.flush()
        elif sync_profiles and existing.locales != _locales(manager, employee):
            existing.locales = _locales(manager, employee)  # nothing was asked yet: ask in the languages known now
            session.add(existing)
        last = repo.last_guided(session=session, employee_slack_id=employee_slack_id)
        reflection = repo.latest_reflection(
            session=session, employee_slack_id=employee_slack_id, since=last.finished_at if last else None
        )
        ref_answers = current_answers(repo.answers_of(session=session, checkin_id=reflection.id)) if reflection else []
        return Started(existing, manager, employee, reflection=reflection, reflection_answers=ref_answers)


def start_reflection(services: Services, *, employee_slack_id: str) -> Started:
    """An employee's own reflection before the next check-in (a DM thread with the bot)."""
    bank = load_bank()
    with session_scope(services.engine) as session:
        employee = get_person(session=session, slack_id=employee_slack_id)
        if employee is None:
            raise Refusal("checkin_unknown_person", user=employee_slack_id)
        count = len(
            [c for c in repo.checkins_of(session=session, person_slack_id=employee_slack_id) if c.kind == "reflection"]
        )
        qids = [bank.by_topic(t)[count % len(bank.by_topic(t))].id for t in REFLECTION_TOPICS]
        checkin = CheckIn(
            kind="reflection",
            employee_slack_id=employee_slack_id,
            question_ids=qids,
            locales=[employee.locale],
            started_at=services.now(),
            last_activity_at=services.now(),
        )
        session.add(checkin)
        session.flush()
        return Started(checkin, None, employee)


ROOT_CLAIM_STALE = timedelta(seconds=60)


def claim_root(services: Services, *, checkin_id: int) -> bool:
    """Claim the posting of a check-in's root message; False while another request holds the claim.

    Two `/checkin @person` a moment apart (a double submit) both find the check-in without a thread; only the one
    that claims it posts, so the pair never gets two threads. A claim left by a process that died before it posted
    is taken over after `ROOT_CLAIM_STALE`.
    """
    key, now = f"root:{checkin_id}", services.now()
    for _ in range(2):
        try:
            with session_scope(services.engine) as session:
                session.add(ProcessedEvent(event_id=key, received_at=now))
            return True
        except IntegrityError:
            with session_scope(services.engine) as session:
                row = session.get(ProcessedEvent, key)
                if row is not None and row.received_at > now - ROOT_CLAIM_STALE:
                    return False
                if row is not None:
                    session.delete(row)  # a stale claim: take it over
    return False


def release_root(services: Services, *, checkin_id: int) -> None:
    """Give a claim back when posting the root failed, so the next `/checkin` can post it."""
    with session_scope(services.engine) as session:
        row = session.get(ProcessedEvent, f"root:{checkin_id}")
        if row is not None:
            session.delete(row)


def attach_thread(services: Services, *, checkin_id: int, channel_id: str, thread_ts: str) -> CheckIn:
    with session_scope(services.engine) as session:
        checkin = repo.get_checkin(session=session, checkin_id=checkin_id)
        assert checkin is not None
        checkin.channel_id, checkin.thread_ts = channel_id, thread_ts
        session.add(checkin)
        return checkin


def note_channel(services: Services, *, checkin_id: int, channel_id: str) -> None:
    """The conversation a check-in's root is about to be posted in (its thread is recorded after the first question):
    a reply there before that record waits for it (`store_reply`); replies elsewhere do not."""
    with session_scope(services.engine) as session:
        checkin = repo.get_checkin(session=session, checkin_id=checkin_id)
        if checkin is not None and checkin.thread_ts is None:
            checkin.channel_id = channel_id
            session.add(checkin)


def find_by_thread(services: Services, *, channel_id: str, thread_ts: str) -> CheckIn | None:
    with session_scope(services.engine) as session:
        return repo.checkin_by_thread(session=session, channel_id=channel_id, thread_ts=thread_ts)


# A check-in's thread never changes once posted, so each process remembers which check-in a thread is (found ones only:
# a reply racing the root's post must not be remembered as "no check-in"); an entry is checked against the row it names.
_thread_ids: OrderedDict[tuple[str, str], int] = OrderedDict()
_thread_ids_guard = threading.Lock()
THREAD_IDS_MAX = 20_000


def _thread_id(services: Services, channel_id: str, thread_ts: str) -> int | None:
    key = (channel_id, thread_ts)
    with _thread_ids_guard:
        cid = _thread_ids.get(key)
    if cid is not None:
        return cid
    found = find_by_thread(services, channel_id=channel_id, thread_ts=thread_ts)
    if found is None or found.id is None:
        return None
    with _thread_ids_guard:
        _thread_ids[key] = found.id
        while len(_thread_ids) > THREAD_IDS_MAX:
            _thread_ids.popitem(last=False)
    return found.id


# A reply can reach us between the root's post and the write that records its ts (the first question comes after that
# write, so only a quick "hi" or a reply under load races it). Such a reply waits for the record a little; if it is
# still missing, the request fails and Slack delivers it again, instead of it being taken for a reply to no check-in.
ROOT_WAIT_S = 2.0
ROOT_PENDING_FOR = timedelta(minutes=2)


class ThreadNotReady(RuntimeError):
    """A reply to a check-in whose root is still being recorded: refused, so that Slack delivers it again."""


def _await_root(services: Services, channel_id: str, thread_ts: str, user: str) -> int | None:
    """The check-in of a thread whose root may still be being recorded: None when `user` has no such check-in."""
    if not user:
        return None
    with session_scope(services.engine) as session:
        since = services.now() - ROOT_PENDING_FOR
        if not repo.root_pending_for(session=session, user=user, channel_id=channel_id, since=since):
            return None
    deadline = time.monotonic() + ROOT_WAIT_S
    while time.monotonic() < deadline:
        time.sleep(0.02)
        cid = _thread_id(services, channel_id, thread_ts)
        if cid is not None:
            return cid
    raise ThreadNotReady(f"thread {thread_ts} of {user}: a check-in root is still being recorded")


def store_reply(
    services: Services, *, channel_id: str, thread_ts: str, user: str, text: str, ts: str
) -> tuple[CheckIn, Turn | None] | None:
    """A thread reply, stored: (the thread's check-in, the turn it made or None when it is not one to take), or None
    when the thread is no check-in's. An answer (the hot path) takes one transaction; a steering word goes through
    `reply`."""
    if word_command(text) is None:
        for _ in range(2):
            cid = _thread_id(services, channel_id, thread_ts) or _await_root(services, channel_id, thread_ts, user)
            if cid is None:
                return None
            checkin, turn = _answer(services, cid, user=user, text=text, ts=ts, thread=(channel_id, thread_ts))
            if checkin is not None:
                return checkin, turn
            with _thread_ids_guard:  # the remembered id names another row now (deleted, or its id reused): look again
                _thread_ids.pop((channel_id, thread_ts), None)
        return None
    found = find_by_thread(services, channel_id=channel_id, thread_ts=thread_ts)
    if found is None and _await_root(services, channel_id, thread_ts, user) is not None:
        found = find_by_thread(services, channel_id=channel_id, thread_ts=thread_ts)
    if found is None:
        return None
    return found, reply(
        services, channel_id=channel_id, thread_ts=thread_ts, user=user, text=text, ts=ts, checkin=found
    )


def steer_refusal(services: Services, *, checkin_id: int, user: str) -> str:
    """Why `steer` moved nothing for `user`: the message key (closed, for its two people; else: only the pair)."""
    with session_scope(services.engine) as session:
        checkin = repo.get_checkin(session=session, checkin_id=checkin_id)
    if checkin is not None and user in participants(checkin) and checkin.state != "open":
        return "checkin_closed"
    return "checkin_only_pair"


def participants(checkin: CheckIn) -> set[str]:
    return {p for p in (checkin.manager_slack_id, checkin.employee_slack_id) if p}


def reply(
    services: Services,
    *,
    channel_id: str,
    thread_ts: str,
    user: str,
    text: str,
    ts: str,
    checkin: CheckIn | None = None,
) -> Turn | None:
    """A thread reply: a steering word moves the flow; anything else is stored as the current answer.

    Returns None when the thread is not an open check-in or the author is not one of its two people.
    """
    checkin = checkin or find_by_thread(services, channel_id=channel_id, thread_ts=thread_ts)
    if checkin is None or checkin.state not in ("open", "finishing") or user not in participants(checkin):
        return None
    move = word_command(text)
    if move is not None and checkin.state != "open":
        return None
    if move is not None:
        return steer(services, checkin_id=checkin.id or 0, user=user, move=move, ts=ts)
    return _answer(services, checkin.id or 0, user=user, text=text, ts=ts)[1]


def _answer(
    services: Services, checkin_id: int, *, user: str, text: str, ts: str, thread: tuple[str, str] | None = None
) -> tuple[CheckIn | None, Turn | None]:
    """Store `text` as the current question's answer, under the check-in's lock, in one transaction.

    (None, None) when the check-in is gone or, with `thread` (channel, thread ts), is not that thread's.
    """
    with _lock(checkin_id), session_scope(services.engine) as session:
        checkin = repo.get_checkin(session=session, checkin_id=checkin_id, lock=True)
        if checkin is None or (thread is not None and (checkin.channel_id, checkin.thread_ts) != thread):
            return None, None
        if checkin.state not in ("open", "finishing") or user not in participants(checkin):
            return checkin, None
        if checkin.state != "open":
            if repo.answer_by_ts(session=session, checkin_id=checkin_id, slack_ts=ts):
                return checkin, Turn(checkin, duplicate=True)  # a retry of the last answer: finish what it started
            return checkin, None
        # An open check-in: a Slack retry of a stored answer is told apart by the (check-in, ts) unique key below,
        # not by a read first (one query less on every answer; retries are rare).
        answer = Answer(
            checkin_id=checkin.id or 0,
            question_id=checkin.question_ids[checkin.step],
            step=checkin.step,
            author_slack_id=user,
            text=text,
            slack_ts=ts,
            created_at=services.now(),
        )
        try:
            repo.insert_answer(session=session, answer=answer)
        except IntegrityError:  # a retry: this answer is stored already (by the first delivery, or a concurrent one)
            session.rollback()  # the row lock goes with it; read the check-in as that answer left it
            checkin = repo.get_checkin(session=session, checkin_id=checkin_id)
            if checkin is None:
                return None, None
            return checkin, Turn(checkin, duplicate=True)  # the caller may finish what the first one started
        return checkin, _advance(services, session, checkin, Move.ANSWER, answer)


def steer(
    services: Services, *, checkin_id: int, user: str, move: Move, ts: str | None = None, at_step: int | None = None
) -> Turn | None:
    """Skip / back / done, by button or by word; only the two people of the check-in may steer.

    `ts` is the Slack ts of a steering word typed in the thread: a retried delivery of it moves only once. `at_step`
    is the step of the question a button was under: a press under an earlier question (or a second press) moves
    nothing and comes back as a duplicate turn.
    """
    with _lock(checkin_id), session_scope(services.engine) as session:
        checkin = repo.get_checkin(session=session, checkin_id=checkin_id, lock=True)
        if checkin is None or checkin.state != "open" or user not in participants(checkin):
            return None
        if at_step is not None and at_step != checkin.step:
            return Turn(checkin, duplicate=True)
        if ts:
            key = f"move:{checkin_id}:{ts}"[:64]
            if session.get(ProcessedEvent, key) is not None:  # a Slack retry of that word: it moved the check-in
                return Turn(checkin, duplicate=True)
            session.add(ProcessedEvent(event_id=key, received_at=services.now()))
        return _advance(services, session, checkin, move, None)


def _advance(services: Services, session, checkin: CheckIn, move: Move, answer: Answer | None) -> Turn:  # type: ignore[no-untyped-def]
    state = apply(FlowState(checkin.step, len(checkin.question_ids)), move)
    # Finished: closed to further replies at once (the analysis runs next, and a reply during it must not reopen it).
    new_state = "finishing" if state.finished else checkin.state
    repo.save_progress(session=session, checkin=checkin, step=state.step, at=services.now(), state=new_state)
    if state.finished:
        return Turn(checkin, answer=answer, finished=True, moved=move)
    return Turn(checkin, question=question_at(checkin), answer=answer, moved=move)


def edit_answer(
    services: Services, *, channel_id: str, thread_ts: str, ts: str, user: str, new_text: str
) -> Answer | None:
    """Apply a Slack edit to a stored answer, keeping the earlier text in `edits`."""
    checkin = find_by_thread(services, channel_id=channel_id, thread_ts=thread_ts)
    if checkin is None:
        return None
    with session_scope(services.engine) as session:
        answer = repo.answer_by_ts(session=session, checkin_id=checkin.id or 0, slack_ts=ts)
        if answer is None or answer.author_slack_id != user or answer.text == new_text:
            return None
        answer.edits = [*answer.edits, {"text": answer.text, "at": services.now().isoformat()}]
        answer.text = new_text
        answer.edited_at = services.now()
        session.add(answer)
        return answer


@dataclass
class Finished:
    checkin: CheckIn
    answers: list[Answer]
    points: list[DevelopmentPoint]
    summary: str


def current_answers(answers: list[Answer]) -> list[Answer]:
    """The answers that stand: one per question and author, the latest (going `back` and answering again replaces
    the earlier answer, which stays stored as history). In question order."""
    latest: dict[tuple[int, str], Answer] = {}
    for a in sorted(answers, key=lambda a: (a.step, a.id or 0)):
        latest[(a.step, a.author_slack_id)] = a
    return sorted(latest.values(), key=lambda a: (a.step, a.id or 0))


def finish(services: Services, *, checkin_id: int) -> Finished:
    """Close a check-in: run the coach over its answers and store the development points it found."""
    from bot.coach import get_coach

    with session_scope(services.engine) as session:
        checkin = repo.get_checkin(session=session, checkin_id=checkin_id)
        assert checkin is not None
        answers = current_answers(repo.answers_of(session=session, checkin_id=checkin_id))
        employee = get_person(session=session, slack_id=checkin.employee_slack_id)
        if checkin.state == "done":  # analysed already (the closing message may still be owed): no second analysis
            stored = [
                p
                for p in repo.points_of(session=session, person_slack_id=checkin.employee_slack_id)
                if p.checkin_id == checkin_id
            ]
            return Finished(checkin, answers, stored, checkin.summary or "")
    locale = employee.locale if employee else "en"
    analysis = get_coach(services).analyse(
        answers=answers, employee_slack_id=checkin.employee_slack_id, locale=locale, checkin_id=checkin_id
    )
    with session_scope(services.engine) as session:
        checkin = repo.get_checkin(session=session, checkin_id=checkin_id, lock=True)
        assert checkin is not None
        already = checkin.state == "done"
        checkin.state = "done"
        checkin.finished_at = checkin.finished_at or services.now()
        checkin.summary = analysis.summary
        session.add(checkin)
        points: list[DevelopmentPoint] = []
        if checkin.kind == "guided" and not already:
            for p in analysis.points:
                point = DevelopmentPoint(
                    person_slack_id=checkin.employee_slack_id,
                    checkin_id=checkin_id,
                    competency=p.competency,
                    evidence=p.evidence,
                    confidence=p.confidence,
                    reason=p.reason,
                    source=p.source,
                    created_at=services.now(),
                )
                session.add(point)
                points.append(point)
            session.flush()
        elif already:
            points = [
                p
                for p in repo.points_of(session=session, person_slack_id=checkin.employee_slack_id)
                if p.checkin_id == checkin_id
            ]
        return Finished(checkin, answers, points, analysis.summary)


def abandon_stale(services: Services) -> list[CheckIn]:
    """Close check-ins with no reply for 7 days as abandoned; their answers stay."""
    with session_scope(services.engine) as session:
        stale = repo.stale_open(session=session, before=services.now() - ABANDON_AFTER)
        for c in stale:
            c.state = "abandoned"
            c.finished_at = services.now()
            session.add(c)
        return stale


def set_point_feedback(
    services: Services, *, point_id: int, user: str, confirm: bool, reason: str | None = None
) -> DevelopmentPoint | None:
    """The employee confirms or disputes a point; a disputed point is kept with its dispute."""
    with session_scope(services.engine) as session:
        point = session.get(DevelopmentPoint, point_id)
        if point is None or point.person_slack_id != user:
            return None
        point.confirmed, point.disputed = confirm, not confirm
        if not confirm and reason:
            point.dispute_text = reason
        session.add(point)
        session.add(
            AuditLog(
                actor_slack_id=user,
                action="point.confirm" if confirm else "point.dispute",
                subject_slack_id=user,
                detail={"point_id": point_id},
            )
        )
        return point


def close_point(services: Services, *, point_id: int, manager_slack_id: str) -> DevelopmentPoint | None:
    """The manager closes a development point (e.g. after kudos showed the progress); None when not theirs."""
    with session_scope(services.engine) as session:
        point = session.get(DevelopmentPoint, point_id)
        person = get_person(session=session, slack_id=point.person_slack_id) if point else None
        if point is None or person is None or person.manager_slack_id != manager_slack_id:
            return None
        if point.status != "closed":
            point.status, point.closed_at = "closed", services.now()
            session.add(point)
            session.add(
                AuditLog(
                    actor_slack_id=manager_slack_id,
                    action="point.close",
                    subject_slack_id=point.person_slack_id,
                    detail={"point_id": point_id},
                )
            )
        return point


def _locales(manager: Person | None, employee: Person) -> list[str]:
    out: list[str] = []
    for p in (manager, employee):
        if p and p.locale not in out:
            out.append(p.locale)
    return out or ["en"]
