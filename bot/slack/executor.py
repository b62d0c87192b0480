"""The listener pool: work that still owes Slack its ack runs before work that was already acknowledged.

Bolt runs every listener on one executor. An event (a thread reply) is acknowledged before its listener is queued,
but a slash command, a button or a view submission is acknowledged by its listener: its HTTP response waits until a
listener thread picks it up. With one FIFO queue those acks waited behind every queued thread reply (the
seconds-long p99 of bench/bench_load.py). Here such listeners go to the front of the queue; the rest keep their
order. Fewer threads than requests also bound how many threads compete for the GIL.

A few more threads, the ack lane, take nothing but such listeners, so an ack never waits for a thread while every
other one is busy with acknowledged work (a herd of check-ins starting at once held all eight, the HTTP threads
waited for those acks, and thread replies queued behind them for a second). A listener on the ack lane hands the
work after its ack to the other threads with `defer`, so the lane stays free.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

log = logging.getLogger(__name__)
_local = threading.local()


def owes_ack(fn: Callable[..., Any]) -> bool:
    """Whether `fn` is Bolt's wrapper around a listener that acknowledges the request itself (not an event)."""
    code, cells = getattr(fn, "__code__", None), getattr(fn, "__closure__", None) or ()
    if code is None:
        return False
    closure = dict(zip(code.co_freevars, cells, strict=False))
    listener = closure.get("listener")
    if listener is None:
        return False
    try:
        return not getattr(listener.cell_contents, "auto_acknowledgement", True)
    except ValueError:  # an empty cell
        return False


def defer(fn: Callable[[], Any], *, on_error: Callable[[], Any] | None = None) -> None:
    """Run `fn` after the current listener: on the general threads when called from the ack lane, else now.

    Run now, a failure reaches Bolt's error handler as the listener's own; deferred, it has none, so it is logged and
    `on_error` (telling the user, say) is called instead."""
    executor: AckFirstExecutor | None = getattr(_local, "ack_lane_of", None)
    if executor is None:
        fn()
        return
    executor.submit_later(fn, on_error=on_error)


def _logged(fn: Callable[[], Any], on_error: Callable[[], Any] | None = None) -> None:
    try:
        fn()
    except Exception:  # deferred work has no Bolt error handler around it
        log.exception("deferred listener work failed")
        if on_error is not None:
            on_error()


class AckFirstExecutor(Executor):
    """A fixed pool of daemon threads with two queues: listeners that owe an ack first, then the rest (FIFO); and
    `ack_workers` threads more that take only the first kind."""

    def __init__(self, max_workers: int, thread_name_prefix: str = "listener", ack_workers: int = 0) -> None:
        self._urgent: deque[tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = deque()
        self._normal: deque[tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = deque()
        lock = threading.Lock()
        self._cv = threading.Condition(lock)  # the general threads wait here
        self._cv_ack = threading.Condition(lock)  # the ack lane waits here
        self._shutdown = False
        self._threads = [
            threading.Thread(target=self._work, name=f"{thread_name_prefix}_{i}", daemon=True)
            for i in range(max_workers)
        ] + [
            threading.Thread(target=self._work, args=(True,), name=f"{thread_name_prefix}_ack_{i}", daemon=True)
            for i in range(ack_workers)
        ]
        for t in self._threads:
            t.start()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return self._put(owes_ack(fn), fn, args, kwargs)

    def submit_later(self, fn: Callable[[], Any], *, on_error: Callable[[], Any] | None = None) -> Future[Any]:
        """Queue `fn` behind the work that owes an ack, for the general threads (errors are logged, then `on_error`)."""
        return self._put(False, _logged, (fn, on_error), {})

    def _put(self, urgent: bool, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Future[Any]:
        future: Future[Any] = Future()
        with self._cv:
            if self._shutdown:
                raise RuntimeError("cannot schedule new work after shutdown")
            (self._urgent if urgent else self._normal).append((future, fn, args, kwargs))
            if urgent:
                self._cv_ack.notify()
            self._cv.notify()
        return future

    def pending(self) -> tuple[int, int]:
        """(urgent, normal) items waiting for a thread."""
        with self._cv:
            return len(self._urgent), len(self._normal)

    def _work(self, ack_lane: bool = False) -> None:
        if ack_lane:
            _local.ack_lane_of = self
        cv = self._cv_ack if ack_lane else self._cv
        while True:
            with cv:
                while not (self._urgent or (self._normal and not ack_lane) or self._shutdown):
                    cv.wait()
                if self._urgent:
                    item = self._urgent.popleft()
                elif self._normal and not ack_lane:
                    item = self._normal.popleft()
                else:
                    return
            future, fn, args, kwargs = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # delivered through the future, as ThreadPoolExecutor does
                future.set_exception(exc)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._cv:
            self._shutdown = True
            if cancel_futures:
                for future, *_ in (*self._urgent, *self._normal):
                    future.cancel()
                self._urgent.clear()
                self._normal.clear()
            self._cv.notify_all()
            self._cv_ack.notify_all()
        if wait:
            for t in self._threads:
                t.join()
