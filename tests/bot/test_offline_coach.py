from __future__ import annotations

from types import SimpleNamespace

import pytest

from bot.coach.gaps import gap_signal, sentences
from bot.coach.offline import OfflineCoach

EMP, MGR = "U_E", "U_M"


def _a(text: str, author: str = EMP) -> SimpleNamespace:
    return SimpleNamespace(text=text, author_slack_id=author, question_id="opening_01")


@pytest.fixture(scope="module")
def coach() -> OfflineCoach:
    return OfflineCoach()


@pytest.mark.parametrize(
    "sentence",
    [
        "Presenting to leadership is no longer a problem for me.",
        "I ran the customer interviews myself and they went really well.",
        "沟通方面现在没什么困难了。",
        "The other team struggles with planning.",
        "My tech lead struggles with giving feedback.",
    ],
)
def test_strengths_negations_and_others_are_not_gaps(sentence: str) -> None:
    assert gap_signal(sentence, author_is_manager=False) is None


@pytest.mark.parametrize(
    "sentence",
    [
        "I struggle to explain the roadmap.",
        "I'm not confident reading the numbers yet.",
        "给领导汇报时我总是讲不清重点。",
        "数据分析我还需要提升。",
    ],
)
def test_gap_language_is_found(sentence: str) -> None:
    sig = gap_signal(sentence, author_is_manager=False)
    assert sig is not None and sig.about_employee


def test_manager_sentence_counts_only_when_about_the_employee() -> None:
    assert gap_signal("I'd like to see her push back on scope more.", author_is_manager=True) is not None
    assert gap_signal("I struggle to find time for one-on-ones.", author_is_manager=True) is None


def test_points_have_competency_verbatim_evidence_and_one_per_competency(coach: OfflineCoach) -> None:
    answers = [
        _a("Good month. I struggle to present the roadmap to execs; my slides ramble."),
        _a("I keep saying yes to every request and the important work slips."),
        _a("I also struggle with presenting in all-hands."),
    ]
    points = coach.find_points(answers, EMP)
    comps = [p.competency for p in points]
    assert "communication" in comps and "planning" in comps and len(comps) == len(set(comps))
    assert all(any(p.evidence in a.text for a in answers) for p in points)
    assert all(0 < p.confidence <= 1 and p.reason for p in points)


def test_zh_points(coach: OfflineCoach) -> None:
    points = coach.find_points([_a("数据一多我就不知道从哪下手分析。"), _a("这周挺顺利的。")], EMP)
    assert [p.competency for p in points] == ["data_analysis"]


def test_nothing_to_find_in_strengths_only(coach: OfflineCoach) -> None:
    assert coach.find_points([_a("The launch went really well and I'm proud of the team."), _a("")], EMP) == []


def test_huge_and_emoji_answers_do_not_crash(coach: OfflineCoach) -> None:
    coach.find_points([_a("😀" * 5000), _a("I struggle. " * 5000)], EMP)
    assert len(sentences("a" * 100_000)) <= 1


def test_prototypes_are_built_once_under_concurrency() -> None:
    import threading

    from bot.coach.offline import CompetencyMatcher, default_embedder

    m = CompetencyMatcher(embed=default_embedder())
    threads = [threading.Thread(target=m.similarity, args=(["I struggle to present"],)) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    protos = m._prototypes()
    assert protos is not None and len(m._proto_owner) == protos.shape[0]
    assert m.similarity(["slides"]) is not None
