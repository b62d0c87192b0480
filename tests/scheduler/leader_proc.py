"""A scheduler process for the leader-lock test: runs the real Runner and reports whether it leads and ticks."""

from __future__ import annotations

import os
import sys
import time

from bot.services import build_services
from bot.settings import load_settings
from scheduler import jobs, runner


def tick() -> int:  # replaces the real tick: prints which process ran the job
    print(f"TICK {os.getpid()}", flush=True)
    return 0


def main() -> None:
    url, data_dir = sys.argv[1], sys.argv[2]
    services = build_services(load_settings(database_url=url, growthloop_data_dir=data_dir), migrate=False)
    jobs.tick = tick  # type: ignore[assignment]
    r = runner.Runner(services, poll_s=0.2).start()
    while True:
        print(f"{'LEADER' if r.leading.is_set() else 'STANDBY'} {os.getpid()}", flush=True)
        time.sleep(0.2)


if __name__ == "__main__":
    main()
