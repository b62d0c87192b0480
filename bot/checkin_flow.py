"""The check-in as a pure step machine: (state, input) -> next state. No I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum


class Move(StrEnum):
    ANSWER = "answer"
    SKIP = "skip"
    BACK = "back"
    DONE = "done"


@dataclass(frozen=True)
class FlowState:
    step: int
    total: int
    finished: bool = False


def apply(state: FlowState, move: Move) -> FlowState:
    """Advance the flow. An answer or a skip moves on; back goes one question back; done finishes."""
    if state.finished:
        return state
    if move is Move.DONE:
        return replace(state, finished=True)
    if move is Move.BACK:
        return replace(state, step=max(0, state.step - 1))
    nxt = state.step + 1
    return FlowState(step=min(nxt, state.total - 1), total=state.total, finished=nxt >= state.total)


_WORDS = {
    Move.SKIP: {"skip", "next", "pass", "跳过", "下一题", "略过"},
    Move.BACK: {"back", "previous", "go back", "上一题", "返回", "回到上一题"},
    Move.DONE: {"done", "finish", "end", "stop", "结束", "完成", "结束吧"},
}
_STRIP = re.compile(r"^[\s!！。.,，~]+|[\s!！。.,，~]+$")


def word_command(text: str) -> Move | None:
    """A steering word typed alone in the thread ('skip', 'back', 'done', '跳过', '返回', '结束'), else None."""
    cleaned = _STRIP.sub("", (text or "").lower())
    for move, words in _WORDS.items():
        if cleaned in words:
            return move
    return None
