"""Scheduler and broadcast benchmarks (issue 5). Prints figures; nothing is asserted.

1. Planning the next nudge for 50,000 people in 400 time zones (cold and warm cache), and a full plan() pass.
2. A 10,000-recipient broadcast against the loopback Slack stub answering 429 (Retry-After 1) to 10 % and 500
   to 1 % of chat.postMessage calls: lost, duplicated (from the stub's recorded calls per recipient),
   throughput vs the configured pace, RSS of the sending process over time.
3. The same with `kill -9` of the sending process in the middle, then a restart.

Usage: .venv/bin/python bench/bench_scheduler.py [--n 10000] [--rate 100] [--people 50000] [--skip-broadcast]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import available_timezones

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scheduler.planning import Pair, PersonView, next_slot, plan  # noqa: E402
from scheduler.slots import Rule, slots_around  # noqa: E402


def bench_planning(n: int) -> None:
    zones = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))[:400]
    rng = random.Random(5)
    rules = [Rule(), Rule("biweekly", 3, Rule().at), Rule("monthly", 0, Rule().at, datetime(2024, 1, 31).date())]
    managers = [PersonView(f"M{i}", rng.choice(zones)) for i in range(n // 10)]
    pairs = []
    for i in range(n):
        m = managers[i % len(managers)]
        pairs.append(Pair(m, PersonView(f"E{i}", rng.choice(zones), None, m.slack_id), rng.choice(rules)))
    now = datetime(2025, 3, 28, 12, 0, tzinfo=UTC)  # the weekend Europe changes clocks
    for label in ("cold", "warm"):
        if label == "cold":
            slots_around.cache_clear()
        t0 = time.perf_counter()
        for p in pairs:
            next_slot(p, now)
        print(f"planning: next nudge for {n:,} people in {len(zones)} zones ({label} cache): "
              f"{time.perf_counter() - t0:.3f} s")
    t0 = time.perf_counter()
    due = plan(pairs, now=now)
    print(f"planning: full plan() at one instant for {n:,} pairs: {time.perf_counter() - t0:.3f} s ({len(due)} due)")


# --- broadcast -----------------------------------------------------------------------------------------------


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def worker(url: str, api: str, rate: float, lease: float) -> None:
    """The sending process: drain the queue until it is empty, printing RSS samples."""
    from bot.services import build_services
    from bot.settings import load_settings
    from scheduler import jobs
    from scheduler.delivery import DrainConfig, drain

    services = build_services(load_settings(database_url=url, slack_api_url=api, slack_bot_token="xoxb-bench",
                                            growthloop_broadcast_rate_per_s=rate,
                                            growthloop_data_dir=Path(url.split("///")[-1]).parent), migrate=False)
    sender = jobs.make_sender(services)
    t0 = time.monotonic()
    last = [0.0]

    def sample(stats: object) -> None:
        if time.monotonic() - last[0] >= 5:
            last[0] = time.monotonic()
            print(f"RSS {time.monotonic() - t0:.0f} {rss_kb()}", flush=True)

    stats = drain(services, sender, cfg=DrainConfig(lease_s=lease, backoff_base_s=0.5), until_empty=True,
                  on_pass=sample)
    print(f"RSS {time.monotonic() - t0:.0f} {rss_kb()}", flush=True)
    print(f"STATS sent={stats.sent} failed={stats.failed} retried={stats.retried} "
          f"confirmed_after_crash={stats.confirmed_after_crash} resent_after_crash={stats.resent_after_crash} "
          f"unconfirmed={stats.unconfirmed} calls={sender.calls} rate_limited={sender.rate_limited}", flush=True)


def setup_broadcast(n: int, tmp: Path):  # noqa: ANN201
    from bot.broadcasts import start_broadcast
    from bot.services import Services
    from bot.settings import load_settings
    from bot.slack.sandbox import Faults, SlackStub
    from storage.db import make_engine, session_scope, upgrade
    from storage.models import Person

    stub = SlackStub().start()
    url = f"sqlite:///{tmp / 'bench.db'}"
    engine = make_engine(url)
    upgrade(engine)
    services = Services(settings=load_settings(database_url=url, growthloop_data_dir=tmp), engine=engine)
    with session_scope(engine) as session:
        session.add(Person(slack_id="U0HR", name="Hana", is_hr_admin=True))
        stub.add_user("U0HR", "Hana")
        for i in range(n):
            session.add(Person(slack_id=f"U{i:06d}", name=f"P{i}", team="all"))
            stub.add_user(f"U{i:06d}", f"P{i}")
    out = start_broadcast(services, admin_slack_id="U0HR", spec="all", message="Benchmark broadcast")
    engine.dispose()
    stub.faults = Faults(rate429=0.10, retry_after=1, rate5xx=0.01, methods={"chat.postMessage"})
    return stub, url, out.count


def spawn(url: str, stub, rate: float, lease: float) -> subprocess.Popen[str]:  # noqa: ANN001
    return subprocess.Popen([sys.executable, __file__, "--worker", url, stub.base_url, str(rate), str(lease)],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)


def count(stub, expected: int) -> tuple[int, int, int]:  # noqa: ANN001
    posts = Counter(c.response["channel"] for c in stub.calls_of("chat.postMessage")
                    if c.params.get("text", "").startswith("📣"))
    lost = expected - len(posts)
    dup = sum(v - 1 for v in posts.values() if v > 1)
    reports = sum(1 for c in stub.calls_of("chat.postMessage") if "Delivery report" in c.params.get("text", ""))
    return lost, dup, reports


def collect(proc: subprocess.Popen[str], lines: list[str]) -> threading.Thread:
    def read() -> None:
        assert proc.stdout
        for line in proc.stdout:
            lines.append(line.strip())

    th = threading.Thread(target=read, daemon=True)
    th.start()
    return th


def bench_broadcast(n: int, rate: float, kill: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="gl-bench-") as tmp:
        stub, url, total = setup_broadcast(n, Path(tmp))
        lines: list[str] = []
        t0 = time.monotonic()
        proc = spawn(url, stub, rate, 2.0)
        th = collect(proc, lines)
        if kill:
            stub.wait_for(lambda s: len(s.calls_of("chat.postMessage")) >= total // 2, timeout=3600)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            th.join()
            at_kill = len(stub.calls_of("chat.postMessage"))
            print(f"kill -9: sender killed after {at_kill:,} delivered posts; restarting")
            proc = spawn(url, stub, rate, 2.0)
            th = collect(proc, lines)
        proc.wait()
        th.join()
        elapsed = time.monotonic() - t0
        lost, dup, reports = count(stub, total)
        ok_posts = len([c for c in stub.calls if c.method == "chat.postMessage"])
        label = "broadcast + kill -9 + restart" if kill else "broadcast"
        print(f"{label}: {total:,} recipients, pace {rate:g}/s: lost {lost}, duplicated {dup}, "
              f"report DMs {reports}, {elapsed:.1f} s")
        delivered = total - lost
        print(f"  throughput: delivered {delivered / elapsed:.1f}/s = {100 * delivered / elapsed / rate:.0f}% of pace; "
              f"API calls {ok_posts / elapsed:.1f}/s = {100 * ok_posts / elapsed / rate:.0f}% of pace "
              f"(429: {sum(1 for c in stub.calls if c.status == 429):,}, "
              f"5xx: {sum(1 for c in stub.calls if c.status >= 500):,})")
        ts = sorted(c.at for c in stub.calls if c.method == "chat.postMessage")
        if len(ts) > 1:
            span = ts[-1] - ts[0]
            print(f"  from first to last call ({span:.1f} s): delivered {delivered / span:.1f}/s = "
                  f"{100 * delivered / span / rate:.0f}% of pace, API calls {len(ts) / span:.1f}/s = "
                  f"{100 * len(ts) / span / rate:.0f}% of pace")
        rss = [line.split() for line in lines if line.startswith("RSS")]
        if rss:
            print("  sender RSS (s: MiB): " + ", ".join(f"{r[1]}: {int(r[2]) / 1024:.0f}" for r in rss[:: max(
                1, len(rss) // 12)]))
        for line in lines:
            if line.startswith("STATS"):
                print("  " + line)
        stub.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", nargs=4)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--people", type=int, default=50_000)
    ap.add_argument("--skip-broadcast", action="store_true")
    args = ap.parse_args()
    if args.worker:
        url, api, rate, lease = args.worker
        worker(url, api, float(rate), float(lease))
        return
    bench_planning(args.people)
    if not args.skip_broadcast:
        bench_broadcast(args.n, args.rate, kill=False)
        bench_broadcast(args.n, args.rate, kill=True)


if __name__ == "__main__":
    main()
