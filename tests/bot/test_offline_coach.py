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


def _q(text: str, question_id: str, author: str = EMP) -> SimpleNamespace:
    return SimpleNamespace(text=text, author_slack_id=author, question_id=question_id)


# Gaps in check-in answers; none of these sentences is in the training or evaluation data.
STORY_GAPS = [
    ("I struggle to present our roadmap to the executives.", "communication"),  # the audience is not the skill
    (
        "I built the booking screen around what head office wanted and never once watched a receptionist use it.",
        "customer_insight",
    ),
]


@pytest.mark.parametrize(("story", "competency"), STORY_GAPS)
def test_story_told_gaps_are_found_with_their_competency(coach: OfflineCoach, story: str, competency: str) -> None:
    answers = [_q("Busy few weeks, mostly the quarterly numbers.", "opening_01"), _q(story, "goal_progress_02")]
    points = coach.find_points(answers, EMP)
    assert [(p.competency, p.evidence) for p in points] == [(competency, story)]


NOT_GAPS = [
    _q("I'm no longer struggling with the month-end close, the new checklist sorted it out.", "goal_progress_02"),
    _q("My colleague on the billing team keeps missing deadlines; her manager is on it.", "goal_progress_09"),
    _q("以前给客户做演示很紧张，现在已经很自然了。", "behaviour_capability_07"),
    _q("I've been slow to review your drafts lately, that one is on me.", "support_02", MGR),
    _q("Next year I'd like to lead the launch of the Lisbon office.", "development_focus_09"),
    _q("上周我带着新人把整套对账流程走了一遍，他现在能自己做了。", "behaviour_capability_01"),
]


@pytest.mark.parametrize("answer", NOT_GAPS, ids=lambda a: a.text[:24])
def test_strengths_resolved_others_goals_and_manager_self_remarks_are_not_points(
    coach: OfflineCoach, answer: SimpleNamespace
) -> None:
    assert coach.find_points([answer], EMP) == []


def test_a_story_among_strengths_and_negatives_is_the_only_point(coach: OfflineCoach) -> None:
    story, competency = STORY_GAPS[1]
    answers = [*NOT_GAPS, _q(story, "behaviour_capability_05")]
    assert [(p.competency, p.evidence) for p in coach.find_points(answers, EMP)] == [(competency, story)]


def test_question_topic_comes_from_the_bank_or_the_id() -> None:
    from bot.coach.offline import question_topic

    assert question_topic("development_focus_02") == "development_focus"
    assert question_topic("custom_topic_07") == "custom_topic"
    assert question_topic(None) == ""


def test_concurrent_analyses_agree_with_a_sequential_one(coach: OfflineCoach) -> None:
    from concurrent.futures import ThreadPoolExecutor

    stories = [s for s, _ in STORY_GAPS] + ["I struggle with my slides.", "数据一多我就不知道从哪下手分析。"]
    batches = [[_q(story, "goal_progress_02"), *NOT_GAPS[:2]] for story in stories]
    expected = [[(p.competency, p.evidence) for p in coach.find_points(b, EMP)] for b in batches]
    fresh = OfflineCoach()  # its matcher and model are loaded lazily by the threads themselves
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda b: [(p.competency, p.evidence) for p in fresh.find_points(b, EMP)], batches * 2))
    assert got == expected * 2


def test_shipped_model_has_a_neighbour_bank_for_every_competency() -> None:
    from bot.coach.gap_model import load_gap_model
    from knowledge.competencies import load_competency_model

    model = load_gap_model()
    assert model is not None and model.competencies == load_competency_model().ids
    assert len(model.bank) == len(model.bank_labels) and set(model.bank_labels.tolist()) == set(range(12))


@pytest.mark.parametrize(
    "text",
    [
        "I struggle to prioritise when three stakeholders ask for things on the same day, and I end up working late.",
        "我在跨团队会议上常常不敢提出不同意见，这是我自己要改进的地方。",
    ],
)
def test_a_managers_own_gap_is_never_the_employees_point(coach: OfflineCoach, text: str) -> None:
    assert coach.find_points([_q(text, "behaviour_capability_02", MGR)], EMP) == []
    assert coach.find_points([_q(text, "behaviour_capability_02", EMP)], EMP) != []  # the employee's words: a point
