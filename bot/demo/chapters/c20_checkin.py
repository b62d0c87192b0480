"""Chapter 2: a guided check-in in English and one in Chinese, answers captured, points found."""

from __future__ import annotations

from bot.demo.sandbox import Sandbox
from bot.slack.sandbox.transcript import Transcript

TITLE = {"en": "Guided coaching check-ins (en and zh)", "zh": "引导式教练 check-in（英文与中文）"}

EN = [
    ("U0EMP", "Good few weeks. The onboarding revamp shipped and activation is up a bit."),
    ("U0EMP", "We're at 60% of the activation goal; the pricing page experiment is the blocker."),
    ("U0EMP", "skip"),
    ("U0EMP", "I ran the customer interviews myself and they went really well."),
    ("U0EMP", "My roadmap slides never land with the leadership team; by slide four they are on their phones."),
    ("U0EMP", "Time with Priya to learn the new analytics dashboards would help."),
    ("U0EMP", "I keep saying yes to every request and the important work slips to the evenings."),
    ("U0EMP", "Thanks, this was a good conversation."),
]
ZH = [
    ("U0EMPZH", "这几周挺充实的，新版本按时上线了。"),
    ("U0EMPZH", "性能目标完成了七成，卡在数据库迁移上。"),
    ("U0EMPZH", "跨团队协调这块以前很难推，现在和测试团队建了固定周会，基本不会卡了。"),
    ("U0EMPZH", "给领导汇报的时候我总是讲不清重点，PPT 做了很多页也没用。"),
    ("U0EMPZH", "数据一多我就不知道从哪下手分析。"),
    ("U0EMPZH", "希望能有一位资深同事带我做一次容量规划。"),
    ("U0EMPZH", "想练习怎么把汇报讲得更有条理。"),
    ("U0EMPZH", "谢谢，很有收获。"),
]


def _play(sb: Sandbox, tr: Transcript, manager: str, employee: str, script: list[tuple[str, str]]) -> None:
    n_before = len(sb.stub.calls_of("chat.postMessage"))
    verb = "输入" if sb.extra.get("lang") == "zh" else "types"
    tr.say(f"{tr.name(manager)} {verb} `/checkin @{tr.name(employee)}`")
    sent = sb.driver.slash(manager, "/checkin", f"<@{employee}>")
    tr.block(tr.labels["ephemeral"].format(name=tr.name(manager)), [sent.json().get("text", "")], "    ")
    root = sb.stub.wait_for(
        lambda s: next((c for c in s.calls_of("chat.postMessage")[n_before:] if not c.params.get("thread_ts")), None)
    )
    channel, ts = root.params["channel"], root.response["ts"]

    def posts() -> int:
        return len([c for c in sb.stub.calls_of("chat.postMessage") if c.params.get("thread_ts") == ts])

    sb.stub.wait_for(lambda s: posts() >= 1)
    for user, text in script:
        before = posts()
        sb.driver.message(user, channel, text, thread_ts=ts)
        sb.stub.wait_for(lambda s, b=before: posts() > b, timeout=30)
    sb.stub.wait_for(lambda s: any(c.params.get("ts") == ts for c in s.calls_of("chat.update")), timeout=30)


def play(sb: Sandbox, tr: Transcript) -> None:
    pairs = [("U0MGR", "U0EMP", EN), ("U0MGRZH", "U0EMPZH", ZH)]
    if sb.extra.get("lang") == "zh":
        pairs.reverse()
    for i, (manager, employee, script) in enumerate(pairs):
        if i:
            tr.say("")
        _play(sb, tr, manager, employee, script)
