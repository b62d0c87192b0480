"""The listener pool runs work that still owes Slack an ack before work that was already acknowledged."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest

from bot.slack.executor import AckFirstExecutor, defer, owes_ack


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


def test_the_ack_lane_takes_acks_while_every_other_thread_is_busy() -> None:
    pool = AckFirstExecutor(2, ack_workers=1)
    gate, log = threading.Event(), []
    started = [threading.Event(), threading.Event()]
    for ev in started:
        pool.submit(lambda ev=ev: (ev.set(), gate.wait()))  # both general threads busy with acknowledged work
    assert all(ev.wait(5) for ev in started)
    reply = pool.submit(_bolt_like(True, log, "reply"))  # the ack lane never takes this one
    command = pool.submit(_bolt_like(False, log, "slash command"))
    command.result(timeout=5)
    assert log == ["slash command"] and not reply.done()
    assert pool.pending() == (0, 1)
    gate.set()
    reply.result(timeout=5)
    assert log == ["slash command", "reply"]
    pool.shutdown()


def test_defer_from_the_ack_lane_hands_the_rest_to_the_general_threads() -> None:
    pool = AckFirstExecutor(1, ack_workers=1)
    where: dict[str, str] = {}
    done = threading.Event()

    def after_ack() -> None:
        where["after"] = threading.current_thread().name
        done.set()

    def command_body() -> None:
        where["ack"] = threading.current_thread().name
        defer(after_ack)

    listener = SimpleNamespace(auto_acknowledgement=False)

    def run_ack_function_asynchronously() -> None:
        assert listener is not None
        command_body()

    gate = threading.Event()
    busy = threading.Event()
    pool.submit(lambda: (busy.set(), gate.wait()))  # the general thread is busy: the command runs on the lane
    assert busy.wait(5)
    pool.submit(run_ack_function_asynchronously).result(timeout=5)
    assert where["ack"].startswith("listener_ack_")
    assert not done.is_set() and pool.pending() == (0, 1)  # queued for the general thread, not run on the lane
    gate.set()
    assert done.wait(5)
    assert not where["after"].startswith("listener_ack_")
    pool.shutdown()


def test_defer_elsewhere_runs_at_once() -> None:
    ran = []
    defer(lambda: ran.append(threading.current_thread().name))
    assert ran == [threading.current_thread().name]


def test_deferred_errors_are_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    pool = AckFirstExecutor(1, ack_workers=1)

    def boom() -> None:
        raise RuntimeError("deferred failed")

    pool.submit_later(boom).result(timeout=5)
    assert "deferred listener work failed" in caplog.text
    pool.shutdown()


def test_deferred_errors_call_on_error_and_inline_ones_reach_the_caller() -> None:
    pool = AckFirstExecutor(1, ack_workers=1)
    told: list[str] = []

    def boom() -> None:
        raise RuntimeError("posting failed")

    pool.submit_later(boom, on_error=lambda: told.append("told")).result(timeout=5)
    assert told == ["told"]
    with pytest.raises(RuntimeError, match="posting failed"):  # not on the ack lane: Bolt's error handler tells
        defer(boom, on_error=lambda: told.append("twice"))
    assert told == ["told"]
    pool.shutdown()
