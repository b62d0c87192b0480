"""The CLI as outside tooling drives it: unusual but valid files, bad files, odd output paths (never a traceback)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner, Result

from bot.cli import app
from storage.db import make_engine
from storage.models import Person

HEADER = "slack_id,name,email,manager_slack_id,team,role,timezone,locale,is_hr_admin"


@pytest.fixture
def cli(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {
        "GROWTHLOOP_DATA_DIR": str(tmp_path / "data"),
        "GROWTHLOOP_EMBEDDER": "hash",
        "DATABASE_URL": None,
        "CHROMA_URL": None,
        "SLACK_BOT_TOKEN": None,
        "GROWTHLOOP_DEFAULT_LOCALE": None,
    }

    def run(*args: str) -> Result:
        return CliRunner().invoke(app, list(args), env=env)

    return run


def _people(tmp_path: Path) -> dict[str, Person]:
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'growthloop.db'}")
    try:
        with Session(engine) as s:
            return {p.slack_id: p for p in s.exec(select(Person)).all()}
    finally:
        engine.dispose()


def test_an_unusual_but_valid_people_file_imports(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = [
        HEADER,
        'U0HR001,"Wang, Li (HR)",li@example.com,,People,HR,Asia/Shanghai,ZH,TRUE',
        " U0MGR01 , 张伟 ,, ,Growth,Manager,Asia/Shanghai, zh ,False",
        "U0EMP01,,,U0MGR01,Growth,,,,",
        "",
    ]
    f = tmp_path / "people.csv"
    f.write_bytes(("\ufeff" + "\r\n".join(rows)).encode("utf-8"))  # Excel's CSV UTF-8: a BOM and CRLF
    res = cli("people", "import", str(f))
    assert res.exit_code == 0, res.output
    assert "imported 3 people" in res.output
    people = _people(tmp_path)
    hr, mgr, emp = people["U0HR001"], people["U0MGR01"], people["U0EMP01"]
    assert (hr.name, hr.locale, hr.is_hr_admin) == ("Wang, Li (HR)", "zh", True)
    assert (mgr.name, mgr.locale, mgr.is_hr_admin, mgr.manager_slack_id) == ("张伟", "zh", False, None)
    assert (emp.name, emp.timezone, emp.locale, emp.manager_slack_id) == ("U0EMP01", "UTC", "en", "U0MGR01")


def test_a_people_file_that_is_not_utf8_names_its_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "people.csv"
    f.write_bytes(f"{HEADER}\nU0A,Ann,,,t,r,UTC,en,false\nU0B,王芳,,,t,r,UTC,zh,false\n".encode("gbk"))
    res = cli("people", "import", str(f))
    assert res.exit_code == 2, res.output
    assert "line 3: not UTF-8" in res.output and "nothing was written" in res.output
    assert "Traceback" not in res.output
    assert _people(tmp_path) == {}


def test_a_catalog_that_is_not_utf8_is_refused_clearly(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "catalog.csv"
    f.write_bytes(
        "id,title,summary,competencies,language,duration_minutes,format,url\n"
        "c1,演讲,练习,communication,zh,5,video,\n".encode("gbk")
    )
    res = cli("knowledge", "ingest", str(f))
    assert res.exit_code == 2, res.output
    assert "line 2: not UTF-8" in res.output and "nothing was written" in res.output


def test_export_to_a_new_folder_and_for_an_unknown_person(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "people.csv"
    f.write_text(f"{HEADER}\nU0A,Ann,,,t,r,UTC,en,false\n", encoding="utf-8")
    assert cli("people", "import", str(f)).exit_code == 0
    out = tmp_path / "exports" / "2026" / "ann.jsonl"
    res = cli("export", "--person", "U0A", "--out", str(out))
    assert res.exit_code == 0, res.output
    assert [json.loads(line)["type"] for line in out.read_text(encoding="utf-8").splitlines()] == ["person"]
    unknown = cli("export", "--person", "U0NOBODY")
    assert unknown.exit_code == 1 and "no person U0NOBODY" in unknown.output


def test_report_to_a_directory_is_a_clear_error(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "reports"
    target.mkdir()
    for fmt in ("csv", "png"):
        res = cli("report", "--format", fmt, "--out", str(target))
        assert res.exit_code == 2, res.output
        assert f"cannot write {target}" in res.output


def _cli_process(env_extra: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CHROMA_URL", "SLACK_APP_TOKEN")}
    env.update({"GROWTHLOOP_EMBEDDER": "hash", **env_extra})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], env=env, capture_output=True, text=True, timeout=180
    )


def test_an_unreachable_store_or_data_dir_is_one_line(tmp_path: Path) -> None:
    down = _cli_process(
        {"GROWTHLOOP_DATA_DIR": str(tmp_path), "DATABASE_URL": "postgresql+psycopg://nobody:s3cret@127.0.0.1:1/x"},
        "db",
        "upgrade",
    )
    assert down.returncode == 3 and "cannot use the database" in down.stderr, down.stderr[-2000:]
    assert "Traceback" not in down.stderr and "s3cret" not in down.stderr and len(down.stderr.splitlines()) == 1
    (tmp_path / "a-file").write_text("x")
    bad_dir = _cli_process({"GROWTHLOOP_DATA_DIR": str(tmp_path / "a-file" / "data")}, "report")
    assert bad_dir.returncode == 2 and "GROWTHLOOP_DATA_DIR: cannot create" in bad_dir.stderr, bad_dir.stderr[-2000:]


def test_serve_on_a_port_in_use_says_so(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {
            "GROWTHLOOP_DATA_DIR": str(tmp_path),
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": "secret",
            "SLACK_API_URL": "http://127.0.0.1:9/api/",
        }
        out = _cli_process(env, "serve", "--http", "--host", "127.0.0.1", "--port", str(port), "--no-scheduler")
    assert out.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in out.stderr, out.stderr[-2000:]
    assert "Traceback" not in out.stderr


def test_an_unreachable_chroma_server_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    res = CliRunner().invoke(
        app,
        ["knowledge", "search", "feedback", "--json"],
        env={
            "GROWTHLOOP_DATA_DIR": str(tmp_path / "d"),
            "GROWTHLOOP_EMBEDDER": "hash",
            "CHROMA_URL": url,
            "DATABASE_URL": None,
        },
    )
    assert res.exit_code == 2 and "cannot reach the Chroma server at CHROMA_URL" in res.output, res.output


def _embedded(tmp_path: Path) -> dict[str, str | None]:
    """A fresh embedded store (SQLite, Chroma in the data dir, the hashing embedder), whatever the shell sets."""
    return {"GROWTHLOOP_DATA_DIR": str(tmp_path / "d"), "GROWTHLOOP_EMBEDDER": "hash", "DATABASE_URL": None,
            "CHROMA_URL": None}


def test_search_language_is_read_in_any_case_and_a_wrong_one_is_refused(tmp_path: Path) -> None:
    env = _embedded(tmp_path)
    res = CliRunner().invoke(app, ["knowledge", "search", "反馈", "--json", "--lang", "ZH", "--k", "3"], env=env)
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert len(rows) == 3 and {r["language"] for r in rows} == {"zh"}
    bad = CliRunner().invoke(app, ["knowledge", "search", "x", "--lang", "fr"], env=env)
    assert bad.exit_code == 2 and "--lang must be en or zh" in bad.output


def test_search_with_no_words_answers_plainly_instead_of_listing_arbitrary_courses(tmp_path: Path) -> None:
    env = _embedded(tmp_path)
    for text in ("", "   ", "😀🙏!!", "？？？"):
        res = CliRunner().invoke(app, ["knowledge", "search", text, "--json"], env=env)
        assert res.exit_code == 0 and json.loads(res.stdout) == [], (text, res.output)
        assert "no words" in res.stderr
        plain = CliRunner().invoke(app, ["knowledge", "search", text], env=env)
        assert plain.exit_code == 0 and "give a topic in words" in plain.output
    worded = CliRunner().invoke(app, ["knowledge", "search", "反馈 🙏", "--json", "--k", "2"], env=env)
    assert len(json.loads(worded.stdout)) == 2


def test_an_empty_file_never_empties_the_catalog(tmp_path: Path) -> None:
    env = _embedded(tmp_path)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    before = json.loads(CliRunner().invoke(app, ["knowledge", "search", "feedback", "--json"], env=env).stdout)
    res = CliRunner().invoke(app, ["knowledge", "ingest", str(empty), "--replace"], env=env)
    assert res.exit_code == 2 and "nothing was changed" in res.output
    plain = CliRunner().invoke(app, ["knowledge", "ingest", str(empty)], env=env)
    assert plain.exit_code == 0 and "nothing was loaded" in plain.output
    after = json.loads(CliRunner().invoke(app, ["knowledge", "search", "feedback", "--json"], env=env).stdout)
    assert len(before) == 5 and [r["id"] for r in after] == [r["id"] for r in before]


def test_search_gives_as_many_results_as_asked_when_the_catalog_has_them(tmp_path: Path) -> None:
    env = _embedded(tmp_path)
    for k, expected in (("120", 120), ("5000", 181)):  # more than each method's usual 50; more than the catalog
        res = CliRunner().invoke(app, ["knowledge", "search", "giving feedback", "--json", "--k", k], env=env)
        rows = json.loads(res.stdout)
        assert len(rows) == expected and len({r["id"] for r in rows}) == expected
        assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
