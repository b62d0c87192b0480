"""Acknowledge first, then explore: one short line, in the answerer's language, before the next question.

Pure and offline (regexes only, no model), so every answer pays microseconds for it. The line follows what the
answer sounds like: a difficulty the person names as their own is thanked for its candour, an obstacle is
recognised, progress or a solved problem is welcomed, anything else gets a plain thank-you. The choice among a
kind's wordings follows the question's number (or a hash of the answer), so a Slack retry that posts the question
again posts the same line, and consecutive lines differ.
"""

from __future__ import annotations

import re
import zlib
from enum import StrEnum

from bot.coach.gaps import _is_zh, gap_signal, sentences, sounds_resolved, sounds_strength
from bot.i18n import norm_locale, t


class Tone(StrEnum):
    GOAL = "goal"  # something the person wants to learn or get better at ("I'd like to get better at…", "想练习…")
    GAP = "gap"  # a capability the person says they still lack ("I keep saying yes…", "我总是讲不清重点")
    OBSTACLE = "obstacle"  # something in the way ("the pricing experiment is the blocker", "卡在数据库迁移上")
    POSITIVE = "positive"  # progress, a strength, a problem now solved
    NEUTRAL = "neutral"


_EN_GOAL = re.compile(
    r"\b(i'?d (really )?(like|love) to|i want to|i'?m keen to|i'?m hoping to|hoping to|i plan to|my goal is to|"
    r"i'?d like to get) (get better|improve|learn|practi[cs]e|work on|build|grow|develop|strengthen|become)\b",
    re.I,
)
_ZH_GOAL = ("想练", "想学", "想提升", "想提高", "希望提升", "希望提高", "希望学", "打算练", "打算学", "想加强", "想把")
_EN_OBSTACLE = re.compile(
    r"\b(block(er|ers|ed|ing)|stuck|slipp(ed|ing)|behind (schedule|plan|on)|(fell|falling|i'?m|we'?re) behind|"
    r"delay(ed|s)?|hard|difficult|tough|"
    r"frustrat\w*|worr(y|ied|ying)|stress(ed|ful)?|overwhelm\w*|burn(ed|t)? out|exhaust\w*|struggl\w*|"
    r"problem|issue|risk|late|missed|fail(ed|ing)?|can'?t|couldn'?t|unclear|confus\w*|no time|no idea|"
    r"complain\w*|upset|annoyed|angry|rework|redo|wrong|mistake|bug|broke|broken|outage|escalat\w*|"
    r"stopped|lost|cancel\w*)\b",
    re.I,
)
_ZH_OBSTACLE = (
    *("卡在", "卡住", "阻力", "阻碍", "拖", "延期", "来不及", "压力", "焦虑", "担心", "困难", "很难", "难推"),
    *("不顺", "出问题", "有问题", "问题是", "风险", "没时间", "忙不过来", "累", "迷茫", "不清楚"),
    *("搞不定", "失败", "落后"),
    *("还没", "没人", "不知道", "投诉", "返工", "出错", "错了", "故障", "抱怨", "催", "一直在问"),
)
_EN_POSITIVE = re.compile(
    r"\b(went (really |very |pretty )?well|going well|shipped|launched|released|delivered|finished|completed|"
    r"done|proud|great|good|excited|enjoy(ed|ing)?|lov(e|ed|ing)|progress|on track|improv(ed|ing)|"
    r"better|won|up (a bit|by|\d)|happy|glad|helpful|useful|thanks|thank you|learned|learnt)\b",
    re.I,
)
_ZH_POSITIVE = (
    *("顺利", "上线", "完成", "充实", "收获", "开心", "满意", "进展", "不错", "很好", "做到了", "提升了"),
    *("成就感", "按时", "搞定", "突破", "进步", "喜欢", "谢谢", "有帮助", "学到", "达成", "超额"),
)
# A request or a wish for support ("…would help", "希望能…") is neither progress nor a problem: a plain thank-you.
_EN_REQUEST = re.compile(
    r"\b(would (really )?(help|be (good|great|useful|helpful|nice|a good))|could use|i'?d need|i need|"
    r"it'?d help|would love)\b",
    re.I,
)
_ZH_REQUEST = ("希望", "需要", "如果能", "想要", "能不能", "会有帮助", "目标是", "打算", "计划", "准备")
_EN_INTENT = re.compile(
    r"\b(my goal is|our goal is|i plan to|we plan to|i'?m going to|we'?re going to|i will|we will)\b", re.I
)
# "I always…" / "总是…" is gap language only when something in the sentence goes wrong ("I always hit my deadlines")
_WEAK_GAP_CUES = ("i always", "i keep", "i tend to", "i end up", "总是", "一直", "老是")
_EN_NEGATED = re.compile(
    r"\b(not|never|no|nothing|nobody|none|neither|nor|hardly|without|"
    r"(is|are|was|were|do|does|did|have|has|had|ca|wo|could|would|should)n'?t)\b\W+(\w+\W+){0,2}$",
    re.I,
)
_ZH_NEGATED = ("不", "没", "未", "无")


def _en_hit(pattern: re.Pattern[str], s: str) -> bool:
    """A match of `pattern` in `s` that is not negated by the word or two before it ("not great", "no problem")."""
    return any(not _EN_NEGATED.search(s[: m.start()]) for m in pattern.finditer(s))


def _zh_hit(words: tuple[str, ...], s: str) -> bool:
    for w in words:
        i = s.find(w)
        while i >= 0:
            before = re.split(r"[，。！？；,.!?;]", s[max(0, i - 4) : i])[-1]  # up to 4 characters, this clause
            if w.startswith(_ZH_NEGATED) or not any(ch in _ZH_NEGATED for ch in before):
                return True
            i = s.find(w, i + 1)
    return False


def sentence_tone(sentence: str) -> Tone:
    s = sentence.strip()
    zh = _is_zh(s)
    if any(w in s for w in _ZH_GOAL) if zh else _EN_GOAL.search(s):
        return Tone.GOAL
    if len(s.split()) < 4 and not zh:  # "I don't know.", "ok", "not sure": no reading into it
        return Tone.NEUTRAL
    sig = gap_signal(s, author_is_manager=False)
    obstacle = _zh_hit(_ZH_OBSTACLE, s) if zh else _en_hit(_EN_OBSTACLE, s)
    if sig is not None and (obstacle or not sig.cue.lower().startswith(_WEAK_GAP_CUES) or _has_trouble(s, zh)):
        return Tone.GAP
    if sounds_resolved(s) or sounds_strength(s):
        return Tone.POSITIVE
    if obstacle:
        return Tone.OBSTACLE
    if any(w in s for w in _ZH_REQUEST) if zh else (_EN_REQUEST.search(s) or _EN_INTENT.search(s)):
        return Tone.NEUTRAL
    if _zh_hit(_ZH_POSITIVE, s) if zh else _en_hit(_EN_POSITIVE, s):
        return Tone.POSITIVE
    return Tone.NEUTRAL


_EN_TROUBLE = re.compile(
    r"\b(slips?|late|evenings?|weekends?|too (much|many|long)|again|nobody|no one|without|instead|ramble\w*|lost)\b",
    re.I,
)
_ZH_TROUBLE = ("不", "没", "讲不清", "说不清", "加班", "拖", "来不及", "太多", "太长", "乱")


def _has_trouble(s: str, zh: bool) -> bool:
    """Something in the sentence goes wrong: what turns "I always…" into a habit worth working on."""
    return any(w in s for w in _ZH_TROUBLE) if zh else bool(_EN_TROUBLE.search(s))


_ORDER = (Tone.GAP, Tone.GOAL, Tone.OBSTACLE, Tone.POSITIVE, Tone.NEUTRAL)


def answer_tone(text: str) -> Tone:
    """The answer's tone: its most telling sentence's (a gap, then a wish to grow, an obstacle, progress, the rest)."""
    tones = {sentence_tone(s) for s in sentences(text)} or {sentence_tone(text)}
    return next(tone for tone in _ORDER if tone in tones)


VARIANTS = 3  # wordings per tone in prompts/strings/coach.yaml: checkin_ack_<tone>_<0..2>


def acknowledgement(text: str, locale: str | None, turn: int | None = None) -> str | None:
    """The line that acknowledges the answer `text`, in `locale`; None for an empty answer.

    `turn`: the number of the question that follows; consecutive questions then never repeat a wording (three
    candid answers in a row get three different lines). Without it, the wording is a hash of the answer.
    """
    if len((text or "").strip()) < 2:
        return None
    tone = answer_tone(text)
    variant = (turn if turn is not None else zlib.crc32(text.strip().encode("utf-8"))) % VARIANTS
    return t(f"checkin_ack_{tone.value}_{variant}", norm_locale(locale))
