"""Slack's message escaping: what people typed is stored as they typed it and shown back safely.

Slack sends `&`, `<` and `>` as `&amp;`, `&lt;`, `&gt;` and wraps links as `<url|label>`; the sandbox driver sends
text verbatim, so these tests escape it the way Slack does.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from bot.demo.sandbox import Sandbox
from bot.slack.blocks_checkin import PointRow, summary_blocks, to_dicts
from bot.slack.parsing import from_slack, to_mrkdwn
from storage.models import Answer, CheckIn, Recognition
from tests.e2e.checkin_helpers import answer, thread_root, wait_thread_posts


def slack_escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@pytest.mark.parametrize(
    ("wire", "typed"),
    [
        ("R&amp;D said p95 &lt; 30 ms &gt; target", "R&D said p95 < 30 ms > target"),
        ("see <https://wiki.example/x?a=1&amp;b=2|wiki.example/x>", "see wiki.example/x"),
        ("mail <mailto:ana@example.com|ana@example.com> or <https://example.com>", "mail ana@example.com or https://example.com"),
        ("thanks <@U0MGR> and <!here>", "thanks <@U0MGR> and <!here>"),
        ("&amp;lt; is how you write &lt;", "&lt; is how you write <"),
        ("raw a < b > c", "raw a < b > c"),  # a client that sends text unescaped loses nothing
        ("", ""),
    ],
)
def test_from_slack_gives_the_text_as_typed(wire: str, typed: str) -> None:
    assert from_slack(wire) == typed


def test_to_mrkdwn_escapes_text_and_keeps_mentions() -> None:
    assert to_mrkdwn("a <b> & <@U0EMP> <#C123|general>") == "a &lt;b&gt; &amp; <@U0EMP> <#C123|general>"
    for typed in ("R&D < 30 ms", "&lt; literal", "<@U1> ok"):
        assert from_slack(to_mrkdwn(typed)) == typed


def test_a_point_quoting_markup_is_shown_escaped() -> None:
    points = [PointRow(1, "Communication", "my <b>slides</b> & notes", "r", focus="Uses <b> & co.")]
    text = str(to_dicts(summary_blocks(summary="s", points=points, locale="en", employee_locale="en")))
    assert "my &lt;b&gt;slides&lt;/b&gt; &amp; notes" in text and "<b>" not in text
    assert "What good looks like: uses &lt;b&gt; &amp; co." in text


def test_an_escaped_thread_reply_is_stored_as_typed(sandbox: Sandbox) -> None:
    sb = sandbox
    sb.driver.slash("U0MGR", "/checkin", "<@U0EMP|erik>")
    root = thread_root(sb)
    wait_thread_posts(sb, root["channel"], root["ts"], 1)
    typed = "Good week: R&D signed off & the p95 is < 30 ms."
    answer(sb, "U0EMP", root, slack_escaped(typed), expect_posts=2)
    with Session(sb.services.engine) as s:
        [stored] = list(s.exec(select(Answer).order_by(col(Answer.id))))
        checkin = s.exec(select(CheckIn)).one()
    assert stored.text == typed
    # an edit arrives escaped too
    sb.driver.edit("U0EMP", root["channel"], stored.slack_ts, slack_escaped(typed + " <edited>"), thread_ts=root["ts"])
    sb.stub.wait_for(lambda s: _answer_text(sb, stored.id) == typed + " <edited>")
    assert checkin.state == "open"


def _answer_text(sb: Sandbox, answer_id: int | None) -> str:
    with Session(sb.services.engine) as s:
        row = s.get(Answer, answer_id)
        return row.text if row else ""


def test_escaped_kudos_is_stored_as_typed_and_shown_escaped(sandbox: Sandbox) -> None:
    sb = sandbox
    ack = sb.driver.slash("U0MGR", "/kudos", "<@U0EMP|erik> great Q&amp;A &lt;3 session")
    assert ack.status == 200
    with Session(sb.services.engine) as s:
        [row] = list(s.exec(select(Recognition)))
    assert row.message == "great Q&A <3 session"
    dms = sb.stub.wait_for(lambda s: s.messages.get("D0EMP"))
    assert "great Q&amp;A &lt;3 session" in str(dms[0]["blocks"])
