"""People: the CSV import and first-contact sync of time zone and locale from Slack."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, select

from bot.i18n import norm_locale
from bot.services import Services
from storage.db import session_scope
from storage.models import Person
from storage.people import get_person, people_by_ids, upsert_person

HEADER = ["slack_id", "name", "email", "manager_slack_id", "team", "role", "timezone", "locale", "is_hr_admin"]
SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")


class ImportError_(ValueError):
    """A people file that cannot be imported; the message names the line."""


@dataclass
class PersonRow:
    line: int
    values: dict[str, Any]


def decode_people_file(raw: bytes) -> str:
    """The text of a people file: UTF-8 (a BOM is allowed); otherwise ImportError_ naming the first bad line."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ImportError_(f"line {line}: not UTF-8 text (save the file as CSV UTF-8)") from None


def parse_people_csv(text: str) -> list[PersonRow]:
    """Parse and validate the whole file; raise ImportError_ naming the first bad line."""
    text = text.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[tuple[int, list[str]]] = []  # (the line a row starts on, its cells): a quoted cell may span lines
    end = 0
    try:
        for cells in reader:
            records.append((end + 1, cells))
            end = reader.line_num
    except csv.Error as exc:
        raise ImportError_(f"line {reader.line_num}: not valid CSV ({exc})") from None
    if not records:
        raise ImportError_("line 1: the file is empty; expected the header " + ",".join(HEADER))
    header = [h.strip().lower() for h in records[0][1]]
    if sorted(header) != sorted(HEADER):  # the same columns in another order or case are as clear
        raise ImportError_("line 1: the header must have exactly these columns: " + ",".join(HEADER))
    rows: list[PersonRow] = []
    seen: set[str] = set()
    for idx, cells in records[1:]:
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(HEADER):
            unclosed = " (a quote opened on this line is not closed)" if any("\n" in c for c in cells) else ""
            raise ImportError_(f"line {idx}: expected {len(HEADER)} columns, found {len(cells)}{unclosed}")
        row = dict(zip(header, (c.strip() for c in cells), strict=True))
        sid = row["slack_id"]
        if not SLACK_ID.match(sid):
            raise ImportError_(f"line {idx}: slack_id {sid!r} is not a Slack user id (like U012ABCDEF)")
        if sid in seen:
            raise ImportError_(f"line {idx}: slack_id {sid} appears twice")
        seen.add(sid)
        if row["manager_slack_id"] not in ("", CLEAR) and not SLACK_ID.match(row["manager_slack_id"]):
            raise ImportError_(f"line {idx}: manager_slack_id {row['manager_slack_id']!r} is not a Slack user id")
        if row["manager_slack_id"] == sid:
            raise ImportError_(f"line {idx}: a person cannot be their own manager")
        if row["timezone"]:
            try:
                ZoneInfo(row["timezone"])
            except (ZoneInfoNotFoundError, ValueError):
                raise ImportError_(f"line {idx}: timezone {row['timezone']!r} is not an IANA time zone") from None
        # "ZH", "zh-CN", "en_US" are as clear as "zh" / "en" (like TRUE for is_hr_admin), as in catalogs
        written = row["locale"]
        row["locale"] = norm_locale(written, "") if written else ""
        if written and not row["locale"]:
            raise ImportError_(f"line {idx}: locale must be en or zh, not {written!r}")
        flag = row["is_hr_admin"].lower()
        if flag not in ("", "true", "false"):
            raise ImportError_(f"line {idx}: is_hr_admin must be true or false, not {row['is_hr_admin']!r}")
        if row["email"] not in ("", CLEAR) and "@" not in row["email"]:
            raise ImportError_(f"line {idx}: email {row['email']!r} is not an email address")
        rows.append(PersonRow(idx, row))
    return rows


def import_people(services: Services, text: str) -> int:
    """Upsert every row of a people CSV, all or nothing. Returns the number of people written.

    A new person's empty cells come from Slack's `users.info` when reachable, else from the defaults. Someone
    already stored keeps what is stored for an empty cell (a file that only adds a team column, or one exported
    without emails, must not wipe names, managers or HR rights); `-` empties an optional cell (email, manager,
    team, role)."""
    rows = parse_people_csv(text)
    s = services.settings
    with session_scope(services.engine) as session:
        stored = people_by_ids(session=session, slack_ids=[r.values["slack_id"] for r in rows])
        _refuse_manager_cycles(session, rows, stored)
        for r in rows:
            v, known = r.values, stored.get(r.values["slack_id"])
            if known is not None:
                fields = {k: _cell(v[k]) for k in OPTIONAL if v[k]}
                fields |= {k: v[k] for k in ("name", "timezone", "locale") if v[k]}
                if v["is_hr_admin"]:
                    fields["is_hr_admin"] = v["is_hr_admin"].lower() == "true"
                upsert_person(session=session, slack_id=v["slack_id"], **fields)
                continue
            slack = (
                _slack_profile(services, v["slack_id"]) if not all(v[k] for k in ("name", "timezone", "locale")) else {}
            )
            upsert_person(
                session=session,
                slack_id=v["slack_id"],
                name=v["name"] or slack.get("name") or v["slack_id"],
                email=_cell(v["email"]) or slack.get("email"),
                manager_slack_id=_cell(v["manager_slack_id"]),
                team=_cell(v["team"]),
                role=_cell(v["role"]),
                timezone=v["timezone"] or slack.get("timezone") or s.growthloop_default_timezone,
                locale=v["locale"] or slack.get("locale") or s.growthloop_default_locale,
                is_hr_admin=v["is_hr_admin"].lower() == "true",
                profile_synced=bool(slack),
            )
    return len(rows)


CLEAR = "-"  # in an optional cell: empty it (an empty cell keeps what is stored)
OPTIONAL = ("email", "manager_slack_id", "team", "role")


def _cell(value: str) -> str | None:
    return None if value in ("", CLEAR) else value


def _refuse_manager_cycles(session: Session, rows: list[PersonRow], stored: dict[str, Person]) -> None:
    """Raise ImportError_ naming the first row whose manager chain (this file over the store) comes back to it."""
    managers = {sid: mgr for sid, mgr in session.exec(select(Person.slack_id, Person.manager_slack_id)).all()}
    for r in rows:  # an empty cell keeps a stored person's manager; `-` removes it
        cell, sid = r.values["manager_slack_id"], r.values["slack_id"]
        managers[sid] = managers.get(sid) if not cell and sid in stored else _cell(cell)
    for r in rows:
        start = r.values["slack_id"]
        chain, at = [start], managers.get(start)
        while at is not None and at not in chain:
            chain.append(at)
            at = managers.get(at)
        if at == start:
            loop = " → ".join([*chain, start])
            raise ImportError_(f"line {r.line}: {start}'s managers lead back to them ({loop})")


def _slack_profile(services: Services, slack_id: str) -> dict[str, Any]:
    """Name, email, IANA time zone and locale from Slack's users.info, or {} when Slack is unreachable."""
    if services.directory is None:
        return {}
    try:
        user = services.directory.user_info(slack_id)
    except Exception:  # Slack unreachable: the defaults apply, the import still succeeds
        return {}
    if not user:
        return {}
    profile = user.get("profile") or {}
    out: dict[str, Any] = {
        "name": profile.get("display_name") or profile.get("real_name") or user.get("real_name"),
        "email": profile.get("email"),
        "is_bot": bool(user.get("is_bot")),
    }
    tz = user.get("tz")
    if tz:
        try:
            ZoneInfo(tz)
            out["timezone"] = tz
        except (ZoneInfoNotFoundError, ValueError):
            pass
    if user.get("locale"):
        out["locale"] = norm_locale(user["locale"], services.settings.growthloop_default_locale)
    return out


def sync_if_known(services: Services, slack_id: str | None) -> None:
    """Fill a known person's time zone and locale from Slack if that has not happened yet (a manager may start a
    check-in with a report who has never written to the bot); unknown ids stay unknown."""
    from bot.person_cache import cached_person

    person = cached_person(services, slack_id)
    if person is None or person.profile_synced or person.forgotten:
        return
    ensure_person(services, slack_id)


def ensure_person(services: Services, slack_id: str) -> Person:
    """The person for `slack_id` (read-only: a detached copy); on first contact, fill time zone and locale from Slack.

    Every Slack request asks this for its actor, so a synced person comes from the per-process cache.
    """
    from bot.person_cache import cached_person

    person = cached_person(services, slack_id)
    if person is not None and person.profile_synced:
        return person
    slack = _slack_profile(services, slack_id)
    s = services.settings
    with session_scope(services.engine) as session:
        person = get_person(session=session, slack_id=slack_id)
        if person is None:
            return upsert_person(
                session=session,
                slack_id=slack_id,
                name=slack.get("name") or slack_id,
                email=slack.get("email"),
                timezone=slack.get("timezone") or s.growthloop_default_timezone,
                locale=slack.get("locale") or s.growthloop_default_locale,
                profile_synced=bool(slack),
            )
        if slack:
            # What the person set in Slack wins (UX.md: Slack locale, else the people file).
            person.timezone = slack.get("timezone") or person.timezone
            person.locale = slack.get("locale") or person.locale
            person.profile_synced = True
            session.add(person)
        return person
