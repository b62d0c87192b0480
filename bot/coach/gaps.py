"""Gap language: does a sentence say that someone still needs to grow at something? (en + zh, pure)

Three questions per sentence: is there gap language, is it negated or already solved, and whose gap is it
(the employee's, or another team's)?
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_EN_GAP = [
    r"\bstruggl\w*",
    r"\bnot (yet )?(very |that |so |really )?(good|great|strong|confident|comfortable|sure how|clear how)\b",
    r"\bnot yet\b",
    r"\bstill (learning|figuring|working on|getting|not)\b",
    r"\bneed(s)? to (get|become|be) better\b",
    r"\bneed(s)? to (improve|work on|learn|practi[cs]e|build|develop|strengthen|grow)\b",
    r"\bweak(ness|er|est)?\b",
    r"\b(hard|difficult|tough|tricky) for me\b",
    r"\bi find it (hard|difficult|tough|tricky)\b",
    r"\bi (always|keep|tend to|end up) \w+",
    r"\bi avoid\b",
    r"\bi (don't|do not|never) know how\b",
    r"\bi'?m not sure how\b",
    r"\black(ing)?\b",
    r"\brusty\b",
    r"\bi wish i\b",
    r"\bi should have\b",
    r"\bcould (be|have been) better\b",
    r"\b(want|like|hope) to (get better|improve|become better|learn to)\b",
    r"\bfreeze\b|\bfroze\b",
    r"\bnervous\b|\banxious\b",
    r"\boverwhelm\w*",
    r"\bslip(s|ped|ping)?\b",
    r"\bfall(ing)? behind\b|\bfell behind\b",
    r"\bmiss(ed)? (the )?deadlines?\b",
    r"\bdrop(ped)? the ball\b",
    r"\bramble\w*",
    r"\bblind spot\b",
    r"\broom to grow\b",
    r"\bi'?d like to see (him|her|them|you)\b",
    r"\b(he|she|they|you) (needs|need) to\b",
    r"\b(he|she|you) (could|should) (push|speak|say|ask|be|get|try|own|take)\b",
    r"\bi (can't|cannot|couldn't)\b",
    r"\bnever land\w*",
    r"\bgo(es)? over (their|people's) heads?\b",
    r"\b(lost|stuck)\b",
    r"\bi (under|over)estimat\w*",
    r"\bnot (confident|comfortable)\b",
    r"\bi rely on\b",
    r"\bwithout (a|any) (clear|real) (plan|idea|structure)\b",
    r"\bi'?m (bad|terrible|poor) at\b",
    r"\bthe (part|thing) i find hardest\b",
    r"\bhardest (part|thing)\b",
    r"\bi haven'?t (yet|really|learned)\b",
    r"\bnobody (told|asked) me\b",
    r"\bi (procrastinat|put off|postpone)\w*",
    r"\bi don'?t (really )?(know|understand)\b",
    r"\b(really |quite |very )?hard to\b",
    r"\bstill can'?t\b",
    r"\bwithout knowing\b",
    r"\bnot sure (which|what|how|whether|where|why)\b",
    r"\binstead of (saying|asking|telling|talking|pushing)\b",
    r"\brather than (waiting|asking|talking)\b",
    r"\bi (just )?waited\b",
    r"\bi just (quietly )?\w+",
    r"\bends? up\b",
    r"\bthe night before\b",
    r"\bfirst reaction is\b",
    r"\bbottleneck\b",
    r"\bnever (talked|spoke|asked)\b",
    r"\bcan'?t (find|follow|tell|see|explain)\b",
    r"\bi (rarely|seldom|barely)\b",
    r"\bi (didn'?t|did not) (ask|check|push|plan|follow|say|tell|think)\b",
    r"\bi figured\b",
    r"\btoo (slow|long|late|much)\b",
    r"\bfeels? (slower|harder|awkward|uncomfortable)\b",
    r"\b(defensive|argue|arguing)\b",
    r"\bi (say|said) yes to\b",
]
_ZH_GAP = [
    "不够",
    "困难",
    "还需要提升",
    "需要提升",
    "有待提升",
    "有待提高",
    "有待加强",
    "需要加强",
    "没把握",
    "心里没底",
    "不太会",
    "不会",
    "不擅长",
    "欠缺",
    "缺乏",
    "薄弱",
    "短板",
    "吃力",
    "头疼",
    "搞不定",
    "不知道从哪",
    "不知道怎么",
    "不知道该",
    "紧张",
    "卡住",
    "卡在",
    "拖延",
    "总是拖",
    "老是拖",
    "拖到",
    "没做好",
    "做得不好",
    "不太行",
    "还不行",
    "希望他能",
    "希望她能",
    "希望你能",
    "力不从心",
    "不自信",
    "老是",
    "总是",
    "容易",
    "说不清",
    "讲不清",
    "没底",
    "还在摸索",
    "还在学",
    "不熟",
    "不熟悉",
    "做不到",
    "跟不上",
    "顾不上",
    "手忙脚乱",
    "抓不住",
    "没想清楚",
    "想提升",
    "想提高",
    "想学会",
    "想练",
    "要练",
    "需要练",
    "得练",
    "一团乱",
    "乱成",
    "被动",
    "不敢",
    "怕",
    "总被",
    "插不上话",
    "没人理",
    "效果不好",
    "没效果",
    "不理想",
    "漏",
    "忘了",
    "来不及",
    "没什么把握",
    "理不出",
    "没头绪",
    "没梳理",
    "没写清楚",
    "只想了",
    "先放着",
    "很少主动",
    "不放心",
    "来者不拒",
    "急着",
    "不好意思",
    "没去",
    "没有去",
    "没及时",
    "没提前",
    "没主动",
    "没想到",
    "没考虑",
    "对不上",
    "各做各的",
    "偷偷",
    "一直没",
    "还是没",
    "不知从何",
    "无从下手",
    "拿不准",
    "说服不了",
    "推不动",
    "自己写",
    "自己扛",
]
_EN_RESOLVED = [
    r"\bno longer\b",
    r"\bnot (a|an) (problem|issue) (any ?more|now)\b",
    r"\b(isn't|is not|wasn't) (a|an) (problem|issue)\b",
    r"\bused to (struggle|be|find|have)\b",
    r"\b(got|getting|became) (much |a lot )?(better|easier)\b",
    r"\bimproved (a lot|a great deal|massively|quite a bit)\b",
    r"\bno (problem|issue|trouble)s?\b",
    r"\bcomfortable now\b",
    r"\bnow i (can|feel)\b",
    r"\bnot struggling\b",
    r"\bdon'?t struggle\b",
    r"\bwent (really )?well\b",
    r"\bproud\b",
    r"\bnailed\b",
    r"\bused to\b",
    r"\bnow it (doesn'?t|isn'?t)\b",
]
_ZH_RESOLVED = [
    "不再",
    "已经不是问题",
    "没什么困难",
    "没什么问题",
    "现在没问题",
    "已经解决",
    "好多了",
    "已经能",
    "不成问题",
    "没有困难",
    "没问题了",
    "顺利",
    "进步很大",
    "很有把握",
    "越来越熟练",
    "基本不会",
    "以前很难",
    "以前总",
]
_EN_OTHERS = re.compile(
    r"^\s*(the other team|other teams|they|their|"
    r"our (designer|designers|vendor|partner|client|clients|customer|customers)|my (colleague|colleagues|peer|peers)|"
    r"the (design|sales|marketing|ops|platform|data|backend|frontend|qa|support|legal|finance) team|"
    r"everyone else|the vendor|the client|the customer|product|engineering|leadership)\b",
    re.I,
)
_EN_FIRST = re.compile(r"\b(i|i'm|i've|i'd|i'll|me|my|myself|mine)\b", re.I)
_EN_SECOND_THIRD = re.compile(r"\b(you|your|she|her|he|his|him)\b", re.I)
_ZH_OTHERS = re.compile(
    r"^(他们|她们|对方|其他团队|别的团队|另一个团队|兄弟团队|设计团队|销售团队|运营团队|客户那边|供应商|隔壁|老板|领导)"
)


@dataclass(frozen=True)
class GapSignal:
    strength: float  # 0..1
    cue: str
    about_employee: bool


def _is_zh(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@dataclass(frozen=True)
class _Scan:
    """What the lexicons see in one sentence."""

    hits: list[str]
    resolved: bool
    others: bool
    second_third: bool
    first: bool
    zh: bool


_EN_GAP_RE = [re.compile(p) for p in _EN_GAP]
_EN_RESOLVED_RE = [re.compile(p) for p in _EN_RESOLVED]


@lru_cache(maxsize=4096)
def _scan(s: str) -> _Scan:
    """What the lexicons see in `s` (cached: a sentence is asked about several times, by several callers)."""
    if _is_zh(s):
        return _Scan(
            hits=[w for w in _ZH_GAP if w in s],
            resolved=any(w in s for w in _ZH_RESOLVED),
            others=bool(_ZH_OTHERS.match(s)) and "我" not in s,
            second_third=any(w in s for w in ("他", "她", "你")),
            first="我" in s,
            zh=True,
        )
    low = s.lower()
    return _Scan(
        hits=[m.group(0) for p in _EN_GAP_RE if (m := p.search(low))],
        resolved=any(p.search(low) for p in _EN_RESOLVED_RE),
        others=bool(_EN_OTHERS.match(s)) and not _EN_FIRST.search(s),
        second_third=bool(_EN_SECOND_THIRD.search(s)),
        first=bool(_EN_FIRST.search(s)),
        zh=False,
    )


def sounds_resolved(sentence: str) -> bool:
    """True when a sentence says a problem is solved or gone ("no longer", "used to", "已经不是问题")."""
    return _scan(sentence.strip()).resolved


# A capability stated as the speaker's own strength ("I'm good at…", "我很擅长…"). Only for the question prior: the
# learned classifier's features are the lexicons above, and this list is not one of them.
_EN_STRENGTH = re.compile(
    r"\bi'?m (really |pretty |quite |very |genuinely )?(good|great|strong|confident|comfortable|at ease) "
    r"(at|with|in|when|doing|running|leading|presenting)\b|\bi am (really |pretty |quite |very )?(good|great|strong) "
    r"at\b|\b(is|are) (one of )?my (strengths?|strong suits?|superpowers?)\b|\bcomes? naturally to me\b|"
    r"\bi (really )?(enjoy|love) (it|doing|running|leading|presenting|writing|coaching|mentoring)\b|"
    r"\b(went|goes|go) (really |very |pretty )?(well|smoothly)\b|\bmy (strength|strong suit)\b",
    re.I,
)
_ZH_STRENGTH = ("擅长", "拿手", "得心应手", "强项", "很有信心", "游刃有余", "很顺手", "很顺利", "做得很好", "优势")
_ZH_NOT_STRENGTH = (
    *("不擅长", "不太擅长", "不够擅长", "没信心", "没有信心", "不顺利", "不太顺利", "没有优势"),
    *("不是强项", "不是我的强项", "谈不上擅长", "不算擅长", "不算强项"),
)
_EN_NEGATED = re.compile(r"\b(not|never|isn'?t|aren'?t|wasn'?t|don'?t|didn'?t)\b", re.I)


def sounds_strength(sentence: str) -> bool:
    """True when a sentence states one of the speaker's strengths and holds no gap language ("I'm good at…")."""
    s = sentence.strip()
    sc = _scan(s)
    if sc.hits:
        return False
    if sc.zh:
        return any(w in s for w in _ZH_STRENGTH) and not any(w in s for w in _ZH_NOT_STRENGTH)
    m = _EN_STRENGTH.search(s)
    return m is not None and not _EN_NEGATED.search(s[: m.start()])


def about_author_only(sentence: str) -> bool:
    """True when a sentence speaks of its author (I/me/我) and of nobody else (no you/he/she/他/她/你).

    A manager's "I struggle to prioritise…" is the manager's own gap, never the employee's.
    """
    sc = _scan(sentence.strip())
    return sc.first and not sc.second_third


def gap_signal(sentence: str, *, author_is_manager: bool) -> GapSignal | None:
    """The gap language in `sentence`, or None when there is none, it is negated/solved, or it is someone else's."""
    s = sentence.strip()
    if not s:
        return None
    sc = _scan(s)
    if not sc.hits or sc.resolved or sc.others:
        return None
    if not author_is_manager and _third_party_subject(s, sc.hits[0]):
        return None
    if author_is_manager:
        # The manager's sentence is about the employee only when it talks about "you/she/he", not about themself.
        if not sc.second_third:
            return None
        about = True
    else:
        about = sc.first or not sc.second_third
    strong = {"struggl", "不够", "困难", "还需要提升", "需要提升", "不擅长", "短板", "薄弱", "欠缺", "没把握", "吃力"}
    strength = 0.9 if any(any(k in h for k in strong) for h in sc.hits) else 0.6 + 0.1 * min(len(sc.hits) - 1, 2)
    return GapSignal(strength=min(strength, 1.0), cue=sc.hits[0], about_employee=about)


_SPLIT = re.compile(r"(?<=[.!?。！？；;])\s*|\n+")


def sentences(text: str) -> list[str]:
    """Split an answer into sentences (en and zh punctuation); very long texts are cut to keep it fast."""
    parts = [p.strip() for p in _SPLIT.split((text or "")[:20_000])]
    return [p for p in parts if len(p) >= 4]


_EN_THIRD_SUBJECT = re.compile(
    r"\b(my|our|the|their) (tech lead|lead|manager|boss|colleague|colleagues|teammate|teammates|peer|peers|team|"
    r"designer|pm|vendor|client|customer|director|vp|new hire|intern|reports?)\b|\b(he|she|they|hers|his|theirs)\b",
    re.I,
)
_EN_SELF = re.compile(r"\b(i|i'm|i've|i'd|i'll|me|myself|mine)\b", re.I)  # "my X" names someone else
_ZH_THIRD_SUBJECT = re.compile(r"(他们|她们|他|她|对方|同事|领导|老板|组长|新人|其他人|别人)")


def _third_party_subject(sentence: str, cue: str) -> bool:
    """True when the words before the gap cue name someone else and not the speaker ('My tech lead struggles…')."""
    idx = sentence.lower().find(cue.lower())
    before = sentence[: max(idx, 0)]
    if _is_zh(sentence):
        return bool(_ZH_THIRD_SUBJECT.search(before)) and "我" not in before
    return bool(_EN_THIRD_SUBJECT.search(before)) and not _EN_SELF.search(before)


_NOT_MINE = re.compile(r"\b(not|isn'?t|wasn'?t|never) (mine|me|on me|my (problem|job|call|fault))\b", re.I)


def about_others_only(sentence: str) -> bool:
    """True when a sentence names someone else ("my colleague", "he", "同事") and never its author (I/me/我).

    An employee's "My colleague keeps missing deadlines; her manager is on it" is not the employee's own gap."""
    s = sentence.strip()
    if _is_zh(s):
        return "我" not in s and bool(_ZH_THIRD_SUBJECT.search(s))
    own = _NOT_MINE.sub(" ", s)  # "that's hers, not mine" disowns it: no word of the author's
    return not _EN_SELF.search(own) and bool(_EN_THIRD_SUBJECT.search(s))


def gap_features(sentence: str, *, author_is_manager: bool) -> list[float]:
    """Interpretable lexical features for the learned gap classifier (see `bot.coach.gap_model`)."""
    s = sentence.strip()
    sc = _scan(s)
    hits, resolved, others, second_third, first, zh = sc.hits, sc.resolved, sc.others, sc.second_third, sc.first, sc.zh
    third = bool(hits) and _third_party_subject(s, hits[0])
    negation = bool(re.search(r"\b(not|never|no|don'?t|didn'?t|can'?t|won'?t|hadn'?t|haven'?t)\b", s.lower())) or any(
        w in s for w in ("不", "没", "未", "别")
    )
    return [
        float(bool(hits)),
        float(min(len(hits), 3)) / 3,
        float(resolved),
        float(others or third),
        float(first),
        float(author_is_manager),
        float(second_third),
        float(zh),
        float(negation),
    ]
