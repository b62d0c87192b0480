"""Access control, surface by surface: a person without the right role is refused and nothing changes.

Demo org: HR U0HR; managers U0MGR (reports U0EMP, U0EMP2, U0EMP3) and U0MGRZH (U0EMPZH, U0EMPZH2).
One sandbox for the module: each test uses its own people or rows, so they do not interfere.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from bot.access import Access, resolve_access
from bot.demo.sandbox import Sandbox, start_sandbox
from storage.db import session_scope
from storage.models import Answer, AuditLog, Broadcast, CheckIn, Cycle, DevelopmentPoint, Nudge, Recognition
from storage.people import get_person
from tests.e2e.checkin_helpers import thread_root, wait_thread_posts


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    sandbox = start_sandbox(Path(tmp_path_factory.mktemp("access")) / "data")
    yield sandbox
    sandbox.stop()


def _rows(sb: Sandbox, model: type, *where: object) -> list:
    with session_scope(sb.services.engine) as s:
        return list(s.exec(select(model).where(*where)))


def _ephemeral_to(sb: Sandbox, user: str, contains: str) -> dict:
    call = sb.stub.wait_for(
        lambda s: next(
            (
                c
                for c in s.calls_of("chat.postEphemeral")
                if c.params.get("user") == user and contains in c.params.get("text", "")
            ),
            None,
        )
    )
    return call.params


def _dm_to(sb: Sandbox, user: str, contains: str) -> dict:
    channel = "D" + user.removeprefix("U")
    return sb.stub.wait_for(
        lambda s: next((m for m in s.messages.get(channel, []) if contains in m.get("text", "")), None)
    )


def _point(sb: Sandbox, person: str) -> int:
    with session_scope(sb.services.engine) as s:
        p = DevelopmentPoint(person_slack_id=person, competency="communication", evidence="I mumble in demos")
        s.add(p)
        s.flush()
        return p.id or 0


def test_roles_are_resolved_from_the_directory(sb: Sandbox) -> None:
    with session_scope(sb.services.engine) as s:
        people = {k: get_person(session=s, slack_id=k) for k in ("U0HR", "U0MGR", "U0EMP")}
    hr, mgr, emp = (resolve_access(sb.services, people[k]) for k in ("U0HR", "U0MGR", "U0EMP"))
    assert hr.roles() == ["employee", "hr_admin"] and not hr.manages("U0EMP")
    assert mgr.roles() == ["employee", "manager"] and mgr.reports == {"U0EMP", "U0EMP2", "U0EMP3"}
    assert emp.roles() == ["employee"] and not emp.may_view_person("U0EMP2") and emp.may_view_person("U0EMP")
    assert hr.may_view_person("U0EMP") and not hr.may_read_checkin(manager="U0MGR", employee="U0EMP", hr_can_read=False)
    assert hr.may_read_checkin(manager="U0MGR", employee="U0EMP", hr_can_read=True)
    assert not Access(slack_id=None).may_view_person("U0EMP")


@pytest.mark.parametrize("who", ["U0EMP2", "U0HR", "U0MGRZH"])
def test_only_the_manager_starts_a_checkin(sb: Sandbox, who: str) -> None:
    reply = sb.driver.slash(who, "/checkin", "<@U0EMP3>").json()
    assert "Only Sam's manager" in reply["text"] or "只有" in reply["text"]
    assert not _rows(sb, CheckIn, CheckIn.employee_slack_id == "U0EMP3")


def test_only_the_pair_steers_or_answers_a_checkin(sb: Sandbox) -> None:
    before = len(sb.stub.calls_of("chat.postMessage"))
    sb.driver.slash("U0MGR", "/checkin", "<@U0EMP>")
    root = thread_root(sb, before)
    wait_thread_posts(sb, root["channel"], root["ts"], 1)
    (c,) = _rows(sb, CheckIn, CheckIn.employee_slack_id == "U0EMP", CheckIn.state == "open")
    sb.driver.action("U0EMP2", "checkin_skip", str(c.id), channel=root["channel"])
    _ephemeral_to(sb, "U0EMP2", "Only the two people")
    for outsider in ("U0EMP2", "U0HR"):
        sb.driver.message(outsider, root["channel"], "let me answer for Erik", thread_ts=root["ts"])
    sb.driver.message("U0EMP", root["channel"], "my own answer", thread_ts=root["ts"])
    wait_thread_posts(sb, root["channel"], root["ts"], 2)
    (c,) = _rows(sb, CheckIn, CheckIn.id == c.id)
    assert c.step == 1 and [a.author_slack_id for a in _rows(sb, Answer, Answer.checkin_id == c.id)] == ["U0EMP"]


def test_only_the_employee_confirms_or_disputes_a_point_and_only_the_manager_closes_it(sb: Sandbox) -> None:
    pid = _point(sb, "U0EMP2")
    sb.driver.action("U0MGR", "point_confirm", str(pid))
    _ephemeral_to(sb, "U0MGR", "Only the person this point is about")
    opened = len(sb.stub.calls_of("views.open"))
    sb.driver.action("U0EMP3", "point_dispute", str(pid))
    _ephemeral_to(sb, "U0EMP3", "Only the person this point is about")
    assert len(sb.stub.calls_of("views.open")) == opened
    meta = json.dumps({"point_id": pid, "channel": "C0GENERAL", "ts": "1.1"})
    sent = sb.driver.submit_view(
        "U0EMP3",
        {"callback_id": "point_dispute_modal", "private_metadata": meta},
        {"why": {"text": {"type": "plain_text_input", "value": "forged"}}},
    )
    assert sent.json()["response_action"] == "errors"
    sb.driver.action("U0EMP3", "point_close", str(pid))
    _ephemeral_to(sb, "U0EMP3", "Only the person's manager")
    (p,) = _rows(sb, DevelopmentPoint, DevelopmentPoint.id == pid)
    assert (p.confirmed, p.disputed, p.dispute_text, p.status) == (False, False, None, "open")


@pytest.mark.parametrize("who", ["U0EMP", "U0MGRZH"])
def test_growth_log_of_someone_else_is_refused(sb: Sandbox, who: str) -> None:
    reply = sb.driver.slash(who, "/growth", "<@U0EMP2>").json()
    assert "HR admins can see anyone's" in reply["text"] or "HR" in reply["text"]
    assert "blocks" not in reply


def test_hr_reads_a_growth_log_without_answers_and_it_is_audited(sb: Sandbox) -> None:
    reply = sb.driver.slash("U0HR", "/growth", "<@U0EMPZH2>").json()
    assert reply.get("blocks")
    audit = _rows(sb, AuditLog, AuditLog.actor_slack_id == "U0HR", AuditLog.subject_slack_id == "U0EMPZH2")
    assert [a.action for a in audit] == ["hr.read_growth_log"] and audit[0].detail == {"answers": False}


@pytest.mark.parametrize(
    "text", ["broadcast all hello", "cycle start H2 2099-12-31", "report", "holidays add 2099-01-01"]
)
def test_hr_commands_are_refused_for_non_admins(sb: Sandbox, text: str) -> None:
    reply = sb.driver.slash("U0MGR", "/hr", text).json()
    assert "Only HR admins" in reply["text"]
    assert not _rows(sb, Broadcast, Broadcast.created_by == "U0MGR") and not _rows(sb, Cycle, Cycle.name == "H2")


def test_home_buttons_check_roles(sb: Sandbox) -> None:
    uploads = len(sb.stub.calls_of("files.completeUploadExternal"))
    sb.driver.action("U0EMP3", "home_post_report", "")
    _dm_to(sb, "U0EMP3", "Only HR admins can get the HR report")
    sb.driver.action("U0MGRZH", "home_start_checkin", "U0EMP3")  # not their report
    _dm_to(sb, "U0MGRZH", "<@U0EMP3>")
    sb.driver.action("U0HR", "home_start_checkin", "U0EMP3")
    _dm_to(sb, "U0HR", "<@U0EMP3>")
    assert not _rows(sb, CheckIn, CheckIn.employee_slack_id == "U0EMP3")
    assert len(sb.stub.calls_of("files.completeUploadExternal")) == uploads


def test_app_home_shows_each_role_only_its_sections(sb: Sandbox) -> None:
    for user in ("U0EMP3", "U0MGR", "U0HR"):
        sb.driver.app_home_opened(user)
    views = sb.stub.wait_for(lambda s: all(f"home:{u}" in s.views for u in ("U0EMP3", "U0MGR", "U0HR")) and s.views)
    emp, mgr, hr = (json.dumps(views[f"home:{u}"]) for u in ("U0EMP3", "U0MGR", "U0HR"))
    assert "home_start_checkin" not in emp and "home_post_report" not in emp
    assert "home_start_checkin" in mgr and "home_post_report" not in mgr
    assert "home_post_report" in hr and "home_start_checkin" not in hr


@pytest.mark.parametrize(
    ("who", "action_id"), [("U0MGRZH", "nudge_snooze"), ("U0EMP", "nudge_skip"), ("U0HR", "nudge_start")]
)
def test_nudge_buttons_belong_to_their_manager(sb: Sandbox, who: str, action_id: str) -> None:
    with session_scope(sb.services.engine) as s:
        n = Nudge(
            manager_slack_id="U0MGR",
            employee_slack_id="U0EMP2",
            slot_at=datetime(2030, 1, 1, 9, len(who), tzinfo=UTC),
            channel_id="D0MGR",
            message_ts="9.1",
        )
        s.add(n)
        s.flush()
        nid = n.id
    sb.driver.action(who, action_id, str(nid), channel="D0MGR")
    _ephemeral_to(
        sb, who, "只有收到这条提醒的经理" if who.endswith("ZH") else "Only the manager this reminder was sent to"
    )
    (n,) = _rows(sb, Nudge, Nudge.id == nid)
    assert n.status == "due" and n.snoozed_until is None


def test_course_buttons_belong_to_their_owner(sb: Sandbox) -> None:
    sb.driver.action("U0EMPZH2", "learn_start", "c|any-course|0|U0EMPZH")
    _ephemeral_to(sb, "U0EMPZH2", "<@U0EMPZH>")


def test_kudos_to_oneself_is_refused(sb: Sandbox) -> None:
    reply = sb.driver.slash("U0EMP3", "/kudos", "<@U0EMP3> great job me").json()
    assert reply["text"]
    assert not _rows(sb, Recognition, Recognition.giver_slack_id == "U0EMP3")
