"""The listener pool: work that still owes Slack its ack runs before work that was already acknowledged.

Bolt runs every listener on one executor. An event (a thread reply) is acknowledged before its listener is queued,
but a slash command, a button or a view submission is acknowledged by its listener: its HTTP response waits until a
listener thread picks it up. With one FIFO queue those acks waited behind every queued thread reply (the
seconds-long p99 of bench/bench_load.py). Here such listeners go to the front of the queue; the rest keep their
order. Fewer threads than requests also bound how many threads compete for the GIL.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any


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


class AckFirstExecutor(Executor):
    """A fixed pool of daemon threads with two queues: listeners that owe an ack first, then the rest (FIFO)."""

    def __init__(self, max_workers: int, thread_name_prefix: str = "listener") -> None:
        self._urgent: deque[tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = deque()
        self._normal: deque[tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = deque()
        self._cv = threading.Condition()
        self._shutdown = False
        self._threads = [
            threading.Thread(target=self._work, name=f"{thread_name_prefix}_{i}", daemon=True)
            for i in range(max_workers)
        ]
        for t in self._threads:
            t.start()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        with self._cv:
            if self._shutdown:
                raise RuntimeError("cannot schedule new work after shutdown")
            (self._urgent if owes_ack(fn) else self._normal).append((future, fn, args, kwargs))
            self._cv.notify()
        return future

    def pending(self) -> tuple[int, int]:
        """(urgent, normal) items waiting for a thread."""
        with self._cv:
            return len(self._urgent), len(self._normal)

    def _work(self) -> None:
        while True:
            with self._cv:
                while not (self._urgent or self._normal or self._shutdown):
                    self._cv.wait()
                if self._urgent:
                    item = self._urgent.popleft()
                elif self._normal:
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
        if wait:
            for t in self._threads:
                t.join()
