from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from bot.people import ImportError_, ensure_person, import_people
from bot.services import Services
from storage.models import Person

HEADER = "slack_id,name,email,manager_slack_id,team,role,timezone,locale,is_hr_admin\n"


def _count(services: Services) -> int:
    with Session(services.engine) as s:
        return len(list(s.exec(select(Person))))


def test_import_upserts(services: Services) -> None:
    text = HEADER + "U0MGR,Maria,m@x.io,,growth,em,Europe/Berlin,en,false\nU0EMP,Erik,,U0MGR,growth,pm,,zh,true\n"
    assert import_people(services, text) == 2
    assert import_people(services, text.replace("Erik", "Erik S")) == 2
    with Session(services.engine) as s:
        erik = s.exec(select(Person).where(Person.slack_id == "U0EMP")).one()
    assert (erik.name, erik.manager_slack_id, erik.locale, erik.is_hr_admin) == ("Erik S", "U0MGR", "zh", True)
    assert erik.timezone == "UTC"  # empty cell, Slack unreachable -> default
    assert _count(services) == 2


def test_locales_as_other_systems_write_them(services: Services) -> None:
    text = HEADER + "U0A,Ann,,,t,r,UTC,zh-CN,false\nU0B,Bob,,,t,r,UTC,en_US,false\nU0C,Cy,,,t,r,UTC,ZH,false\n"
    assert import_people(services, text) == 3
    with Session(services.engine) as s:
        assert [p.locale for p in s.exec(select(Person).order_by(Person.slack_id))] == ["zh", "en", "zh"]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("U0B,Bob,,,t,r,Mars/Base,en,false", "line 3: timezone"),
        ("U0B,Bob,,,t,r,UTC,fr,false", "line 3: locale must be en or zh, not 'fr'"),
        ("U0B,Bob,,,t,r,UTC,Fr-FR,false", "line 3: locale must be en or zh, not 'Fr-FR'"),  # as written
        ("U0B,Bob,,,t,r,UTC,en,yes", "line 3: is_hr_admin"),
        ("bob,Bob,,,t,r,UTC,en,false", "line 3: slack_id"),
        ("U0B,Bob,,U0B,t,r,UTC,en,false", "line 3: a person cannot be their own manager"),
        ("U0B,Bob,UTC,en,false", "line 3: expected 9 columns"),
        ("U0A,Again,,,t,r,UTC,en,false", "line 3: slack_id U0A appears twice"),
    ],
)
def test_a_bad_row_names_its_line_and_writes_nothing(services: Services, row: str, message: str) -> None:
    text = HEADER + "U0A,Ann,,,t,r,UTC,en,false\n" + row + "\n"
    with pytest.raises(ImportError_, match=message):
        import_people(services, text)
    assert _count(services) == 0


def test_a_manager_cycle_is_refused_in_the_file_or_through_the_store(services: Services) -> None:
    two = HEADER + "U0A,Ann,,U0B,t,r,UTC,en,false\nU0B,Bob,,U0A,t,r,UTC,en,false\n"
    with pytest.raises(ImportError_, match=r"line 2: U0A's managers lead back to them \(U0A → U0B → U0A\)"):
        import_people(services, two)
    assert _count(services) == 0
    chain = HEADER + "U0A,Ann,,,t,r,UTC,en,false\nU0B,Bob,,U0A,t,r,UTC,en,false\nU0C,Cy,,U0B,t,r,UTC,en,false\n"
    assert import_people(services, chain) == 3  # a chain is fine, and a manager nobody imported yet too
    assert import_people(services, HEADER + "U0D,Di,,U0NOBODY,t,r,UTC,en,false\n") == 1
    closing = HEADER + "U0E,Ed,,,t,r,UTC,en,false\nU0A,Ann,,U0C,t,r,UTC,en,false\n"  # U0A → U0C → U0B → U0A
    with pytest.raises(ImportError_, match="line 3: U0A's managers lead back"):
        import_people(services, closing)
    assert _count(services) == 4  # nothing of that file was written (U0E neither)


def test_wrong_header_is_line_1(services: Services) -> None:
    with pytest.raises(ImportError_, match="line 1"):
        import_people(services, "id,name\nU0A,Ann\n")


class FakeDirectory:
    def __init__(self, users: dict[str, dict[str, Any]]) -> None:
        self.users = users
        self.calls: list[str] = []

    def user_info(self, slack_id: str) -> dict[str, Any] | None:
        self.calls.append(slack_id)
        return self.users.get(slack_id)


def test_first_contact_fills_timezone_and_locale_from_slack(services: Services) -> None:
    services.directory = FakeDirectory(
        {
            "U0NEW": {
                "id": "U0NEW",
                "tz": "Asia/Shanghai",
                "locale": "zh-CN",
                "profile": {"display_name": "", "real_name": "Wang"},
            }
        }
    )
    p = ensure_person(services, "U0NEW")
    assert (p.name, p.timezone, p.locale, p.profile_synced) == ("Wang", "Asia/Shanghai", "zh", True)
    ensure_person(services, "U0NEW")
    assert services.directory.calls == ["U0NEW"]  # synced once, not on every request


def test_empty_cells_are_filled_from_slack_when_reachable(services: Services) -> None:
    services.directory = FakeDirectory(
        {"U0A": {"tz": "America/New_York", "locale": "en-US", "profile": {"real_name": "Ann Lee"}}}
    )
    import_people(services, HEADER + "U0A,,,,t,r,,,false\n")
    with Session(services.engine) as s:
        ann = s.exec(select(Person)).one()
    assert (ann.name, ann.timezone, ann.locale) == ("Ann Lee", "America/New_York", "en")


def test_rows_are_numbered_by_the_line_they_start_on(services: Services) -> None:
    unclosed = HEADER + 'U0A,Ann,,,t,r,UTC,en,false\nU0B,"Bob,,,t,r,UTC,en,false\nU0C,Cy,,,t,r,UTC,en,false\n'
    with pytest.raises(ImportError_, match=r"line 3: expected 9 columns, found 2 \(a quote opened on this line"):
        import_people(services, unclosed)
    multiline = HEADER + 'U0A,"Ann\nSmith",,,t,r,UTC,en,false\nU0B,Bob,,,t,r,UTC,fr,false\n'
    with pytest.raises(ImportError_, match="line 4: locale"):  # Ann's row takes lines 2-3
        import_people(services, multiline)
    assert _count(services) == 0


def _erik(services: Services) -> Person:
    with Session(services.engine) as s:
        return s.exec(select(Person).where(Person.slack_id == "U0EMP")).one()


def test_a_re_import_keeps_what_is_stored_for_empty_cells_and_a_dash_empties_one(services: Services) -> None:
    full = HEADER + "U0MGR,Maria,,,growth,em,Europe/Berlin,en,false\n"
    full += "U0EMP,Erik,erik@x.io,U0MGR,growth,pm,America/New_York,zh,true\n"
    import_people(services, full)
    import_people(services, HEADER + "U0EMP,,,,,,,,\n")  # a file with nothing to say about Erik but his id
    erik = _erik(services)
    assert (erik.name, erik.email, erik.manager_slack_id, erik.team, erik.role) == (
        "Erik",
        "erik@x.io",
        "U0MGR",
        "growth",
        "pm",
    )
    assert (erik.timezone, erik.locale, erik.is_hr_admin) == ("America/New_York", "zh", True)
    import_people(services, HEADER + "U0EMP,,-,-,platform,-,,,false\n")
    erik = _erik(services)
    assert (erik.email, erik.manager_slack_id, erik.team, erik.role, erik.is_hr_admin) == (
        None,
        None,
        "platform",
        None,
        False,
    )
    assert erik.name == "Erik" and erik.timezone == "America/New_York"


def test_a_kept_manager_still_counts_for_the_cycle_check(services: Services) -> None:
    import_people(services, HEADER + "U0MGR,Maria,,,,,,,\nU0EMP,Erik,,U0MGR,,,,,\n")
    with pytest.raises(ImportError_) as exc:  # Erik keeps Maria as manager: Maria under Erik makes a loop
        import_people(services, HEADER + "U0MGR,,,U0EMP,,,,,\nU0EMP,,,,,,,,\n")
    assert "line 2" in str(exc.value) and "lead back" in str(exc.value)
    import_people(services, HEADER + "U0MGR,,,U0EMP,,,,,\nU0EMP,,,-,,,,,\n")  # unless his manager is removed
    assert _erik(services).manager_slack_id is None


def test_the_header_may_name_the_columns_in_another_order_or_case(services: Services) -> None:
    text = "Name,SLACK_ID,timezone,locale,is_hr_admin,email,manager_slack_id,team,role\n"
    text += "Maria,U0MGR,Europe/Berlin,en,true,m@x.io,,growth,em\n"
    assert import_people(services, text) == 1
    with Session(services.engine) as s:
        maria = s.exec(select(Person).where(Person.slack_id == "U0MGR")).one()
    assert (maria.name, maria.timezone, maria.is_hr_admin, maria.team) == ("Maria", "Europe/Berlin", True, "growth")
    for header in (HEADER.replace(",role", ""), HEADER.strip() + ",role\n", HEADER.strip() + ",extra\n"):
        with pytest.raises(ImportError_, match="line 1: the header must have exactly these columns"):
            import_people(services, header + "U0A,Ann,,,,,,,,\n")
