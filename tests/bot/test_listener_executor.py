"""The listener pool runs work that still owes Slack an ack before work that was already acknowledged."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest

from bot.slack.executor import AckFirstExecutor, owes_ack


def _bolt_like(auto_ack: bool, log: list[str], name: str) -> Any:
    """A closure shaped like Bolt's `run_ack_function_asynchronously` (it closes over `listener`)."""
    listener = SimpleNamespace(auto_acknowledgement=auto_ack)

    def run_ack_function_asynchronously() -> None:
        assert listener is not None
        log.append(name)

    return run_ack_function_asynchronously


def test_owes_ack_reads_the_listener_kind() -> None:
    assert owes_ack(_bolt_like(False, [], "command")) is True
    assert owes_ack(_bolt_like(True, [], "event")) is False
    assert owes_ack(lambda: None) is False
    assert owes_ack(print) is False


def test_acks_jump_the_queue_and_the_rest_keep_their_order() -> None:
    pool = AckFirstExecutor(1)
    busy, gate, log = threading.Event(), threading.Event(), []
    pool.submit(lambda: (busy.set(), gate.wait()))  # the only thread is busy
    assert busy.wait(5)
    futures = [pool.submit(_bolt_like(True, log, f"reply {i}")) for i in range(3)]
    futures.append(pool.submit(_bolt_like(False, log, "slash command")))
    assert pool.pending() == (1, 3)
    gate.set()
    for f in futures:
        f.result(timeout=5)
    assert log == ["slash command", "reply 0", "reply 1", "reply 2"]
    pool.shutdown()


def test_errors_reach_the_future_and_shutdown_refuses_new_work() -> None:
    pool = AckFirstExecutor(2)

    def boom() -> None:
        raise ValueError("listener failed")

    with pytest.raises(ValueError, match="listener failed"):
        pool.submit(boom).result(timeout=5)
    assert pool.submit(lambda x: x * 2, 21).result(timeout=5) == 42
    pool.shutdown(wait=True)
    with pytest.raises(RuntimeError):
        pool.submit(lambda: None)
