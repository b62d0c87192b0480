"""Chapter: HR loads the capability map (a bad one is refused), an employee sets a goal, HR sees the gap heat-map."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from sqlmodel import Session, select

from bot.capabilities import load_map
from bot.demo.sandbox import Sandbox
from bot.people import import_people
from bot.slack.gap_reporting import post_gap_report
from bot.slack.sandbox.transcript import Transcript
from knowledge.capability_map import SHIPPED_MAP, CapabilityMapError
from storage.db import session_scope
from storage.models import Course, DevelopmentPoint, LearningRecord, Recognition

TITLE = {"en": "Goals with development goals, and the capability gap heat-map",
         "zh": "带发展目标的目标设定与能力差距热力图"}

_SAY = {
    "load": {"en": "Hana (HR) loads the capability map: strategy → capabilities → roles with required levels:",
             "zh": "Hana（HR）加载能力地图：战略 → 能力 → 各岗位的要求等级："},
    "bad": {"en": "A colleague's edit has a typo in a role and a level of 5; the load is refused line by line, "
                  "and the map in force stays:",
            "zh": "同事改过的文件里有一个拼错的岗位和一个 5 级；加载被逐行拒绝，当前地图保持不变："},
    "seed": {"en": "{name}'s record so far: a closed development point on customer insight, a finished course on "
                   "data analysis, and kudos for cross-team work.",
             "zh": "{name} 目前的记录：一个已完成的“客户洞察”发展点、一门学完的数据分析课程、一次跨团队协作的表扬。"},
    "goal": {"en": "{name} types `/goal` and first submits without a measure and with a date in the past:",
             "zh": "{name} 输入 `/goal`，第一次提交时没有填写衡量方式，日期也选在了过去："},
    "errors": {"en": "    (the modal shows the field errors)", "zh": "    （表单显示字段错误）"},
    "fixed": {"en": "{name} fixes both fields and saves. The bot checks what the goal needs:",
              "zh": "{name} 改好两个字段并保存。机器人检查这个目标需要的能力："},
    "gaps": {"en": "Hana asks for the team gap report (`/hr report gaps team:{team}`):",
             "zh": "Hana 查看团队能力差距报告（`/hr report gaps team:{team}`）："},
    "team": {"en": "The gap report shows no figures for a role with fewer than 3 people (they would describe "
                   "individuals), so Hana first imports the rest of the {team} team ({n} people):",
             "zh": "能力差距报告不显示少于 3 人的岗位（数字会暴露个人），"
                   "所以 Hana 先导入 {team} 团队的其他成员（{n} 人）："},
    "saved": {"en": "The heat-map and the CSV are saved in {out}", "zh": "热力图和 CSV 已保存到 {out}"},
}

_GOAL = {
    "en": ("Cut 30-day churn of new customers by fixing the top onboarding blockers found in customer interviews",
           "30-day churn of new accounts from 12% to 8% by the end of the cycle"),
    "zh": ("通过客户访谈找出上手阶段的主要障碍并解决，降低新客户 30 天流失率",
           "本周期末新客户 30 天流失率从 12% 降到 8%"),
}


_PEOPLE_HEADER = "slack_id,name,email,manager_slack_id,team,role,timezone,locale,is_hr_admin\n"
_ROLES = ["product_manager", "product_manager", "data_analyst", "data_analyst", "customer_success",
          "customer_success", "software_engineer", "software_engineer"]


def _team_rows(team: str, manager: str, tz: str, lang: str) -> list[str]:
    return [f"U0T{team[:2].upper()}{i},{'同事' if lang == 'zh' else 'Teammate'} {i + 1},,{manager},{team},{role},{tz},"
            f"{lang},false\n" for i, role in enumerate(_ROLES)]


def _seed_team(sb: Sandbox, rows: list[str]) -> None:
    """Some history for the new teammates, so their levels differ (confirmed points, completed courses)."""
    now = sb.services.now()
    comps = ["customer_insight", "data_analysis", "communication", "planning"]
    with session_scope(sb.services.engine) as s:
        for i, row in enumerate(rows):
            sid = row.split(",", 1)[0]
            s.add(DevelopmentPoint(person_slack_id=sid, competency=comps[i % len(comps)], status="open",
                                   source="manual", evidence="seen in the last check-in", confidence=0.7,
                                   created_at=now - timedelta(days=10 + i)))
            course = _any_course(s, comps[(i + 1) % len(comps)])
            if course and i % 3 == 0:
                s.add(LearningRecord(person_slack_id=sid, course_id=course, status="completed",
                                     at=now - timedelta(days=5 + i)))


def _seed(sb: Sandbox, user: str) -> None:
    now = sb.services.now()
    with session_scope(sb.services.engine) as s:
        s.add(DevelopmentPoint(person_slack_id=user, competency="customer_insight", status="closed", source="manual",
                               evidence="Ran five customer calls before writing the spec", confidence=0.8,
                               created_at=now - timedelta(days=70), closed_at=now - timedelta(days=40)))
        course = _any_course(s, "data_analysis")
        if course:
            s.add(LearningRecord(person_slack_id=user, course_id=course, status="completed",
                                 at=now - timedelta(days=20)))
        s.add(Recognition(giver_slack_id="U0EMP2", receivers=[user], message="Pulled support and sales into the "
                          "pricing review early", competencies=["collaboration"], created_at=now - timedelta(days=9)))


def _any_course(session: Session, competency: str) -> str | None:
    return next((c.id for c in session.exec(select(Course).order_by(Course.id)).all() if competency in c.competencies),
                None)


def _values(text: str, measure: str, due: date, capability: str) -> dict:  # type: ignore[type-arg]
    return {"goal_text": {"value": {"type": "plain_text_input", "value": text}},
            "goal_measure": {"value": {"type": "plain_text_input", "value": measure}},
            "goal_due": {"value": {"type": "datepicker", "selected_date": due.isoformat()}},
            "goal_capability": {"value": {"type": "static_select", "selected_option": {"value": capability}}},
            "goal_development": {"value": {"type": "plain_text_input", "value": None}}}


def play(sb: Sandbox, tr: Transcript) -> None:
    lang = sb.extra.get("lang", "en")
    d, stub = sb.driver, sb.stub
    out = Path(sb.extra.get("out", "demo-output"))
    user, team = ("U0EMPZH2", "platform") if lang == "zh" else ("U0EMP", "growth")
    name = tr.name(user)

    tr.say(_SAY["load"][lang])
    text = SHIPPED_MAP.read_text(encoding="utf-8")
    done = load_map(sb.services, text=text, source=SHIPPED_MAP.name, loaded_by="U0HR")
    tr.say(f"$ growthloop capabilities load {SHIPPED_MAP.name}")
    tr.say(f"loaded {SHIPPED_MAP.name} as map version {done.version_id}: {done.priorities} priorities, "
           f"{done.capabilities} capabilities, {done.roles} roles")
    tr.say(_SAY["bad"][lang])
    bad = text.replace("data_analyst: 4", "data_analyst: 5").replace("hr_partner: 2", "hr_partnr: 2")
    tr.say("$ growthloop capabilities load capability_map_edit.yaml")
    try:
        load_map(sb.services, text=bad, source="capability_map_edit.yaml")
    except CapabilityMapError as exc:
        tr.say("error: capability_map_edit.yaml was rejected; the previous map stays in force:")
        for p in exc.problems:
            tr.say(f"  capability_map_edit.yaml:{p.line}: {p.reason}")

    _seed(sb, user)
    tr.say(_SAY["seed"][lang].format(name=name))
    tr.say(_SAY["goal"][lang].format(name=name))
    tr.say(f"{name}: /goal")
    n = len(stub.calls_of("views.open"))
    d.slash(user, "/goal")
    view = stub.wait_calls("views.open", n + 1)[-1].params["view"]
    goal, measure = _GOAL[lang]
    answer = d.submit_view(user, view, _values(goal, "", date.today() - timedelta(days=3), "customer_insight"))
    tr.say(_SAY["errors"][lang])
    for block, message in (answer.json() or {}).get("errors", {}).items():
        tr.say(f"      {block}: {message}")
    tr.say(_SAY["fixed"][lang].format(name=name))
    n = len(stub.calls_of("chat.update"))
    d.submit_view(user, view, _values(goal, measure, date.today() + timedelta(days=75), "customer_insight"))
    stub.wait_calls("chat.update", n + 1, timeout=120)

    manager, tz = ("U0MGRZH", "Asia/Shanghai") if lang == "zh" else ("U0MGR", "Europe/Berlin")
    rows = _team_rows(team, manager, tz, lang)
    tr.say(_SAY["team"][lang].format(team=team, n=len(rows)))
    tr.say("$ growthloop people import team.csv")
    tr.say(f"imported {import_people(sb.services, _PEOPLE_HEADER + ''.join(rows))} people")
    _seed_team(sb, rows)
    tr.say(_SAY["gaps"][lang].format(team=team))
    n = len(stub.calls_of("files.completeUploadExternal"))
    post_gap_report(sb.services, sb.services.extras["slack_client"], admin_slack_id="U0HR", team=team, locale=lang)
    stub.wait_calls("files.completeUploadExternal", n + 1, timeout=60)
    out.mkdir(parents=True, exist_ok=True)
    for upload in stub.uploads.values():
        if upload.get("data") and str(upload.get("filename", "")).startswith("growthloop-gaps"):
            (out / f"capability-gaps.{upload['filename'].rsplit('.', 1)[-1]}").write_bytes(upload["data"])
    tr.say(_SAY["saved"][lang].format(out=f"{out}/capability-gaps.png, {out}/capability-gaps.csv"))
