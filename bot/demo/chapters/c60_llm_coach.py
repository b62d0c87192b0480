"""Chapter 6: the LLM coach next to the offline coach, against a local OpenAI-compatible stub (`--llm stub`)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlmodel import Session, col, select

from bot.coach.llm import LlmCoach
from bot.coach.llm_learning import write_learning_reply
from bot.coach.offline import OfflineCoach
from bot.coach.openai_stub import OpenAIStub, answers_in
from bot.demo.sandbox import Sandbox
from bot.i18n import t
from bot.slack.sandbox.transcript import Transcript
from knowledge.competencies import load_competency_model
from storage.models import Answer, CheckIn, DevelopmentPoint, LlmUsage

TITLE = {"en": "The LLM coach next to the offline coach (local OpenAI-compatible stub)",
         "zh": "LLM 教练与离线教练对照（本地 OpenAI 兼容桩服务）"}

SCRIPT: dict[str, dict[str, Any]] = {
    "en": {"manager": "U0MGR", "employee": "U0EMP3", "dm": "D0EMP3",
           "learn": "What should I learn next about presenting?", "answers": [
               "Busy but good. Priya and I closed the Northwind renewal; their lead is jo@northwind.example.",
               "Renewals are at 80% of target; the two biggest accounts are waiting on the new pricing.",
               "When a customer escalates I jump on every call myself, and my own renewals slip to the evenings.",
               "My quarterly business reviews run long; by slide four the customer is checking email.",
           ]},
    "zh": {"manager": "U0MGRZH", "employee": "U0EMPZH", "dm": "D0EMPZH", "learn": "我接下来该学什么？", "answers": [
        "这几周还不错，和陈静一起把发布流程理顺了，有事可以发邮件到 wangfang@acme.example。",
        "性能目标完成了八成，剩下的卡在缓存改造上。",
        "需求一多我就全部接下来，结果重要的事总拖到晚上做。",
        "给领导汇报的时候我总是讲不清重点，PPT 做了很多页也没用。",
    ]},
}


def _play_checkin(sb: Sandbox, manager: str, employee: str, answers: list[str]) -> None:
    before = len(sb.stub.calls_of("chat.postMessage"))
    sb.driver.slash(manager, "/checkin", f"<@{employee}>")
    root = sb.stub.wait_for(lambda s: next((c for c in s.calls_of("chat.postMessage")[before:]
                                            if c.params["channel"].startswith("G") and not c.params.get("thread_ts")),
                                           None), timeout=30)
    channel, ts = root.params["channel"], root.response["ts"]

    def posts() -> int:
        return len([c for c in sb.stub.calls_of("chat.postMessage") if c.params.get("thread_ts") == ts])

    sb.stub.wait_for(lambda s: posts() >= 1, timeout=30)  # the first question is out before anyone answers
    for text in [*answers, "done"]:
        n = posts()
        sb.driver.message(employee, channel, text, thread_ts=ts)
        sb.stub.wait_for(lambda s: posts() > n, timeout=60)  # noqa: B023 - waited for within this iteration
    sb.stub.wait_for(lambda s: any(c.params.get("ts") == ts for c in s.calls_of("chat.update")), timeout=60)


def _points(tr: Transcript, points: list[Any], lang: str) -> None:
    model = load_competency_model()
    for p in points:
        tr.say(t("coach_demo_point", lang, competency=model.name(p.competency, lang), source=p.source,
                 confidence=f"{p.confidence:.2f}", evidence=p.evidence))


def _compare(sb: Sandbox, tr: Transcript, coach: LlmCoach, stub: OpenAIStub, employee: str, lang: str) -> None:
    with Session(sb.services.engine) as s:
        q = select(CheckIn).where(CheckIn.employee_slack_id == employee).order_by(col(CheckIn.id).desc())
        c = s.exec(q).first()
        assert c is not None
        answers = list(s.exec(select(Answer).where(Answer.checkin_id == c.id).order_by(col(Answer.id))))
        kept = list(s.exec(select(DevelopmentPoint).where(DevelopmentPoint.checkin_id == c.id)))
        usage = list(s.exec(select(LlmUsage).where(LlmUsage.checkin_id == c.id)))
    offline = coach.fallback.analyse(answers=answers, employee_slack_id=employee, locale=lang)
    tr.say("")
    tr.say(t("coach_demo_compare", lang))
    tr.say(t("coach_demo_offline", lang, summary=offline.summary))
    _points(tr, offline.points, lang)
    tr.say(t("coach_demo_merged", lang, summary=c.summary or ""))
    _points(tr, kept, lang)
    extraction = next((r for r in stub.requests if r.schema_name == "CheckinExtraction"), None)
    actions = coach.last_extraction.proposed_actions if coach.last_extraction else []
    if actions:
        tr.say(t("coach_demo_actions", lang, actions="; ".join(actions)))
    off = {p.competency: p.confidence for p in offline.points}
    new = sum(1 for p in kept if p.competency not in off)
    confirmed = sum(1 for p in kept if p.competency in off and p.confidence > off[p.competency])
    tr.say(t("coach_demo_added", lang, hints=len(c.followups_used or []), new=new, confirmed=confirmed,
             actions=len(actions)))
    if extraction is not None:
        tr.say(t("coach_demo_redacted", lang, text=(answers_in(extraction.body) or [""])[0]))
    tr.say(t("coach_demo_tokens", lang, input=sum(u.input_tokens for u in usage),
             output=sum(u.output_tokens for u in usage), calls=len(usage),
             budget=coach.settings.growthloop_llm_monthly_token_budget))


def _guardrails(sb: Sandbox, tr: Transcript, coach: LlmCoach, stub: OpenAIStub, lang: str, answer: str) -> None:
    stub.enqueue({"summary": "", "development_points": [{"competency": "communication", "confidence": 0.9,
                  "evidence": "I never prepare my slides at all.", "reason": "invented"}], "proposed_actions": []},
                 {"reply": "Take [course:mba-101] first.", "course_ids": ["mba-101"]})
    coach.extract(answers=[SimpleNamespace(text=answer, author_slack_id="x", question_id="opening_01")],
                  employee_slack_id="x", locale=lang)
    candidates = [{"id": "co-exec-summary-en", "title": "Executive summaries", "summary": ""}]
    reply = write_learning_reply(sb.services, question="what next?", locale=lang, candidates=candidates)
    dropped = "; ".join([*coach.last["analyse"].dropped, *(coach.last["learning"].dropped if reply is None else [])])
    tr.say(t("coach_demo_guard", lang, dropped=dropped))


def play(sb: Sandbox, tr: Transcript) -> None:
    lang = sb.extra.get("lang", "en")
    if sb.extra.get("llm") != "stub":
        tr.say(t("coach_demo_skip", lang))
        return
    sc = SCRIPT[lang]
    stub = OpenAIStub().start()
    previous = sb.services.extras.get("coach")
    fallback = previous if isinstance(previous, OfflineCoach) else OfflineCoach()
    settings = sb.settings.model_copy(update={"openai_api_key": "sk-demo-stub", "openai_base_url": stub.url})
    coach = LlmCoach(sb.services, fallback=fallback, settings=settings)
    sb.services.extras["coach"] = coach
    try:
        tr.say(t("coach_demo_intro", lang, manager=tr.name(sc["manager"]), employee=tr.name(sc["employee"])))
        _play_checkin(sb, sc["manager"], sc["employee"], sc["answers"])
        _compare(sb, tr, coach, stub, sc["employee"], lang)
        tr.say("")
        tr.say(t("coach_demo_learn", lang, employee=tr.name(sc["employee"])))
        n = len(sb.stub.messages.get(sc["dm"], []))
        sb.driver.message(sc["employee"], sc["dm"], sc["learn"])
        sb.stub.wait_for(lambda s: len([m for m in s.messages.get(sc["dm"], [])[n:] if m.get("bot_id")]) >= 1,
                         timeout=60)
        _guardrails(sb, tr, coach, stub, lang, sc["answers"][2])
    finally:
        if previous is None:
            sb.services.extras.pop("coach", None)
        else:
            sb.services.extras["coach"] = previous
        stub.stop()
