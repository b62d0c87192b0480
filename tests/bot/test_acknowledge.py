"""Acknowledge first, then explore: the line before the next question follows what the answer sounds like."""

from __future__ import annotations

import pytest

from bot.coach.acknowledge import VARIANTS, Tone, acknowledgement, answer_tone
from bot.i18n import t


@pytest.mark.parametrize(
    ("text", "tone"),
    [
        ("I keep saying yes to every request and the important work slips.", Tone.GAP),
        ("Honestly I'm not confident when I present to the board.", Tone.GAP),
        ("给领导汇报的时候我总是讲不清重点。", Tone.GAP),
        ("I'd like to get better at running workshops.", Tone.GOAL),
        ("想练习怎么把汇报讲得更有条理。", Tone.GOAL),
        ("We're at 60% of the goal; the pricing experiment is the blocker.", Tone.OBSTACLE),
        ("Honestly I'm burned out.", Tone.OBSTACLE),
        ("最近压力很大，经常加班。", Tone.OBSTACLE),
        ("The onboarding revamp shipped and activation is up a bit.", Tone.POSITIVE),
        ("这几周挺充实的，新版本按时上线了。", Tone.POSITIVE),
        # a problem now solved is progress, though it names a difficulty
        ("跨团队协调这块以前很难推，现在建了固定周会，基本不会卡了。", Tone.POSITIVE),
        ("Presenting used to be hard for me, now it isn't.", Tone.POSITIVE),
        # negations: "no problem" is not an obstacle, "not great" is not progress
        ("No problem at all this sprint.", Tone.POSITIVE),
        ("没有问题，一切正常。", Tone.NEUTRAL),
        ("Not great, to be honest.", Tone.GAP),
        ("Some time with the data team would help.", Tone.NEUTRAL),  # a request: no "nice work"
        ("Running a smaller project end to end would be a good stretch.", Tone.NEUTRAL),
        ("The policy refresh is done. The survey follow-up is where I'm behind.", Tone.OBSTACLE),
        ("I havent done any of the training modules.", Tone.NEUTRAL),  # negated "done", even without the apostrophe
        ("We found three pain points nobody had written down before.", Tone.NEUTRAL),
        ("线上学习平台本来说三月上线，现在还没定日子。", Tone.OBSTACLE),
        # what the audit found read wrongly: negations further back, habits that are strengths, short answers
        ("Nothing is going well.", Tone.NEUTRAL),
        ("一般般，没什么进展。", Tone.NEUTRAL),
        ("I always hit my deadlines.", Tone.NEUTRAL),
        ("I keep saying yes and the important work slips to the evenings.", Tone.GAP),
        ("I don't know.", Tone.NEUTRAL),
        ("我的目标是完成迁移。", Tone.NEUTRAL),
        ("希望能有一位资深同事带我做一次容量规划。", Tone.NEUTRAL),
    ],
)
def test_tone_of_an_answer(text: str, tone: Tone) -> None:
    assert answer_tone(text) == tone


def test_a_gap_anywhere_in_the_answer_outweighs_the_good_news() -> None:
    text = "The launch went really well. But I struggle to say no when sales asks for extras."
    assert answer_tone(text) == Tone.GAP


@pytest.mark.parametrize("locale", ["en", "zh", "zh-CN", None])
def test_the_line_is_in_the_answerers_language_and_stable(locale: str | None) -> None:
    text = "I struggle to say no when sales asks for extras."
    line = acknowledgement(text, locale)
    options = {t(f"checkin_ack_gap_{v}", locale) for v in range(VARIANTS)}
    assert line in options
    assert acknowledgement(text, locale) == line  # a retry that posts the question again says the same


def test_consecutive_questions_never_repeat_a_wording() -> None:
    text = "I struggle to say no when sales asks for extras."
    lines = [acknowledgement(text, "en", turn=n) for n in range(1, 7)]
    assert all(a != b for a, b in zip(lines, lines[1:], strict=False)) and len(set(lines)) == VARIANTS
    assert acknowledgement(text, "en", turn=4) == lines[3]  # the same question again (a retry): the same line


def test_wordings_vary_between_answers() -> None:
    lines = {acknowledgement(f"Thanks, the sprint was fine number {i}.", "en") for i in range(30)}
    assert len(lines) == VARIANTS


@pytest.mark.parametrize("text", ["", " ", "x"])
def test_no_line_for_an_empty_answer(text: str) -> None:
    assert acknowledgement(text, "en") is None


def test_long_or_odd_answers_get_a_line() -> None:
    assert acknowledgement("🙂🙂🙂", "en") in {t(f"checkin_ack_neutral_{v}", "en") for v in range(VARIANTS)}
    assert acknowledgement("word " * 5000, "zh") is not None
