from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.checkin_flow import FlowState, Move, apply, word_command


def test_answers_walk_to_the_end() -> None:
    s = FlowState(0, 3)
    s = apply(s, Move.ANSWER)
    s = apply(s, Move.SKIP)
    assert (s.step, s.finished) == (2, False)
    s = apply(s, Move.ANSWER)
    assert s.finished


def test_back_stops_at_the_first_question_and_done_finishes() -> None:
    assert apply(FlowState(0, 8), Move.BACK).step == 0
    assert apply(FlowState(5, 8), Move.BACK).step == 4
    assert apply(FlowState(2, 8), Move.DONE).finished
    done = FlowState(7, 8, finished=True)
    assert apply(done, Move.ANSWER) == done


@given(st.lists(st.sampled_from(list(Move)), max_size=40), st.integers(min_value=1, max_value=12))
def test_step_always_in_range(moves: list[Move], total: int) -> None:
    s = FlowState(0, total)
    for m in moves:
        s = apply(s, m)
        assert 0 <= s.step < total


def test_steering_words_in_both_languages() -> None:
    assert word_command("Skip") is Move.SKIP
    assert word_command(" done! ") is Move.DONE
    assert (
        word_command("跳过") is Move.SKIP and word_command("返回") is Move.BACK and word_command("结束。") is Move.DONE
    )
    assert word_command("I am done with the migration") is None
    assert word_command("") is None
