"""Chapter: kudos (command and shortcut), the three App Home views, and the HR report with its chart."""

from __future__ import annotations

import json
from pathlib import Path

from bot.demo.growth_seed import ensure_sample_point
from bot.demo.sandbox import Sandbox
from bot.slack.sandbox.transcript import Transcript

TITLE = {"en": "Kudos, App Home for every role, and the HR report", "zh": "表扬、各角色的主页与 HR 报表"}

_SAY = {
    "seed": {
        "en": "Erik has an open development point from his check-in (communication), with two courses.",
        "zh": "Erik 在 check-in 中有一个进行中的发展点（沟通），附两门课程。",
    },
    "kudos": {
        "en": "Maria thanks Erik and 王芳 with `/kudos` (each gets a DM in their own language):",
        "zh": "Maria 用 `/kudos` 感谢 Erik 和王芳（每人收到自己语言的私信）：",
    },
    "self": {
        "en": "Erik tries to give kudos to himself, then with a made-up value:",
        "zh": "Erik 试图表扬自己，然后又用了一个不存在的价值观：",
    },
    "shortcut": {
        "en": "Priya uses the “Give kudos” shortcut on Erik's message and tags a competency:",
        "zh": "Priya 对 Erik 的消息使用“给予表扬”快捷方式，并标记一项能力：",
    },
    "home": {"en": "Each of them opens GrowthLoop's Home tab:", "zh": "每个人打开 GrowthLoop 的主页："},
    "report": {
        "en": "Hana (HR admin) presses “Send me the HR report” on her Home tab:",
        "zh": "Hana（HR 管理员）在主页点击“把 HR 报表发给我”：",
    },
    "saved": {"en": "The chart and the CSV are saved in {out}", "zh": "图表和 CSV 已保存到 {out}"},
}


def _ack(tr: Transcript, user: str, body: str) -> None:
    tr.block("    " + tr.labels["ephemeral"].format(name=tr.name(user)), [json.loads(body).get("text", "")], "    ")


def play(sb: Sandbox, tr: Transcript) -> None:
    lang = sb.extra.get("lang", "en")
    d, stub = sb.driver, sb.stub
    out = Path(sb.extra.get("out", "demo-output"))
    ensure_sample_point(sb.services, "U0EMP")
    tr.say(_SAY["seed"][lang])

    tr.say(_SAY["kudos"][lang])
    text = "<@U0EMP|erik> <@U0EMPZH|wangfang> thanks for untangling the churn dashboard together #one_team"
    tr.say(f"Maria: /kudos {text}")
    n = len(stub.calls_of("views.publish"))
    _ack(tr, "U0MGR", d.slash("U0MGR", "/kudos", text).body)
    stub.wait_calls("views.publish", n + 2)

    tr.say(_SAY["self"][lang])
    for bad in ("<@U0EMP> I'm great", "<@U0EMP2> nice SQL #synergy"):
        tr.say(f"Erik: /kudos {bad}")
        _ack(tr, "U0EMP", d.slash("U0EMP", "/kudos", bad).body)

    tr.say(_SAY["shortcut"][lang])
    msg = d.message("U0EMP", "C0GENERAL", "Wrote up the Q3 numbers as a one-page summary for the board.")
    message = next(m for m in stub.messages["C0GENERAL"] if m["ts"] == msg.ts)
    d.message_shortcut("U0EMP2", "give_kudos", message)
    view = stub.wait_calls("views.open", 1)[-1].params["view"]
    n = len(stub.calls_of("views.publish"))
    d.submit_view(
        "U0EMP2",
        view,
        {
            "kudos_to": {"users": {"type": "multi_users_select", "selected_users": ["U0EMP"]}},
            "kudos_message": {
                "text": {"type": "plain_text_input", "value": "That one-pager was crisp; the board got it."}
            },
            "kudos_value": {"value": {"type": "static_select", "selected_option": {"value": "customer_first"}}},
            "kudos_competency": {
                "competency": {"type": "static_select", "selected_option": {"value": "communication"}}
            },
        },
    )
    stub.wait_calls("views.publish", n + 1)

    tr.say(_SAY["home"][lang])
    for user in ("U0EMP", "U0MGR", "U0HR"):
        n = len(stub.calls_of("views.publish"))
        d.app_home_opened(user)
        stub.wait_calls("views.publish", n + 1)

    tr.say(_SAY["report"][lang])
    d.click_home("U0HR", "home_post_report")
    stub.wait_calls("files.completeUploadExternal", 1, timeout=60)
    out.mkdir(parents=True, exist_ok=True)
    for upload in stub.uploads.values():
        if upload.get("data") and str(upload.get("filename", "")).startswith("growthloop-report"):
            ext = upload["filename"].rsplit(".", 1)[-1]
            (out / f"hr-report.{ext}").write_bytes(upload["data"])
    tr.say(_SAY["saved"][lang].format(out=f"{out}/hr-report.png, {out}/hr-report.csv"))
