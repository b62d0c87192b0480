"""Catalog parsing: every kind of bad line is reported with its line number, and nothing is written."""

from __future__ import annotations

import json

import pytest

from knowledge.catalog import CatalogError, parse_catalog, shipped_catalog

GOOD = {
    "id": "c1",
    "title": "T",
    "summary": "S",
    "competencies": ["feedback"],
    "language": "en",
    "duration_minutes": 10,
    "format": "video",
    "url": "https://x.example/c1",
}


def _jsonl(*rows: dict) -> str:
    return "\n".join(json.dumps(r) for r in rows)


def test_shipped_catalog_is_valid() -> None:
    courses = shipped_catalog()
    assert len(courses) >= 150 and {c.language for c in courses} == {"en", "zh"}


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"id": ""}, "missing id"),
        ({"id": "c1"}, "duplicate id"),
        ({"competencies": ["telepathy"]}, "unknown competency"),
        ({"duration_minutes": -5}, "must be positive"),
        ({"duration_minutes": 0}, "must be positive"),
        ({"duration_minutes": "-3 min"}, "must be positive"),
        ({"duration_minutes": "ten"}, "number of minutes"),
        ({"duration_minutes": None}, "number of minutes"),
        ({"language": "fr"}, "bad language"),
        ({"language": ""}, "bad language"),
        ({"title": ""}, "missing title"),
        ({"id": "a|b"}, "bad id"),
        ({"url": "javascript:alert(1)"}, "url must start"),
        ({"duration_minutes": 1e20}, "over 10080"),
        ({"duration_minutes": 99999999999999999999}, "over 10080"),
        ({"title": {"en": "T"}}, "title must be text"),
        ({"summary": ["a", "b"]}, "summary must be text"),
    ],
)
def test_jsonl_bad_line_has_number_and_reason(bad: dict, reason: str) -> None:
    row = {**GOOD, "id": "c2", **bad}
    with pytest.raises(CatalogError) as err:
        parse_catalog(_jsonl(GOOD, {**GOOD, "id": "c0"}, row), "jsonl")
    assert err.value.line == 3 and reason in err.value.reason


def test_what_another_systems_export_has_is_tolerated() -> None:
    rows = [
        {**GOOD, "id": "course 1", "format": "Project practice", "tags": ["x"], "level": 2, "duration_minutes": 7.5},
        {**GOOD, "id": "c2", "format": "podcast", "language": "zh-CN", "duration_minutes": "15 min"},
        {**GOOD, "id": "课程-3", "format": "", "language": "EN", "duration_minutes": "20分钟"},
        {k: v for k, v in {**GOOD, "id": "c4"}.items() if k not in ("format", "summary", "url")},
    ]
    got = [(r.id, r.format, r.language, r.duration_minutes) for r in parse_catalog(_jsonl(*rows), "jsonl")]
    assert got == [
        ("course 1", "project", "en", 8),
        ("c2", "podcast", "zh", 15),
        ("课程-3", "article", "en", 20),
        ("c4", "article", "en", 10),
    ]
    csv_text = "id,title,language,duration_minutes,provider\nc1,T,zh,5,Acme\n"  # no format, summary, url columns
    [rec] = parse_catalog(csv_text, "csv")
    assert (rec.id, rec.format, rec.summary, rec.competencies) == ("c1", "article", "", ())


def test_every_bad_line_is_reported_at_once() -> None:
    text = (
        _jsonl(
            GOOD,
            {**GOOD, "id": ""},
            {**GOOD, "id": "c2"},
            {**GOOD, "id": "c3", "competencies": ["telepathy"]},
            {**GOOD, "id": "c2"},
        )
        + "\n{not json"
    )
    with pytest.raises(CatalogError) as err:
        parse_catalog(text, "jsonl")
    assert err.value.line == 2 and [(e.line, e.reason.split(":")[-1].strip()[:10]) for e in err.value.all] == [
        (2, "missing id"),
        (4, "unknown co"),
        (5, "duplicate "),
        (6, "not valid "),
    ]


def test_jsonl_broken_json_and_empty_competencies() -> None:
    with pytest.raises(CatalogError) as err:
        parse_catalog(_jsonl(GOOD) + "\n{not json", "jsonl")
    assert err.value.line == 2
    assert parse_catalog(_jsonl({**GOOD, "competencies": []}), "jsonl")[0].competencies == ()


CSV_HEAD = "id,title,summary,competencies,language,duration_minutes,format,url\n"


def test_csv_semicolon_competencies_and_bad_line_number() -> None:
    ok = CSV_HEAD + 'c1,T,"S, with comma",feedback;coaching,zh,5,article,\n'
    [rec] = parse_catalog(ok, "csv")
    assert rec.competencies == ("feedback", "coaching") and rec.language == "zh" and rec.duration_minutes == 5
    bad = ok + "c2,T,S,feedback;nope,en,5,video,\n"
    with pytest.raises(CatalogError) as err:
        parse_catalog(bad, "csv")
    assert err.value.line == 3 and "nope" in err.value.reason
    with pytest.raises(CatalogError) as err:
        parse_catalog(ok + ",T,S,,en,5,video,\n", "csv")
    assert (err.value.line, err.value.reason) == (3, "missing id")


def test_csv_carriage_returns_end_lines_or_stay_in_quoted_cells() -> None:
    # old Mac line endings (bare CR) are lines, and a bad one is named by its number
    cr = CSV_HEAD.rstrip("\n") + "\r" + "c1,T,S,feedback,en,5,video,\r" + "c2,T2,S,feedback,zh,5,article,\r"
    assert [r.id for r in parse_catalog(cr, "csv")] == ["c1", "c2"]
    with pytest.raises(CatalogError) as err:
        parse_catalog(cr + "c3,T3,S,feedback,en,-5,video,\r", "csv")
    assert err.value.line == 4 and "positive" in err.value.reason
    # a CR inside a quoted cell is part of the cell
    [rec] = parse_catalog(CSV_HEAD + 'c1,"T\rX",S,,en,5,video,\n', "csv")
    assert rec.title == "T\rX"
    # a bare CR inside an unquoted cell no longer escapes as csv.Error: the row is judged like any other
    with pytest.raises(CatalogError) as err:
        parse_catalog(CSV_HEAD + "\r0", "csv")
    assert err.value.line == 3 and "missing title" in err.value.reason
    # an unterminated quote is reported with a line, not as csv.Error
    with pytest.raises(CatalogError) as err:
        parse_catalog(CSV_HEAD + 'c1,"T,S,,en,5,video,\n', "csv")
    assert err.value.line >= 2


def test_a_bom_is_fine_and_a_non_utf8_file_names_its_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from knowledge.catalog import read_catalog

    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(GOOD).encode() + b"\n")
    assert [c.id for c in read_catalog(bom)] == ["c1"]
    gbk = tmp_path / "gbk.jsonl"
    zh = {**GOOD, "id": "c2", "title": "反馈", "language": "zh"}
    gbk.write_bytes(json.dumps(GOOD).encode() + b"\n" + json.dumps(zh, ensure_ascii=False).encode("gbk") + b"\n")
    with pytest.raises(CatalogError) as err:
        read_catalog(gbk)
    assert err.value.line == 2 and "UTF-8" in str(err.value)


def test_a_json_array_of_courses_is_read_and_its_bad_item_named_by_line() -> None:
    text = "[\n  " + json.dumps(GOOD) + ",\n  " + json.dumps({**GOOD, "id": "c2"}) + "\n]\n"
    assert [c.id for c in parse_catalog(text, "jsonl")] == ["c1", "c2"]
    bad = "[\n  " + json.dumps(GOOD) + ",\n\n  " + json.dumps({**GOOD, "id": "c2", "language": "fr"}) + "\n]"
    with pytest.raises(CatalogError) as err:
        parse_catalog(bad, "jsonl")
    assert err.value.line == 4 and "bad language" in err.value.reason
    with pytest.raises(CatalogError) as err:
        parse_catalog("[" + json.dumps(GOOD) + ", 3]", "jsonl")
    assert "expected a JSON object" in err.value.reason


def test_a_csv_quote_that_never_closes_is_named_where_it_opens() -> None:
    head = "id,title,summary,competencies,language,duration_minutes,format,url\n"
    text = head + "c1,T,s,feedback,en,10,article,https://x/1\n"
    text += 'c2,"unterminated,s,feedback,en,10,article,https://x/2\nc3,T,s,feedback,en,10,article,https://x/3\n'
    with pytest.raises(CatalogError) as err:
        parse_catalog(text, "csv")
    assert err.value.line == 3 and "quote opened on this line is not closed" in err.value.reason


def test_csv_header_names_are_read_in_any_case() -> None:
    text = "ID,Title,Summary,Competencies,Language,Duration_Minutes,Format,URL\n"
    text += "c1,T,s,feedback,EN,10,Article,https://x/1\n"
    (course,) = parse_catalog(text, "csv")
    assert (course.id, course.title, course.language, course.duration_minutes, course.url) == (
        "c1", "T", "en", 10, "https://x/1"
    )
