"""Repository functions for check-ins, answers and development points."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, insert, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from storage.models import Answer, CheckIn, DevelopmentAction, DevelopmentPoint, LearningRecord, Recognition

# The reads on the request path are built once, with bound parameters: SQLAlchemy then finds each one's compiled
# form by a cache key it computed once, instead of building and hashing a new statement per call (measured on
# PostgreSQL, interleaved runs: an ORM read of one row 470-575 -> 300-390 us of CPU).
_OPEN_BETWEEN = (
    select(CheckIn)
    .where(
        CheckIn.kind == "guided",
        CheckIn.state == "open",
        CheckIn.manager_slack_id == bindparam("manager"),
        CheckIn.employee_slack_id == bindparam("employee"),
    )
    .order_by(col(CheckIn.id).desc())
)
_BY_THREAD = select(CheckIn).where(CheckIn.channel_id == bindparam("channel"), CheckIn.thread_ts == bindparam("ts"))
_BY_THREAD_LOCKED = _BY_THREAD.with_for_update()
# An open check-in of this person in this conversation whose root message is being posted (its thread not recorded
# yet), started lately.
_ROOT_PENDING = select(CheckIn.id).where(
    CheckIn.state == "open",
    CheckIn.channel_id == bindparam("channel"),
    col(CheckIn.thread_ts).is_(None),
    col(CheckIn.started_at) >= bindparam("since"),
    (CheckIn.employee_slack_id == bindparam("user")) | (CheckIn.manager_slack_id == bindparam("user")),
)
_BY_ID = select(CheckIn).where(CheckIn.id == bindparam("id"))
_BY_ID_LOCKED = _BY_ID.with_for_update()
_COUNT_GUIDED = select(func.count(CheckIn.id)).where(
    CheckIn.kind == "guided",
    CheckIn.manager_slack_id == bindparam("manager"),
    CheckIn.employee_slack_id == bindparam("employee"),
)
_ANSWERS_OF = select(Answer).where(Answer.checkin_id == bindparam("id")).order_by(col(Answer.step), col(Answer.id))
_ANSWER_BY_TS = select(Answer).where(Answer.checkin_id == bindparam("id"), Answer.slack_ts == bindparam("ts"))
# The two writes of every answer, in Core: the answer row is never changed again in its session and the check-in's
# progress is three known columns, so the unit of work's change tracking (most of an ORM flush) has nothing to find.
_ANSWER_TABLE = Answer.__table__  # type: ignore[attr-defined]
_ANSWER_COLUMNS = tuple(c.name for c in _ANSWER_TABLE.columns if c.name != "id")
_INSERT_ANSWER = insert(_ANSWER_TABLE)
_CHECKIN_TABLE = CheckIn.__table__  # type: ignore[attr-defined]
_ADVANCE = (
    update(_CHECKIN_TABLE)
    .where(_CHECKIN_TABLE.c.id == bindparam("checkin"))
    .values(step=bindparam("new_step"), last_activity_at=bindparam("at"), state=bindparam("new_state"))
)
_LAST_GUIDED = (
    select(CheckIn)
    .where(CheckIn.kind == "guided", CheckIn.employee_slack_id == bindparam("employee"), CheckIn.state == "done")
    .order_by(col(CheckIn.finished_at).desc())
)


def open_checkin_between(*, session: Session, manager_slack_id: str, employee_slack_id: str) -> CheckIn | None:
    return session.exec(_OPEN_BETWEEN, params={"manager": manager_slack_id, "employee": employee_slack_id}).first()


def checkin_by_thread(*, session: Session, channel_id: str, thread_ts: str, lock: bool = False) -> CheckIn | None:
    q = _BY_THREAD_LOCKED if lock else _BY_THREAD
    return session.exec(q, params={"channel": channel_id, "ts": thread_ts}).first()


def root_pending_for(*, session: Session, user: str, channel_id: str, since: datetime) -> bool:
    """Whether `user` has an open check-in in `channel_id`, started since `since`, whose root is not recorded yet."""
    params = {"user": user, "channel": channel_id, "since": since}
    return session.exec(_ROOT_PENDING, params=params).first() is not None


def get_checkin(*, session: Session, checkin_id: int, lock: bool = False) -> CheckIn | None:
    return session.exec(_BY_ID_LOCKED if lock else _BY_ID, params={"id": checkin_id}).first()


def count_checkins(*, session: Session, manager_slack_id: str, employee_slack_id: str) -> int:
    params = {"manager": manager_slack_id, "employee": employee_slack_id}
    return int(session.exec(_COUNT_GUIDED, params=params).one())


def answers_of(*, session: Session, checkin_id: int) -> list[Answer]:
    return list(session.exec(_ANSWERS_OF, params={"id": checkin_id}))


def insert_answer(*, session: Session, answer: Answer) -> Answer:
    """INSERT `answer` (a new, unsaved row) in the session's transaction and set its id; the object stays outside the
    session. Raises IntegrityError when its (check-in, ts) is stored already (a Slack retry)."""
    result = session.execute(_INSERT_ANSWER, {name: getattr(answer, name) for name in _ANSWER_COLUMNS})
    answer.id = result.inserted_primary_key[0]
    return answer


def save_progress(*, session: Session, checkin: CheckIn, step: int, at: datetime, state: str) -> None:
    """UPDATE a check-in's step, last activity and state in the session's transaction; `checkin` (loaded in this
    session) shows the new values and has nothing left for the commit to write."""
    session.execute(_ADVANCE, {"checkin": checkin.id, "new_step": step, "at": at, "new_state": state})
    for name, value in (("step", step), ("last_activity_at", at), ("state", state)):
        set_committed_value(checkin, name, value)


def answer_by_ts(*, session: Session, checkin_id: int, slack_ts: str) -> Answer | None:
    return session.exec(_ANSWER_BY_TS, params={"id": checkin_id, "ts": slack_ts}).first()


def latest_reflection(*, session: Session, employee_slack_id: str, since: datetime | None = None) -> CheckIn | None:
    q = select(CheckIn).where(CheckIn.kind == "reflection", CheckIn.employee_slack_id == employee_slack_id)
    if since is not None:
        q = q.where(CheckIn.started_at > since)
    return session.exec(q.order_by(col(CheckIn.id).desc())).first()


def last_guided(*, session: Session, employee_slack_id: str) -> CheckIn | None:
    return session.exec(_LAST_GUIDED, params={"employee": employee_slack_id}).first()


def stale_open(*, session: Session, before: datetime) -> list[CheckIn]:
    q = select(CheckIn).where(col(CheckIn.state).in_(("open", "finishing")), CheckIn.last_activity_at < before)
    return list(session.exec(q))


def points_of(*, session: Session, person_slack_id: str, status: str | None = None) -> list[DevelopmentPoint]:
    q = select(DevelopmentPoint).where(DevelopmentPoint.person_slack_id == person_slack_id)
    if status:
        q = q.where(DevelopmentPoint.status == status)
    return list(session.exec(q.order_by(col(DevelopmentPoint.created_at))))


def checkins_of(*, session: Session, person_slack_id: str) -> list[CheckIn]:
    q = select(CheckIn).where(CheckIn.employee_slack_id == person_slack_id).order_by(col(CheckIn.started_at))
    return list(session.exec(q))


def actions_of(*, session: Session, person_slack_id: str) -> list[DevelopmentAction]:
    q = select(DevelopmentAction).where(DevelopmentAction.person_slack_id == person_slack_id)
    return list(session.exec(q.order_by(col(DevelopmentAction.created_at))))


def learning_of(*, session: Session, person_slack_id: str) -> list[LearningRecord]:
    q = select(LearningRecord).where(LearningRecord.person_slack_id == person_slack_id)
    return list(session.exec(q.order_by(col(LearningRecord.at))))


def kudos_received(*, session: Session, person_slack_id: str) -> list[Recognition]:
    rows = session.exec(select(Recognition).order_by(col(Recognition.created_at)))
    return [r for r in rows if person_slack_id in (r.receivers or [])]


def _unfinished():  # type: ignore[no-untyped-def]
    """Check-ins whose closing analysis or closing message is still owed."""
    return (CheckIn.state == "finishing") | ((CheckIn.state == "done") & col(CheckIn.posted_at).is_(None))


def _lease_free(expired_before: datetime):  # type: ignore[no-untyped-def]
    """Nobody holds the analysis lease: never claimed, or claimed before `expired_before` (a runner that died)."""
    return col(CheckIn.analysis_claimed_at).is_(None) | (col(CheckIn.analysis_claimed_at) < expired_before)


def claim_finish(*, session: Session, checkin_id: int, now: datetime, lease_expired_before: datetime) -> bool:
    """Take the lease on `checkin_id`'s closing work; False when it is not owed or another runner holds it.

    One UPDATE, so two processes racing for the same check-in cannot both win (on SQLite and PostgreSQL alike).
    """
    result = session.execute(
        update(CheckIn)
        .where(
            CheckIn.id == checkin_id,
            _unfinished(),
            _lease_free(lease_expired_before),
        )
        .values(analysis_claimed_at=now)
    )
    return bool(result.rowcount)


def owed_finishes(*, session: Session, lease_expired_before: datetime, limit: int = 50) -> list[int]:
    """Ids of check-ins whose closing work is owed and whose lease is free (never claimed, or expired)."""
    q = (
        select(CheckIn.id)
        .where(
            _unfinished(),
            _lease_free(lease_expired_before),
        )
        .order_by(col(CheckIn.last_activity_at))
        .limit(limit)
    )
    return [i for i in session.exec(q).all() if i is not None]


def mark_posted(*, session: Session, checkin_id: int, now: datetime, give_up: bool = False) -> None:
    """The closing message is in the thread: the check-in leaves the queue. `give_up`: it leaves the queue without
    one (its answers stay; a check-in whose analysis never succeeded is closed as done without points)."""
    session.execute(update(CheckIn).where(CheckIn.id == checkin_id).values(posted_at=now, analysis_claimed_at=None))
    if give_up:
        session.execute(
            update(CheckIn)
            .where(CheckIn.id == checkin_id, CheckIn.state == "finishing")
            .values(state="done", finished_at=now)
        )
