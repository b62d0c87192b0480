"""LLM token accounting: every call's usage is recorded in `LlmUsage`; over the monthly budget the LLM is skipped."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from bot.services import Services
from storage.db import session_scope
from storage.models import LlmUsage


def month_start(now: datetime) -> datetime:
    """The first instant of `now`'s calendar month, in UTC."""
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def tokens_this_month(services: Services) -> int:
    """Input + output tokens recorded since the start of this (UTC) month."""
    since = month_start(services.now())
    with session_scope(services.engine) as session:
        spent = func.coalesce(func.sum(LlmUsage.input_tokens + LlmUsage.output_tokens), 0)
        total = session.exec(select(spent).where(LlmUsage.at >= since)).one()
    return int(total or 0)


def within_budget(services: Services, *, budget: int | None = None) -> bool:
    """False once this month's total has reached the budget (`GROWTHLOOP_LLM_MONTHLY_TOKEN_BUDGET` by default)."""
    limit = services.settings.growthloop_llm_monthly_token_budget if budget is None else budget
    return tokens_this_month(services) < limit


def record_usage(services: Services, *, purpose: str, usage: dict[str, Any] | None, checkin_id: int | None) -> LlmUsage:
    """Store one call's `usage_metadata` (input and output tokens) against its check-in and purpose."""
    usage = usage or {}
    row = LlmUsage(checkin_id=checkin_id, purpose=purpose, input_tokens=int(usage.get("input_tokens") or 0),
                   output_tokens=int(usage.get("output_tokens") or 0), at=services.now())
    with session_scope(services.engine) as session:
        session.add(row)
    return row


def usage_of(services: Services, *, checkin_id: int) -> list[LlmUsage]:
    with session_scope(services.engine) as session:
        return list(session.exec(select(LlmUsage).where(LlmUsage.checkin_id == checkin_id).order_by(col(LlmUsage.id))))
