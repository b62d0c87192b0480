"""The words of a suggestion: what the course offers for the point, shortened between words."""

from __future__ import annotations

from bot.i18n import shorten as _short
from bot.learning import course_angle

SUMMARY = (
    "Practise opening any write-up with the conclusion and the decision you need. "
    "You will be able to say no to low-value requests without damaging the relationship."
)


def test_the_summary_sentence_closest_to_the_point_is_the_angle() -> None:
    assert course_angle(SUMMARY, "I can't say no to requests") == (
        "You will be able to say no to low-value requests without damaging the relationship"
    )


def test_the_first_sentence_when_nothing_is_shared() -> None:
    assert course_angle(SUMMARY, "kubernetes").startswith("Practise opening any write-up")


def test_chinese_summary_and_query() -> None:
    zh = "练习先抛出核心结论，再用三条以内的论据支撑。学完后，你能把零散的想法组织成一段逻辑清晰、重点突出的表达。"
    assert (
        course_angle(zh, "我的想法很零散，表达没有重点") == "学完后，你能把零散的想法组织成一段逻辑清晰、重点突出的表达"
    )


def test_no_summary_no_angle() -> None:
    assert course_angle("", "anything") == "" and course_angle("   ", "x") == ""


def test_short_cuts_between_words_and_keeps_short_text() -> None:
    text = "I keep saying yes to every request and the important work slips to the evenings."
    out = _short(text, 60)
    assert out.endswith("…") and len(out) <= 60
    assert text.startswith(out[:-1]) and text[len(out) - 1] == " "  # the cut falls on a space
    assert _short("short one", 60) == "short one"
    assert _short("给领导汇报的时候我总是讲不清重点" * 5, 20) == ("给领导汇报的时候我总是讲不清重点" * 5)[:19] + "…"
