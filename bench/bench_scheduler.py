"""Scheduler and broadcast benchmarks (issue 5). Prints figures; nothing is asserted.

1. Planning the next nudge for 50,000 people in 400 time zones (cold and warm cache), and a full plan() pass.
2. A 10,000-recipient broadcast against the loopback Slack stub answering 429 (Retry-After 1) to 10 % and 500
   to 1 % of chat.postMessage calls: lost, duplicated (from the stub's recorded calls per recipient),
   throughput vs the configured pace, RSS of the sending process over time.
3. The same with `kill -9` of the sending process in the middle, then a restart.

Usage: .venv/bin/python bench/bench_scheduler.py [--n 10000] [--rate 100] [--people 50000] [--skip-broadcast]
       [--only planning|broadcast|kill ...]
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
from scheduler.slots import Rule, _manager_slots, slots_around  # noqa: E402


def bench_planning(n: int, same_zone: float = 0.0) -> None:
    """Every report in a zone drawn apart from their manager's (`same_zone` 0: each pair has its own two zones to
    fit a time into, the worst case), or in the manager's zone with probability `same_zone` (most organisations)."""
    zones = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))[:400]
    rng = random.Random(5)
    rules = [Rule(), Rule("biweekly", 3, Rule().at), Rule("monthly", 0, Rule().at, datetime(2024, 1, 31).date())]
    managers = [PersonView(f"M{i}", rng.choice(zones)) for i in range(n // 10)]
    pairs = []
    for i in range(n):
        m = managers[i % len(managers)]
        tz = m.tz if same_zone and rng.random() < same_zone else rng.choice(zones)
        pairs.append(Pair(m, PersonView(f"E{i}", tz, None, m.slack_id), rng.choice(rules)))
    now = datetime(2025, 3, 28, 12, 0, tzinfo=UTC)  # the weekend Europe changes clocks
    if same_zone:
        print(f"planning: {same_zone:.0%} of reports in their manager's zone, the others anywhere")
    for label in ("cold", "warm"):
        if label == "cold":
            slots_around.cache_clear()
            _manager_slots.cache_clear()
        t0 = time.perf_counter()
        for p in pairs:
            next_slot(p, now)
        print(
            f"planning: next nudge for {n:,} people in {len(zones)} zones ({label} cache): "
            f"{time.perf_counter() - t0:.3f} s"
        )
    for label in ("cold", "warm"):
        if label == "cold":
            slots_around.cache_clear()
            _manager_slots.cache_clear()
        t0 = time.perf_counter()
        due = plan(pairs, now=now)
        print(
            f"planning: full plan() at one instant for {n:,} pairs ({label} cache): {time.perf_counter() - t0:.3f} s "
            f"({len(due)} due)"
        )


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

    services = build_services(
        load_settings(
            database_url=url,
            slack_api_url=api,
            slack_bot_token="xoxb-bench",
            growthloop_broadcast_rate_per_s=rate,
            growthloop_data_dir=Path(url.split("///")[-1]).parent,
        ),
        migrate=False,
    )
    sender = jobs.make_sender(services)
    t0 = time.monotonic()
    last = [0.0]
    print(f"RSS 0 {rss_kb()}", flush=True)

    def sample(stats: object) -> None:
        if time.monotonic() - last[0] >= 5:
            last[0] = time.monotonic()
            print(f"RSS {time.monotonic() - t0:.0f} {rss_kb()}", flush=True)

    stats = drain(
        services, sender, cfg=DrainConfig(lease_s=lease, backoff_base_s=0.5), until_empty=True, on_pass=sample
    )
    print(f"RSS {time.monotonic() - t0:.0f} {rss_kb()}", flush=True)
    print(
        f"STATS sent={stats.sent} failed={stats.failed} retried={stats.retried} "
        f"confirmed_after_crash={stats.confirmed_after_crash} resent_after_crash={stats.resent_after_crash} "
        f"unconfirmed={stats.unconfirmed} calls={sender.calls} rate_limited={sender.rate_limited} "
        f"refunded={sender.bucket('chat.postMessage').refunded} holds={sender.holds}",
        flush=True,
    )


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
    return subprocess.Popen(
        [sys.executable, __file__, "--worker", url, stub.base_url, str(rate), str(lease)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def count(stub, expected: int) -> tuple[int, int, int]:  # noqa: ANN001
    posts = Counter(
        c.response["channel"] for c in stub.calls_of("chat.postMessage") if c.params.get("text", "").startswith("📣")
    )
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


def _rss_summary(lines: list[str]) -> str:
    """RSS of the sender over time: start, peak, end, and the change over the second half of the run."""
    rss = [(float(r[1]), int(r[2]) / 1024) for r in (line.split() for line in lines if line.startswith("RSS "))]
    if not rss:
        return "no samples"
    half = [m for t, m in rss if t >= rss[-1][0] / 2]
    samples = ", ".join(f"{t:.0f}s {m:.0f}" for t, m in rss[:: max(1, len(rss) // 10)])
    return (
        f"start {rss[0][1]:.0f} MiB, peak {max(m for _, m in rss):.0f}, end {rss[-1][1]:.0f}; second half "
        f"{min(half):.0f}-{max(half):.0f} MiB (samples: {samples})"
    )


def bench_broadcast(n: int, rate: float, kill: bool) -> None:
    """Throughput, defined: the pace is the rate of chat.postMessage calls Slack counts (the token bucket's
    rate). Delivered/s = recipients who got the message / the time from the first broadcast call to the last
    successful one. Calls/s = every chat.postMessage call in that span, refused ones included; "counted" calls
    leave out the isolated 429s the sender refunds (Slack refused them before counting)."""
    with tempfile.TemporaryDirectory(prefix="gl-bench-") as tmp:
        stub, url, total = setup_broadcast(n, Path(tmp))
        lines: list[str] = []
        t0 = time.time()
        proc = spawn(url, stub, rate, 2.0)
        th = collect(proc, lines)
        if kill:
            stub.wait_for(lambda s: len(s.calls_of("chat.postMessage")) >= total // 2, timeout=3600)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            th.join()
            at_kill = len(stub.calls_of("chat.postMessage"))
            print(
                f"kill -9: sender killed after {at_kill:,} delivered posts; restarting "
                f"(killed sender's RSS: {_rss_summary(lines)})"
            )
            lines = []
            proc = spawn(url, stub, rate, 2.0)
            th = collect(proc, lines)
        proc.wait()
        th.join()
        end = time.time()
        lost, dup, reports = count(stub, total)
        label = "broadcast + kill -9 + restart" if kill else "broadcast"
        delivered = total - lost
        posts = [
            c for c in stub.calls if c.method == "chat.postMessage" and str(c.params.get("text", "")).startswith("📣")
        ]
        ok = [c for c in posts if c.status == 200]
        n429 = sum(1 for c in posts if c.status == 429)
        n5xx = sum(1 for c in posts if c.status >= 500)
        span = (max(c.at for c in ok) - min(c.at for c in posts)) if ok else float("nan")
        stats = next((line for line in lines if line.startswith("STATS")), "")
        holds = int(stats.split("holds=")[1].split()[0]) if "holds=" in stats else 0
        print(f"{label}: {total:,} recipients, pace {rate:g}/s: lost {lost}, duplicated {dup}, report DMs {reports}")
        print(
            f"  delivered {delivered / span:.1f}/s = {100 * delivered / span / rate:.1f}% of pace "
            f"(first to last broadcast call, {span:.1f} s); end to end incl. process start-up: "
            f"{delivered / (end - t0):.1f}/s ({end - t0:.1f} s)"
        )
        print(
            f"  calls {len(posts) / span:.1f}/s ({len(posts):,}: {len(ok):,} ok, {n429:,} 429, {n5xx:,} 5xx); "
            f"counted by Slack (without refunded 429s) {(len(posts) - n429) / span:.1f}/s = "
            f"{100 * (len(posts) - n429) / span / rate:.1f}% of pace; method holds (429 streaks): {holds}"
        )
        print(f"  sender RSS: {_rss_summary(lines)}")
        if stats:
            print("  " + stats)
        stub.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", nargs=4)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--people", type=int, default=50_000)
    ap.add_argument("--skip-broadcast", action="store_true")
    ap.add_argument(
        "--only",
        choices=["planning", "broadcast", "kill"],
        action="append",
        help="run only these parts (repeatable); default: all three",
    )
    args = ap.parse_args()
    if args.worker:
        url, api, rate, lease = args.worker
        worker(url, api, float(rate), float(lease))
        return
    parts = set(args.only or ["planning", "broadcast", "kill"])
    if args.skip_broadcast:
        parts -= {"broadcast", "kill"}
    if "planning" in parts:
        bench_planning(args.people)
        bench_planning(args.people, same_zone=0.8)
    if "broadcast" in parts:
        bench_broadcast(args.n, args.rate, kill=False)
    if "kill" in parts:
        bench_broadcast(args.n, args.rate, kill=True)


if __name__ == "__main__":
    main()
