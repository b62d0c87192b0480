"""Course catalogs in the contract format (JSONL or CSV): parsing with line numbers.

Fields: `id,title,summary,competencies,language,duration_minutes,format,url`. `competencies` is a list in
JSONL and `;`-separated in CSV. A file is accepted whole or not at all: every bad line (up to 20) is reported
with its number and the reason. Rejected: a missing or duplicate id, an id with `|` or control characters, a missing
title, an unknown competency, a language other than en/zh, a duration that is no positive number, a url that is
not http(s). Tolerated, as another system's export has them: fields beyond the contract's (ignored), any format
word (the five known ones and their common spellings are normalised: "project practice" is `project`), a
language tag like `zh-CN`, a fractional or "15 min" duration (rounded up to whole minutes).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from knowledge.competencies import load_competency_model

SHIPPED_CATALOG = Path(__file__).parent / "data" / "catalog.jsonl"
FIELDS = ("id", "title", "summary", "competencies", "language", "duration_minutes", "format", "url")
LANGUAGES = ("en", "zh")
_ID = re.compile(r"^[^|\x00-\x1f\x7f]{1,128}$")  # `|` separates the fields of a button's value
# Other spellings of the five known formats (video, article, exercise, mentoring, project); any other word is kept.
_FORMAT_WORDS = {
    "project_practice": "project",
    "practice": "project",
    "practical_project": "project",
    "projects": "project",
    "videos": "video",
    "exercises": "exercise",
    "mentor": "mentoring",
    "mentorship": "mentoring",
    "articles": "article",
    "reading": "article",
    "视频": "video",
    "文章": "article",
    "练习": "exercise",
    "导师": "mentoring",
    "导师辅导": "mentoring",
    "项目实践": "project",
}
_MINUTES = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(?:m|min|mins|minutes?|分钟)?\s*$", re.I)


class CatalogError(ValueError):
    """A bad catalog line: `line` is 1-based (the CSV header is line 1)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason
        self.all: list[CatalogError] = [self]  # every bad line found, this one first (see `parse_catalog`)


@dataclass(frozen=True)
class CourseRecord:
    """One validated catalog entry."""

    id: str
    title: str
    summary: str
    competencies: tuple[str, ...] = field(default_factory=tuple)
    language: str = "en"
    duration_minutes: int = 10
    format: str = "article"
    url: str = ""

    @property
    def text(self) -> str:
        """What is embedded and indexed: the title, then the summary."""
        return f"{self.title}. {self.summary}".strip()

    @property
    def content_hash(self) -> str:
        """Changes whenever anything that is indexed or shown changes (so unchanged courses are not re-embedded)."""
        payload = json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def _int_minutes(value: object) -> int:
    """Whole minutes (a fraction rounds up; "15 min" and "15分钟" are 15); ValueError when it is no number."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return math.ceil(value)
    if isinstance(value, str) and (m := _MINUTES.match(value)):
        return math.ceil(float(m.group(1)))
    raise ValueError


def _format(value: object) -> str:
    word = re.sub(r"[\s-]+", "_", str(value or "").strip().lower())
    return _FORMAT_WORDS.get(word, word) or "article"


def _language(value: object) -> str:
    tag = str(value or "").strip().lower().replace("_", "-")
    primary = tag.split("-", 1)[0]
    return primary if primary in LANGUAGES else tag


def validate_row(row: dict[str, object], line: int, known: set[str]) -> CourseRecord:
    """Turn one raw row into a CourseRecord or raise CatalogError naming the line and the reason."""
    for name in ("id", "title", "summary", "url", "format"):
        if isinstance(row.get(name), dict | list):
            raise CatalogError(line, f"{name} must be text, got {type(row[name]).__name__}")
    cid = str(row.get("id") or "").strip()
    if not cid:
        raise CatalogError(line, "missing id")
    if not _ID.match(cid):
        raise CatalogError(line, f"bad id {cid!r} (at most 128 characters, no | or control characters)")
    title = str(row.get("title") or "").strip()
    if not title:
        raise CatalogError(line, f"course {cid}: missing title")
    comps = row.get("competencies")
    if comps is None or comps == "":
        comp_list: list[str] = []
    elif isinstance(comps, str):
        comp_list = [c.strip() for c in comps.split(";") if c.strip()]
    elif isinstance(comps, list) and all(isinstance(c, str) for c in comps):
        comp_list = [c.strip() for c in comps if c.strip()]
    else:
        raise CatalogError(line, f"course {cid}: competencies must be a list of ids")
    for c in comp_list:
        if c not in known:
            raise CatalogError(line, f"course {cid}: unknown competency {c!r}")
    language = _language(row.get("language"))
    if language not in LANGUAGES:
        raise CatalogError(line, f"course {cid}: bad language {language!r} (en or zh)")
    try:
        minutes = _int_minutes(row.get("duration_minutes"))
    except ValueError:
        raise CatalogError(
            line, f"course {cid}: duration_minutes must be a number of minutes, got {row.get('duration_minutes')!r}"
        ) from None
    if minutes <= 0:
        raise CatalogError(line, f"course {cid}: duration_minutes must be positive, got {minutes}")
    if minutes > MAX_MINUTES:  # 1e20 would not even fit the database's integer column
        raise CatalogError(line, f"course {cid}: duration_minutes {minutes} is over {MAX_MINUTES} (a week of minutes)")
    fmt = _format(row.get("format"))
    url = str(row.get("url") or "").strip()
    if url and not url.startswith(("http://", "https://")):
        raise CatalogError(line, f"course {cid}: url must start with http:// or https://")
    summary = str(row.get("summary") or "").strip()
    return CourseRecord(cid, title, summary, tuple(dict.fromkeys(comp_list)), language, minutes, fmt, url)


def _jsonl_rows(text: str) -> Iterable[tuple[int, dict[str, object] | CatalogError]]:
    if text.lstrip().startswith("["):  # a JSON array of courses (a .json export) rather than JSON Lines
        yield from _json_array_rows(text)
        return
    for n, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield n, CatalogError(n, f"not valid JSON ({exc.msg})")
            continue
        yield n, row if isinstance(row, dict) else CatalogError(n, "expected a JSON object")


def _json_array_rows(text: str) -> Iterable[tuple[int, dict[str, object] | CatalogError]]:
    """The courses of a JSON array, each numbered by the line its object starts on."""
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        yield exc.lineno, CatalogError(exc.lineno, f"not valid JSON ({exc.msg}); expected JSON Lines or a JSON array")
        return
    decoder, pos = json.JSONDecoder(), text.index("[") + 1
    for item in items:
        while text[pos] in " \t\r\n,":
            pos += 1
        line = text.count("\n", 0, pos) + 1
        _, pos = decoder.raw_decode(text, pos)
        yield line, item if isinstance(item, dict) else CatalogError(line, "expected a JSON object")


def _csv_rows(text: str) -> Iterable[tuple[int, dict[str, object] | CatalogError]]:
    # newline="": the csv module sees the file's own line endings, so a bare CR (old Mac files) ends a line and
    # a CR inside a quoted cell stays part of the cell, instead of raising csv.Error mid-file
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in (reader.fieldnames or [])]  # "ID,Title" from a spreadsheet is fine
    except csv.Error as exc:
        raise CatalogError(max(reader.line_num, 1), f"malformed CSV header ({exc})") from None
    missing = [f for f in ("id", "title", "language", "duration_minutes") if f not in header]
    if missing:
        raise CatalogError(1, f"CSV header lacks {', '.join(missing)} (expected {','.join(FIELDS)})")
    reader.fieldnames = header
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CatalogError(max(reader.line_num, 1), f"malformed CSV ({exc})") from None
        if None in row:
            yield reader.line_num, CatalogError(reader.line_num, "more cells than header columns")
            continue
        if any(v is None for v in row.values()) and any("\n" in (v or "") for v in row.values()):
            # fewer cells than columns, one of them spanning lines: a quote that never closes swallowed the rest
            yield start, CatalogError(start, "a quote opened on this line is not closed")
            return
        if not any((v or "").strip() for v in row.values()):
            continue
        yield reader.line_num, {k: v for k, v in row.items()}


MAX_REPORTED = 20  # bad lines listed in one refusal
MAX_MINUTES = 10_080


def parse_catalog(text: str, fmt: str) -> list[CourseRecord]:
    """Parse a whole catalog (`fmt` is "jsonl" or "csv"). Any bad line raises CatalogError for the first one, with
    every bad line found (up to MAX_REPORTED) in its `all`, so one run shows what to fix; nothing is returned."""
    known = set(load_competency_model().ids)
    text = text.lstrip("\ufeff")  # a file saved "UTF-8 with BOM" (Excel, Notepad) is still UTF-8
    rows = _jsonl_rows(text) if fmt == "jsonl" else _csv_rows(text)
    seen: dict[str, int] = {}
    out: list[CourseRecord] = []
    bad: list[CatalogError] = []
    for line, row in rows:
        try:
            if isinstance(row, CatalogError):
                raise row
            rec = validate_row(row, line, known)
            if rec.id in seen:
                raise CatalogError(line, f"duplicate id {rec.id!r} (first on line {seen[rec.id]})")
        except CatalogError as exc:
            bad.append(exc)
            if len(bad) >= MAX_REPORTED:
                break
            continue
        seen[rec.id] = line
        out.append(rec)
    if bad:
        bad[0].all = bad
        raise bad[0]
    return out


def read_catalog(path: Path) -> list[CourseRecord]:
    """Read a .jsonl/.json or .csv catalog file."""
    fmt = "csv" if path.suffix.lower() == ".csv" else "jsonl"
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:  # GBK or UTF-16, say: name the line, as for any other bad line
        raise CatalogError(raw[: exc.start].count(b"\n") + 1, "not UTF-8 text (save the file as UTF-8)") from None
    return parse_catalog(text, fmt)


def shipped_catalog() -> list[CourseRecord]:
    """The catalog that ships with GrowthLoop."""
    return read_catalog(SHIPPED_CATALOG)
