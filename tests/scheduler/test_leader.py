"""Two scheduler processes on one PostgreSQL database: exactly one leads and runs jobs; the other takes over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from storage.db import make_engine, upgrade


class Proc:
    def __init__(self, url: str, tmp: Path) -> None:
        self.p = subprocess.Popen([sys.executable, "-m", "tests.scheduler.leader_proc", url, str(tmp)],
                                  stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2],
                                  env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.p.stdout
        for line in self.p.stdout:
            self.lines.append(line.split()[0])

    def leads(self) -> bool:
        status = [x for x in self.lines if x in ("LEADER", "STANDBY")]
        return bool(status) and status[-1] == "LEADER"

    def ticks(self) -> int:
        return self.lines.count("TICK")


def wait(pred, timeout: float = 30.0) -> None:  # noqa: ANN001
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise TimeoutError
        time.sleep(0.1)


@pytest.mark.postgres
def test_two_schedulers_one_leader_then_failover(pg_url: str, tmp_path: Path) -> None:
    eng = make_engine(pg_url)
    upgrade(eng)
    eng.dispose()
    a, b = Proc(pg_url, tmp_path), Proc(pg_url, tmp_path)
    try:
        wait(lambda: (a.leads() or b.leads()) and len(a.lines) > 10 and len(b.lines) > 10)
        time.sleep(1.0)
        assert a.leads() != b.leads()  # exactly one leader
        leader, standby = (a, b) if a.leads() else (b, a)
        wait(lambda: leader.ticks() >= 1)
        assert standby.ticks() == 0  # only the leader runs jobs
        leader.p.send_signal(signal.SIGKILL)  # the leader dies: its connection closes, the lock is free
        wait(standby.leads)
        wait(lambda: standby.ticks() >= 1)
    finally:
        for p in (a, b):
            p.p.kill()
            p.p.wait(timeout=10)
