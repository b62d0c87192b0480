"""Redaction before LLM calls: identifiers become placeholders, and the model's placeholders come back restored."""

from __future__ import annotations

from bot.coach.redact import Person, Redactor, redactor_for
from storage.db import session_scope
from storage.people import upsert_person

PEOPLE = [Person("U0EMP2", "Priya Sharma"), Person("U0SAM", "Sam"), Person("U0EMPZH", "王芳"),
          Person("U0AL", "Al Brown")]


def red() -> Redactor:
    return Redactor(people=list(PEOPLE))


def test_email_phone_and_mention_are_replaced() -> None:
    r = red()
    out = r.redact("Mail me at erik.larsen+work@acme.example or call +49 170 1234567; ask <@U0EMP2> too.")
    assert "acme.example" not in out and "1234567" not in out and "<@" not in out
    assert "[EMAIL_1]" in out and "[PHONE_1]" in out and "[PERSON_1]" in out


def test_a_mention_and_the_name_of_the_same_person_share_a_placeholder() -> None:
    r = red()
    out = r.redact("<@U0EMP2|priya> helped. Priya Sharma is great, and Priya knows it.")
    assert out == "[PERSON_1] helped. [PERSON_1] is great, and [PERSON_1] knows it."
    assert r.restore("Thank [PERSON_1].") == "Thank Priya Sharma."


def test_names_match_whole_words_only_and_case_matters_for_first_names() -> None:
    r = red()
    assert r.redact("Samuel said the same thing as Sam.") == "Samuel said the same thing as [PERSON_1]."
    assert r.redact("al dente, Al said") == "al dente, Al said"  # a two-letter first name alone is too ambiguous
    assert r.redact("Al Brown said") == "[PERSON_2] said"


def test_chinese_names_are_replaced_inside_running_text() -> None:
    r = red()
    assert r.redact("我和王芳一起做了复盘。") == "我和[PERSON_1]一起做了复盘。"
    assert r.restore("感谢[PERSON_1]的配合") == "感谢王芳的配合"


def test_urls_with_secrets_are_replaced_and_plain_urls_kept() -> None:
    r = red()
    out = r.redact("See https://wiki.acme.example/page and https://x.example/a?access_token=abc123&x=1 "
                   "and <https://u:p@host.example/x|link>")
    assert "https://wiki.acme.example/page" in out
    assert "abc123" not in out and "u:p@" not in out
    assert out.count("[URL_") == 2


def test_dates_years_and_small_numbers_are_not_phones() -> None:
    r = red()
    text = "In 2024 we hit 60% by 2024-03-05, and 3 of 12 targets; ticket 4521."
    assert r.redact(text) == text


def test_restore_leaves_unknown_placeholders_and_is_stable_across_texts() -> None:
    r = red()
    a = r.redact("Priya Sharma and Sam")
    b = r.redact("Sam then Priya Sharma")
    assert a == "[PERSON_1] and [PERSON_2]" and b == "[PERSON_2] then [PERSON_1]"
    assert r.restore("[PERSON_2] and [PERSON_9]") == "Sam and [PERSON_9]"


def test_redactor_reads_names_from_the_people_table(sqlite_services) -> None:  # type: ignore[no-untyped-def]
    with session_scope(sqlite_services.engine) as s:
        upsert_person(session=s, slack_id="U1", name="Maria Keller", locale="en", timezone="UTC")
        upsert_person(session=s, slack_id="U2", name="李伟", locale="zh", timezone="UTC")
    r = redactor_for(sqlite_services.engine)
    assert r.redact("Maria asked 李伟 and <@U1>") == "[PERSON_1] asked [PERSON_2] and [PERSON_1]"
