from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import Session, select

from bot.privacy import forget_person, write_export
from bot.services import Services
from storage.db import session_scope
from storage.models import Answer, CheckIn, DevelopmentAction, DevelopmentPoint, Person, Recognition
from storage.people import upsert_person


def _seed(services: Services) -> None:
    with session_scope(services.engine) as s:
        upsert_person(session=s, slack_id="U0MGR", name="Maria")
        upsert_person(session=s, slack_id="U0EMP", name="Erik", email="erik@x.io", manager_slack_id="U0MGR")
        c = CheckIn(employee_slack_id="U0EMP", manager_slack_id="U0MGR", state="done", question_ids=["q"])
        s.add(c)
        s.flush()
        s.add(
            Answer(
                checkin_id=c.id,
                question_id="q",
                step=0,
                author_slack_id="U0EMP",
                text="my secret answer",
                slack_ts="1.1",
            )
        )
        s.add(
            DevelopmentPoint(
                person_slack_id="U0EMP", checkin_id=c.id, competency="communication", evidence="my secret answer"
            )
        )
        s.add(Recognition(giver_slack_id="U0MGR", receivers=["U0EMP"], message="great demo"))
        s.add(DevelopmentAction(person_slack_id="U0EMP", title="A course", why="Tied to: “my secret answer”"))


def test_export_person_has_verbatim_answers(services: Services) -> None:
    _seed(services)
    buf = io.StringIO()
    write_export(services, buf, person="U0EMP")
    recs = [json.loads(line) for line in buf.getvalue().splitlines()]
    types = {r["type"] for r in recs}
    assert {"person", "checkin", "answer", "development_point", "recognition"} <= types
    assert any(r["type"] == "answer" and r["text"] == "my secret answer" for r in recs)
    assert all(r["slack_id"] == "U0EMP" for r in recs if r["type"] == "person")


def test_forget_erases_texts_and_ids_but_keeps_counts(services: Services) -> None:
    _seed(services)
    counts = forget_person(services, slack_id="U0EMP", actor="test")
    assert counts["answer"] == 1 and counts["development_point"] == 1
    buf = io.StringIO()
    write_export(services, buf)
    dump = buf.getvalue()
    assert "U0EMP" not in dump and "my secret answer" not in dump and "erik@x.io" not in dump
    assert "great demo" not in dump and "Erik" not in dump
    with Session(services.engine) as s:
        assert len(s.exec(select(CheckIn)).all()) == 1
        assert s.exec(select(DevelopmentPoint)).one().competency == "communication"
        assert s.exec(select(Person).where(Person.forgotten == True)).one().name == ""  # noqa: E712
        assert len(s.exec(select(Recognition)).all()) == 1
        assert s.exec(select(DevelopmentAction)).one().title == "A course"  # the action is counted still


def test_a_managers_export_holds_what_they_wrote_not_their_reports_answers(services: Services) -> None:
    _seed(services)
    with session_scope(services.engine) as s:
        c = s.exec(select(CheckIn)).one()
        c.summary = "Erik's summary"
        s.add(c)
        s.add(
            Answer(
                checkin_id=c.id, question_id="q", step=0, author_slack_id="U0MGR", text="manager note", slack_ts="1.2"
            )
        )
    buf = io.StringIO()
    write_export(services, buf, person="U0MGR")
    recs = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert [r["text"] for r in recs if r["type"] == "answer"] == ["manager note"]
    assert [r["summary"] for r in recs if r["type"] == "checkin"] == [None]
    buf = io.StringIO()
    write_export(services, buf, person="U0EMP")  # the employee's export has both, and the summary
    recs = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert sorted(r["text"] for r in recs if r["type"] == "answer") == ["manager note", "my secret answer"]
    assert [r["summary"] for r in recs if r["type"] == "checkin"] == ["Erik's summary"]


def test_cli_export_and_forget(tmp_path: Path) -> None:
    env = {**os.environ, "GROWTHLOOP_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    csv = tmp_path / "people.csv"
    csv.write_text(
        "slack_id,name,email,manager_slack_id,team,role,timezone,locale,is_hr_admin\nU0AAA,Ann,,,t,r,UTC,en,false\n"
    )
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "bot.cli", *a],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    imp = run("people", "import", str(csv))
    assert imp.returncode == 0, imp.stderr
    out = run("export", "--person", "U0AAA")
    assert out.returncode == 0 and json.loads(out.stdout.splitlines()[0])["type"] == "person"
    forgot = run("person", "forget", "U0AAA")
    assert forgot.returncode == 0 and "person 1" in forgot.stdout
    assert run("person", "forget", "U0AAA").returncode == 1


def test_forget_leaves_the_slack_id_nowhere_in_the_store(services: Services) -> None:
    from datetime import date

    from sqlalchemy import text
    from sqlmodel import SQLModel

    from storage.models import Broadcast, Cadence, CapabilityMapVersion, Cycle, Delivery

    _seed(services)
    with session_scope(services.engine) as s:
        upsert_person(session=s, slack_id="U0HRX", name="Hana", is_hr_admin=True)
        b = Broadcast(created_by="U0EMP", audience="all", message="cycle starts")
        s.add(b)
        s.add(Cycle(name="H1", start_date=date(2026, 1, 1), end_date=date(2026, 6, 30), created_by="U0EMP"))
        s.add(Cadence(scope="pair", manager_slack_id="U0MGR", employee_slack_id="U0EMP", frequency="monthly"))
        s.add(CapabilityMapVersion(source="map.yaml", content="x: 1", loaded_by="U0EMP"))
        s.flush()
        s.add(Delivery(key=f"broadcast:{b.id}:U0EMP", recipient_slack_id="U0EMP", broadcast_id=b.id))
        s.add(Delivery(key="nudge:U0MGR:U0EMP:2026-03-03T09:00:0", kind="nudge", recipient_slack_id="U0MGR"))
        s.add(Delivery(key="prompt:U0MGR:U0EMPX:2026-03-03T09:00", kind="nudge", recipient_slack_id="U0MGR"))
    forget_person(services, slack_id="U0EMP", actor="test")
    with services.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for row in conn.execute(text(f'SELECT * FROM "{table.name}"')):
                assert not any(str(v) == "U0EMP" or ":U0EMP:" in f"{v}:" for v in row), (table.name, row)
        keys = {k for (k,) in conn.execute(text("SELECT key FROM delivery"))}
    assert "prompt:U0MGR:U0EMPX:2026-03-03T09:00" in keys  # another person whose id merely starts the same
    assert len(keys) == 3


def test_a_forgotten_persons_pseudonym_cannot_be_recomputed_from_their_slack_id(services: Services) -> None:
    import hashlib

    _seed(services)
    forget_person(services, slack_id="U0EMP", actor="test")
    with Session(services.engine) as s:
        anon = s.exec(select(Person).where(Person.forgotten == True)).one().slack_id  # noqa: E712
        assert s.exec(select(DevelopmentPoint)).one().person_slack_id == anon  # one pseudonym across the records
    assert anon.startswith("ANON-")
    for digest in (hashlib.sha256, hashlib.sha1, hashlib.md5):
        assert digest(b"U0EMP").hexdigest()[:10].upper() not in anon
    with session_scope(services.engine) as s:  # the same Slack id forgotten again later gets another pseudonym
        upsert_person(session=s, slack_id="U0EMP", name="Erik again")
    forget_person(services, slack_id="U0EMP", actor="test")
    with Session(services.engine) as s:
        names = {p.slack_id for p in s.exec(select(Person).where(Person.forgotten == True))}  # noqa: E712
    assert len(names) == 2 and anon in names
