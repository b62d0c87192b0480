from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
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


def test_cue_scale_weighs_only_the_cue_columns_and_old_models_keep_full_cues(tmp_path: Path) -> None:
    from bot.coach.gap_model import GapModel, comp_features, load_gap_model

    emb, hits = np.full((1, 4), 0.5), np.array([[3.0, 1.0, 0.0]])
    full, small = comp_features(emb, hits), comp_features(emb, hits, 0.1)
    assert full[0].tolist() == [0.5] * 4 + [1.0, 0.5, 0.0, 1.0]  # capped at 2 hits, halved, then the bias
    assert np.allclose(small[0, 4:7], 0.1 * full[0, 4:7]) and (small[0, :4] == full[0, :4]).all()
    path = tmp_path / "model.npz"
    GapModel(np.zeros(3), np.zeros((8, 3)), ["a", "b", "c"], 0.5, mix={"knn": 1.0, "temp": 0.05, "k": 3.0}).save(path)
    assert load_gap_model(path).mix["cue_scale"] == 1.0  # a model saved before the scale existed


def test_scored_candidates_are_aligned_and_the_points_come_from_them(coach: OfflineCoach) -> None:
    story, competency = STORY_GAPS[1]
    answers = [*NOT_GAPS[:3], _q(story, "goal_progress_02")]
    scored = coach.score_candidates(answers, EMP)
    assert scored is not None
    n = len(scored.cands)
    assert scored.proba.shape == scored.scores.shape == scored.rule.shape == (n,)
    assert scored.post.shape == (n, 12) and np.allclose(scored.post.sum(axis=1), 1.0)
    i = next(i for i, c in enumerate(scored.cands) if c.sentence == story)
    assert coach.matcher.model.ids[int(scored.post[i].argmax())] == competency
    assert coach.score_candidates([], EMP) is None


@pytest.mark.parametrize(
    ("sentence", "others_only"),
    [
        ("My colleague on the billing team keeps missing deadlines; her manager is on it.", True),
        ("He rarely replies to the vendor on time.", True),
        ("同事总是拖到最后一天才交材料。", True),
        ("A colleague keeps missing deadlines and I cover for him instead of telling him.", False),
        ("同事总是拖到最后一天，我每次都替他补上。", False),
        ("I keep missing deadlines.", False),
        ("Priya is struggling with slow SQL queries though - that's hers, not mine.", True),
        ("That deadline was his, and it slipped twice.", True),
        ("The mistake was mine, not hers.", False),
        ("It was not my fault, but I still missed it.", False),
    ],
)
def test_sentences_about_someone_else_only(sentence: str, others_only: bool) -> None:
    from bot.coach.gaps import about_others_only

    assert about_others_only(sentence) is others_only


# Explicit first-person gaps: the sentence says what the skill is. None is in the training or evaluation data.
EXPLICIT_GAPS = [
    ("I struggle to present the roadmap to the leadership team; my slides never land.", "communication"),
    ("I'm not good at delegating; I end up redoing my team's work myself.", "coaching"),
    ("I find it hard to work out which of my tasks matter most each morning.", "planning"),
    ("我不擅长在评审会上把方案讲清楚，大家总是听不明白。", "communication"),
    ("我不太会看数据，报表里的指标变化我解释不了。", "data_analysis"),
    ("我不擅长给组员提改进意见，总怕他们不高兴。", "feedback"),
]


@pytest.mark.parametrize("question", ["opening_01", "behaviour_capability_01", "behaviour_capability_10"])
@pytest.mark.parametrize(("text", "competency"), EXPLICIT_GAPS, ids=lambda v: str(v)[:24])
def test_explicit_first_person_gaps_get_their_competency(
    coach: OfflineCoach, text: str, competency: str, question: str
) -> None:
    # behaviour_capability_01 invites a strength ("when were you at your best?"): outright gap language still counts
    points = coach.find_points([_q(text, question)], EMP)
    assert [p.competency for p in points] == [competency]
    assert points[0].evidence in text


def test_the_clause_that_names_the_skill_speaks_for_its_answer(coach: OfflineCoach) -> None:
    """One point per answer; of its sentences that make a point, the clearest one is shown, not merely the one
    that reads most like a gap (here the vague second clause, whose competency is ambiguous)."""
    text, competency = EXPLICIT_GAPS[0]
    scored = coach.score_candidates([_q(text, "opening_01")], EMP)
    assert scored is not None and len(scored.cands) == 2
    (point,) = coach.find_points([_q(text, "opening_01")], EMP)
    assert point.competency == competency and point.evidence == scored.cands[0].sentence


@pytest.mark.parametrize(
    "text",
    [
        "My teammate struggles to present to the leadership team and her slides never land.",
        "He is not good at delegating and keeps redoing everyone's work.",
        "同事汇报的时候总是讲不清重点，领导经常听不明白。",
        "I'm good at presenting to the leadership team; my slides always land.",
        "I'm really good at delegating, my reports own their projects end to end.",
        "我很擅长在评审会上讲方案，大家都说思路清楚。",
    ],
)
def test_a_colleagues_gap_or_a_strength_is_no_point(coach: OfflineCoach, text: str) -> None:
    for question in ("opening_01", "behaviour_capability_01"):
        assert coach.find_points([_q(text, question)], EMP) == []


@pytest.mark.parametrize(
    "text",
    [
        "I'm good at presenting to the leadership team; my slides always land.",
        "I'm really good at delegating, my reports own their projects end to end.",
        "我很擅长在评审会上讲方案，大家都说思路清楚。",
        "Honestly nothing felt hard; the migration went really smoothly.",
    ],
)
def test_a_strength_given_to_a_difficulty_question_is_no_point(coach: OfflineCoach, text: str) -> None:
    # "Which part of your work felt harder than it should?" invites a gap story (a prior on the score); a strength
    # said outright does not get that prior
    assert coach.find_points([_q(text, "behaviour_capability_10")], EMP) == []


@pytest.mark.parametrize(
    ("sentence", "strength"),
    [
        ("I'm good at presenting to the leadership team", True),
        ("I'm not good at presenting to the leadership team", False),
        ("Writing specs is one of my strengths", True),
        ("I'm good at coding but I struggle to estimate", False),
        ("我很擅长跟客户沟通", True),
        ("我不太擅长跟客户沟通", False),
        ("做预算不是我的强项", False),
        ("It never went well with that client", False),
    ],
)
def test_strengths_said_outright(sentence: str, strength: bool) -> None:
    from bot.coach.gaps import sounds_strength

    assert sounds_strength(sentence) is strength


def test_a_reason_names_the_words_or_the_telling_never_a_score() -> None:
    from bot.coach.offline import point_reason
    from knowledge.competencies import load_competency_model

    model = load_competency_model()
    told = point_reason(model, "communication", "By slide four the VP is looking at her phone.", "en")
    assert told == "the way it is told reads as something still to work on, about communication"
    cued = point_reason(model, "planning", "I keep saying yes to every request.", "en")
    assert cued.startswith("gap language “i keep saying”")
    zh = point_reason(model, "data_analysis", "数据一多我就不知道从哪下手分析。", "zh")
    assert zh == "出现差距表述“不知道从哪”，与“数据分析”相关"
    assert not any(ch.isdigit() for ch in told + cued + zh)


def test_a_point_names_the_behaviour_to_practise_closest_to_what_was_said(coach: OfflineCoach) -> None:
    from bot.coach.offline import growth_focus

    analysis = "Starts from a question or hypothesis before opening the data."
    assert growth_focus(coach, "data_analysis", "数据一多我就不知道从哪下手分析。", "en") == analysis
    zh = growth_focus(coach, "data_analysis", "数据一多我就不知道从哪下手分析。", "zh")
    assert zh == "先提出问题或假设，再去看数据。"
    partners = growth_focus(coach, "collaboration", "Dependencies on the platform team keep surprising us late.", "en")
    assert partners == "Brings partner teams in at the start rather than at hand-off."
    assert growth_focus(coach, "no_such_competency", "anything", "en") is None
    assert growth_focus(OfflineCoach(embed=None), "data_analysis", "数据一多我就不知道从哪下手分析。", "en") is None
