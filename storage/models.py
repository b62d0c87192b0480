"""SQLModel tables for the whole domain.

Families follow `XBase` (shared fields) -> `X(table=True)` -> `XPublic` where a public shape is needed.
Every datetime is timezone-aware UTC (see `storage.types.UTCDateTime`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


def _ts(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kw)


def _json(default: Any) -> Any:
    return Field(default_factory=lambda: type(default)(default), sa_column=Column(JSON, nullable=False))


# --- people ------------------------------------------------------------------------------------------------


class PersonBase(SQLModel):
    slack_id: str = Field(index=True, unique=True, max_length=32)
    name: str = ""
    email: str | None = None
    manager_slack_id: str | None = Field(default=None, index=True, max_length=32)
    team: str | None = Field(default=None, index=True)
    role: str | None = None
    timezone: str = "UTC"
    locale: str = "en"
    is_hr_admin: bool = False


class Person(PersonBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    paused_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    profile_synced: bool = False
    forgotten: bool = False
    created_at: datetime = _ts()
    # Stamped by every UPDATE of the row, in any process: the people caches of other processes watch it.
    updated_at: datetime = _ts(sa_column_kwargs={"onupdate": utcnow})


class PersonPublic(PersonBase):
    id: int


# --- cycles, goals, cadence --------------------------------------------------------------------------------


class Cycle(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    start_date: date
    end_date: date
    status: str = "open"  # open | closed
    created_by: str | None = None
    created_at: datetime = _ts()


class Goal(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    person_slack_id: str = Field(index=True)
    cycle_id: int | None = Field(default=None, foreign_key="cycle.id")
    result_text: str = Field(sa_column=Column(Text, nullable=False))
    measure: str = ""
    due_date: date | None = None
    development_competency: str | None = None
    development_text: str = ""
    status: str = "open"
    created_at: datetime = _ts()


class Cadence(SQLModel, table=True):
    """How often a pair meets: per team (default) or per pair (overrides the team's)."""

    id: int | None = Field(default=None, primary_key=True)
    scope: str = "team"  # team | pair
    team: str | None = Field(default=None, index=True)
    manager_slack_id: str | None = None
    employee_slack_id: str | None = None
    frequency: str = "weekly"  # weekly | biweekly | monthly
    weekday: int = 1  # Monday=0; default Tuesday
    local_time: str = "10:00"
    anchor_date: date | None = None


class Holiday(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(unique=True)
    name: str = ""


# --- check-ins -----------------------------------------------------------------------------------------------


class CheckIn(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("channel_id", "thread_ts", name="uq_checkin_thread"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = "guided"  # guided | reflection
    manager_slack_id: str | None = Field(default=None, index=True)
    employee_slack_id: str = Field(index=True)
    channel_id: str | None = None
    thread_ts: str | None = None
    state: str = Field(default="open", index=True)  # open | finishing | done | abandoned
    step: int = 0
    question_ids: list[str] = _json([])
    locales: list[str] = _json([])
    cycle_id: int | None = Field(default=None, foreign_key="cycle.id")
    summary: str | None = Field(default=None, sa_column=Column(Text))
    followups_used: list[str] = _json([])
    started_at: datetime = _ts()
    last_activity_at: datetime = _ts()
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The analysis queue (bot/slack/finisher.py): who runs the closing analysis holds this lease; `posted_at` is set
    # once the summary and courses are in the thread, so a crash between the two is finished by the next sweep.
    analysis_claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    posted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Answer(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("checkin_id", "slack_ts", name="uq_answer_ts"),)

    id: int | None = Field(default=None, primary_key=True)
    checkin_id: int = Field(foreign_key="checkin.id", index=True)
    question_id: str
    step: int
    author_slack_id: str
    text: str = Field(sa_column=Column(Text, nullable=False))
    slack_ts: str
    edits: list[dict[str, Any]] = _json([])  # earlier versions: [{"text": ..., "at": iso}]
    edited_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _ts()


class DevelopmentPoint(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    person_slack_id: str = Field(index=True)
    checkin_id: int | None = Field(default=None, foreign_key="checkin.id")
    competency: str
    evidence: str = Field(sa_column=Column(Text, nullable=False))
    confidence: float = 0.5
    reason: str = ""
    status: str = Field(default="open", index=True)  # open | closed
    source: str = "offline"  # offline | llm | manual | goal
    disputed: bool = False
    dispute_text: str | None = None
    confirmed: bool = False
    created_at: datetime = _ts()
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DevelopmentAction(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    point_id: int | None = Field(default=None, foreign_key="developmentpoint.id", index=True)
    person_slack_id: str = Field(index=True)
    kind: str = "course"  # course | practice | mentor
    course_id: str | None = None
    title: str = ""
    why: str = ""
    due_date: date | None = None
    status: str = "proposed"  # proposed | accepted | started | done | not_relevant
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


# --- knowledge -----------------------------------------------------------------------------------------------


class Course(SQLModel, table=True):
    id: str = Field(primary_key=True)
    title: str
    summary: str = Field(default="", sa_column=Column(Text, nullable=False))
    competencies: list[str] = _json([])
    language: str = "en"
    duration_minutes: int = 10
    format: str = "article"
    url: str = ""
    content_hash: str = ""
    updated_at: datetime = _ts()


class LearningRecord(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    person_slack_id: str = Field(index=True)
    course_id: str = Field(index=True)
    action_id: int | None = Field(default=None, foreign_key="developmentaction.id")
    status: str  # started | completed | not_relevant
    at: datetime = _ts()


# --- recognition ---------------------------------------------------------------------------------------------


class Recognition(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    giver_slack_id: str = Field(index=True)
    receivers: list[str] = _json([])
    message: str = Field(sa_column=Column(Text, nullable=False))
    values: list[str] = _json([])
    competencies: list[str] = _json([])
    channel_id: str | None = None
    channel_ts: str | None = None
    created_at: datetime = _ts()


# --- nudges, broadcasts, deliveries -------------------------------------------------------------------------


class Nudge(SQLModel, table=True):
    """One due check-in slot of a pair and what was sent about it."""

    __table_args__ = (UniqueConstraint("manager_slack_id", "employee_slack_id", "slot_at", name="uq_nudge_slot"),)

    id: int | None = Field(default=None, primary_key=True)
    manager_slack_id: str
    employee_slack_id: str
    slot_at: datetime = Field(sa_type=UTCDateTime)
    reminders_sent: int = 0
    snoozed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: str = "due"  # due | snoozed | skipped | done
    channel_id: str | None = None
    message_ts: str | None = None
    created_at: datetime = _ts()


class Broadcast(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    kind: str = "broadcast"  # broadcast | cycle_reminder
    created_by: str | None = None
    audience: str
    message: str = Field(sa_column=Column(Text, nullable=False))
    cycle_id: int | None = Field(default=None, foreign_key="cycle.id")
    status: str = "queued"  # queued | sending | done
    report_sent: bool = False
    created_at: datetime = _ts()
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Delivery(SQLModel, table=True):
    """One message to one recipient; `key` is unique, so a double run never sends twice."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=200)
    broadcast_id: int | None = Field(default=None, foreign_key="broadcast.id", index=True)
    kind: str = "broadcast"  # broadcast | nudge | reminder | report
    recipient_slack_id: str = Field(index=True)
    payload: dict[str, Any] = _json({})
    status: str = Field(default="pending", index=True)  # pending | sending | sent | failed
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: datetime = _ts()
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    channel_id: str | None = None
    slack_ts: str | None = None
    created_at: datetime = _ts()


# --- infrastructure ------------------------------------------------------------------------------------------


class ProcessedEvent(SQLModel, table=True):
    event_id: str = Field(primary_key=True, max_length=64)
    received_at: datetime = _ts()


class AuditLog(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    actor_slack_id: str | None = None
    action: str
    subject_slack_id: str | None = None
    detail: dict[str, Any] = _json({})
    at: datetime = _ts()


class LlmUsage(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    checkin_id: int | None = Field(default=None, foreign_key="checkin.id")
    purpose: str
    input_tokens: int = 0
    output_tokens: int = 0
    at: datetime = _ts()


# --- capability map (goals issue) ----------------------------------------------------------------------------


class CapabilityMapVersion(SQLModel, table=True):
    """One loaded capability map; exactly one is active. A rejected file never becomes a row, so the last good
    map stays in force."""

    id: int | None = Field(default=None, primary_key=True)
    source: str = ""
    content: str = Field(sa_column=Column(Text, nullable=False))  # the YAML as loaded
    data: dict[str, Any] = _json({})  # the normalised map (knowledge.capability_map.CapabilityMap.to_data)
    active: bool = Field(default=True, index=True)
    loaded_by: str | None = None
    loaded_at: datetime = _ts()
