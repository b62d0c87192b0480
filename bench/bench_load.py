"""Load: signed slash commands and check-in thread replies over HTTP to `growthloop serve --http` on loopback.

One and four worker processes (SO_REUSEPORT on one port) on PostgreSQL (or SQLite with --sqlite). Prints ack latency
p50/p99 at each rate, errors, and answers stored vs replies sent; then serve's RSS before/after a soak.

    .venv/bin/python bench/bench_load.py [--rates 50,100,200] [--seconds 20] [--workers 1,4] [--soak 600]
        [--analysis-workers N]   # check-in analyses in N `growthloop worker` processes instead of in serve
        [--herd]                 # every check-in ends and restarts in the same seconds (no staggered start)
"""

from __future__ import annotations

import argparse
import gc
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.demo.sandbox import stub_users_from_csv  # noqa: E402
from bot.slack.sandbox import SlackDriver, SlackStub  # noqa: E402
from storage.db import make_engine  # noqa: E402

SECRET = "bench-secret"
PG_ADMIN = os.environ.get("GROWTHLOOP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def people_csv(pairs: int) -> str:
    rows = ["slack_id,name,email,manager_slack_id,team,role,timezone,locale,is_hr_admin"]
    for i in range(pairs):
        rows.append(f"UM{i:05d},Manager {i},,,{'t' + str(i % 20)},em,Europe/Berlin,en,false")
        rows.append(
            f"UE{i:05d},Employee {i},,UM{i:05d},{'t' + str(i % 20)},pm,Asia/Shanghai,{'zh' if i % 2 else 'en'},false"
        )
    return "\n".join(rows) + "\n"


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cpu_s(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process so far (from /proc), NaN when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan"), float("nan")
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


class Cluster:
    def __init__(self, workers: int, db_url: str, data_dir: Path, stub: SlackStub, analysis_workers: int = 0) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": stub.base_url,
            "GROWTHLOOP_DATA_DIR": str(data_dir),
            "DATABASE_URL": db_url,
        }
        for k in ("SLACK_APP_TOKEN", "OPENAI_API_KEY", "CHROMA_URL"):
            env.pop(k, None)
        if analysis_workers:
            env["GROWTHLOOP_ANALYSIS"] = "worker"
        # Analysis workers stand in for separate machines: on this 2-core machine they get only the CPU nobody else
        # wants (SCHED_IDLE; at nice 10 their embedding threads still took a share and added seconds to serve's p99).
        idle = ["chrt", "--idle", "0"] if shutil.which("chrt") else ["nice", "-n", "19"]
        self.analysts = [
            subprocess.Popen(
                [*idle, sys.executable, "-m", "bot.cli", "worker"],
                env=env,
                cwd=ROOT,
                stdout=(data_dir / f"worker{i}.log").open("w"),  # kept: an owed backlog says where to look
                stderr=subprocess.STDOUT,
            )
            for i in range(analysis_workers)
        ]
        self.procs = []
        for i in range(workers):
            self.procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "bot.cli",
                        "serve",
                        "--http",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(self.port),
                        "--no-scheduler",
                    ],
                    env=env,
                    stdout=(data_dir / f"serve{i}.log").open("w"),
                    stderr=subprocess.STDOUT,
                    cwd=ROOT,
                )
            )
            if i == 0:
                self._healthy_or_stop()
        self._healthy_or_stop()
        self.url = f"http://127.0.0.1:{self.port}"

    def _healthy_or_stop(self) -> None:
        try:
            self.wait_healthy()
        except RuntimeError:
            self.stop()  # no orphaned worker polling a dropped database for the rest of the day
            raise RuntimeError(f"serve did not become healthy; its log is in {self.data_dir}") from None

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("serve did not become healthy")

    def rss(self) -> list[float]:
        return [rss_mb(p.pid) for p in self.procs]

    def cpu(self) -> tuple[float, float]:
        """(user, system) CPU seconds used so far by the serve processes together (analysis workers not counted)."""
        per = [cpu_s(p.pid) for p in self.procs]
        return sum(u for u, _ in per), sum(s for _, s in per)

    def stop(self) -> None:
        for p in self.procs + self.analysts:
            p.terminate()
        for p in self.procs + self.analysts:
            p.wait(timeout=30)


def profile(pid: int, out: str, seconds: float, gil: bool = True) -> subprocess.Popen[bytes]:
    """py-spy sampling `pid` for the timed window, in its raw format: only the thread holding the GIL (`gil`), or
    every thread that is not idle (CPU on and off the GIL: C extensions that release it, such as the driver)."""
    exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    cmd = [exe, "record", "-p", str(pid), "-d", str(int(seconds)), "--nonblocking", "-f", "raw", "-o", out]
    if gil:
        cmd.insert(2, "--gil")
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


ANSWERS_PER_CHECKIN = 8


class Threads:
    """The check-in threads replies go to. With `rotate`, a check-in that got its last answer is restarted by its
    manager (`/checkin @employee`, sent as one of the load's slash commands) and its new thread is picked up from the
    stub, so a long soak keeps real check-ins starting, running and finishing instead of replying to closed ones."""

    def __init__(self, rows: list[tuple[str, str, str]], stub: SlackStub, rotate: bool) -> None:
        self.rows = [[u, ch, ts, 0] for u, ch, ts in rows]
        self.stub, self.rotate = stub, rotate
        self.lock = threading.Lock()
        self.next = 0
        self.restarts: queue.Queue[int] = queue.Queue()
        self.waiting: dict[str, int] = {}  # channel -> row waiting for its new root message
        self.seen = len(stub.calls_since(0))  # an index into all of the stub's calls
        self.started = 0

    def pick(self) -> tuple[str, str, str] | None:
        """The next thread still taking answers (round robin); counts the answer."""
        with self.lock:
            for _ in range(len(self.rows)):
                row = self.rows[self.next % len(self.rows)]
                self.next += 1
                if row[3] < ANSWERS_PER_CHECKIN or not self.rotate:
                    row[3] += 1
                    if self.rotate and row[3] == ANSWERS_PER_CHECKIN:
                        self.restarts.put(self.rows.index(row))
                    return row[0], row[1], row[2]
            return None

    def restart_due(self) -> tuple[str, str] | None:
        """(manager, employee) of a check-in to restart, if any; its thread waits for the new root message."""
        try:
            i = self.restarts.get_nowait()
        except queue.Empty:
            return None
        row = self.rows[i]
        with self.lock:
            self.waiting[row[1]] = i
            self.started += 1
        return "UM" + row[0][2:], row[0]

    def refresh(self) -> None:
        # Only the calls since the last look: scanning every call the stub ever recorded (100 000+ in a soak) twice
        # a second held the generator's GIL longer as the soak went on, and that delay was measured as serve's.
        new = self.stub.calls_since(self.seen)
        self.seen += len(new)
        new = [c for c in new if c.succeeded("chat.postMessage")]
        with self.lock:
            for c in new:
                ch = c.params.get("channel")
                if not c.params.get("thread_ts") and ch in self.waiting:
                    row = self.rows[self.waiting.pop(ch)]
                    row[2], row[3] = c.response["ts"], 0


def stagger(driver: SlackDriver, threads: Threads, counter: dict[str, int]) -> None:
    """Before the timed load, answer check-in i (i mod ANSWERS_PER_CHECKIN) times, so check-ins end and restart spread
    evenly over the load, as real ones do. Without it every check-in gets its last answer within the same few seconds
    (the round robin gives each one answer per sweep): a herd of restarts that `--herd` keeps on purpose."""
    jobs: queue.Queue[tuple[str, str, str]] = queue.Queue()
    for i, row in enumerate(threads.rows):
        for _ in range(i % ANSWERS_PER_CHECKIN):
            jobs.put((row[0], row[1], row[2]))
        row[3] = i % ANSWERS_PER_CHECKIN
    lock = threading.Lock()

    def answer() -> None:
        while True:
            try:
                user, channel, thread = jobs.get_nowait()
            except queue.Empty:
                return
            driver.message(user, channel, f"warm-up {uuid.uuid4().hex[:6]}", thread_ts=thread, record=False)
            with lock:
                counter["replies"] += 1

    pool = [threading.Thread(target=answer, daemon=True) for _ in range(4)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()


SLOW_MS = 50  # the goal's p99


def run_rate(
    driver: SlackDriver, rate: int, seconds: float, threads: Threads, counter: dict[str, int]
) -> dict[str, float]:
    """Open-loop load at `rate` req/s: half slash commands (`/checkin help`, or a manager restarting a finished
    check-in), half thread replies spread over the check-ins still taking answers."""
    total = int(rate * seconds)
    jobs: queue.Queue[tuple[float, int] | None] = queue.Queue()
    lat: list[float] = []
    sent_at: list[float] = []  # seconds into the window, beside `lat`, to tell stalls from steady queueing
    by_kind: dict[str, list[float]] = {}
    errors = [0]
    lock = threading.Lock()

    def worker() -> None:
        while True:
            job = jobs.get()
            if job is None:
                return
            at, n = job
            delay = at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            t0 = time.perf_counter()
            kind = "slash"
            try:
                restart = threads.restart_due() if n % 2 == 0 else None
                picked = threads.pick() if n % 2 == 1 else None
                if restart is not None:
                    sent = driver.slash(restart[0], "/checkin", f"<@{restart[1]}>")
                elif picked is None:
                    sent = driver.slash(f"UE{n % 50:05d}", "/checkin", "help")
                else:
                    user, channel, thread = picked
                    kind = "reply"
                    sent = driver.message(
                        user, channel, f"answer {n} {uuid.uuid4().hex[:6]}", thread_ts=thread, record=False
                    )
                    with lock:
                        counter["replies"] += 1
                ok = sent.status == 200
            except Exception:
                ok = False
            with lock:
                lat.append((time.perf_counter() - t0) * 1000)
                sent_at.append(t0 - start)
                by_kind.setdefault(kind, []).append(lat[-1])
                if not ok:
                    errors[0] += 1

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(64)]
    for t in pool:
        t.start()
    stop_refresh = threading.Event()

    def refresher() -> None:
        while not stop_refresh.wait(0.5):
            threads.refresh()

    threading.Thread(target=refresher, daemon=True).start()
    # The load generator's own collector stays off in the timed window: a full collection here (the stub keeps every
    # call) stopped this process for 100-300 ms, and those pauses were counted as serve's latency.
    gc.collect()
    gc.freeze()
    gc.disable()
    start = time.perf_counter() + 0.2
    for n in range(total):
        jobs.put((start + n / rate, n))
    for _ in pool:
        jobs.put(None)
    for t in pool:
        t.join()
    gc.enable()
    stop_refresh.set()
    elapsed = time.perf_counter() - start
    kinds = "; ".join(f"{k} p50 {pct(v, 50):.1f} / p99 {pct(v, 99):.1f}" for k, v in sorted(by_kind.items()))
    slow_by_second: dict[int, int] = {}
    for at_s, ms in zip(sent_at, lat, strict=True):
        if ms > SLOW_MS:
            slow_by_second[int(at_s)] = slow_by_second.get(int(at_s), 0) + 1
    worst = sorted(slow_by_second.items(), key=lambda kv: -kv[1])[:4]
    slow = (
        f"over {SLOW_MS} ms: {sum(slow_by_second.values())} requests in {len(slow_by_second)} of {int(seconds)} s"
        + (" (worst: " + ", ".join(f"{n} at {t} s" for t, n in worst) + ")" if worst else "")
    )
    return {
        "sent": total,
        "p50": pct(lat, 50),
        "p99": pct(lat, 99),
        "errors": errors[0],
        "achieved": total / elapsed,
        "kinds": kinds,
        "slow": slow,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rates", default="50,100,200")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--workers", default="1,4")
    ap.add_argument("--soak", type=float, default=0, help="seconds of load at --soak-rate to watch RSS")
    ap.add_argument("--soak-rate", type=int, default=100)
    ap.add_argument("--sqlite", action="store_true")
    ap.add_argument(
        "--async-commit",
        action="store_true",
        help="diagnostic: the bench database commits without waiting for the disk (synchronous_commit off), to tell "
        "the disk's fsync latency from serve's own; never a deployment setting (a PostgreSQL crash loses the last "
        "commits)",
    )
    ap.add_argument(
        "--herd", action="store_true", help="no staggered start: every check-in ends and restarts at the same time"
    )
    ap.add_argument("--drain-wait", type=float, default=120, help="seconds to watch the analysis backlog drain")
    ap.add_argument("--pairs", type=int, default=400, help="manager/employee pairs, one open check-in each")
    ap.add_argument(
        "--analysis-workers",
        type=int,
        default=0,
        help="check-in analyses in this many `growthloop worker` processes (GROWTHLOOP_ANALYSIS=worker)",
    )
    ap.add_argument(
        "--profile",
        metavar="PREFIX",
        help="record serve (first worker) with py-spy --gil over each timed window into PREFIX-<rate>.txt "
        "(py-spy's raw format; needs py-spy on PATH or in the venv)",
    )
    ap.add_argument(
        "--profile-all-threads",
        action="store_true",
        help="with --profile: sample every busy thread instead of only the GIL's holder",
    )
    args = ap.parse_args()
    stub = SlackStub().start()
    pairs = args.pairs
    csv = people_csv(pairs)
    stub_users_from_csv(stub, csv)
    print(f"{'workers':>7} {'rate':>5} {'sent':>6} {'achieved/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}")
    for workers in [int(w) for w in args.workers.split(",")]:
        tmp = Path(tempfile.mkdtemp(prefix="gl-load-"))
        if args.sqlite:
            db_url = f"sqlite:///{tmp / 'gl.db'}"
        else:
            name = f"gl_load_{uuid.uuid4().hex[:8]}"
            admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
                if args.async_commit:  # this throwaway database only
                    c.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
            db_url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
        (tmp / "people.csv").write_text(csv)
        env = {**os.environ, "GROWTHLOOP_DATA_DIR": str(tmp), "DATABASE_URL": db_url}
        subprocess.run(
            [sys.executable, "-m", "bot.cli", "people", "import", str(tmp / "people.csv")],
            env=env,
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        cluster: Cluster | None = None
        keep_logs = True  # until the run ends with nothing owed: a failed or stuck run keeps its logs in `tmp`
        try:
            cluster = Cluster(workers, db_url, tmp, stub, args.analysis_workers)
            driver = SlackDriver(cluster.url, SECRET, stub)
            # open one check-in per pair so replies have threads to land in
            before = len(stub.calls_of("chat.postMessage"))
            for i in range(pairs):
                driver.slash(f"UM{i:05d}", "/checkin", f"<@UE{i:05d}>")
            stub.wait_for(
                lambda s, b=before: (
                    len([c for c in s.calls_of("chat.postMessage")[b:] if not c.params.get("thread_ts")]) >= pairs
                ),
                timeout=300,
            )
            roots = [c for c in stub.calls_of("chat.postMessage")[before:] if not c.params.get("thread_ts")]
            eng = make_engine(db_url)
            with eng.connect() as c:
                rows = c.execute(text("select employee_slack_id, channel_id, thread_ts from checkin")).all()
            threads = Threads([(r[0], r[1], r[2]) for r in rows if r[2]], stub, rotate=True)
            del roots
            counter = {"replies": 0}
            if not args.herd:
                stagger(driver, threads, counter)
            rss0 = cluster.rss()
            for rate in [int(r) for r in args.rates.split(",")]:
                spy = (
                    profile(
                        cluster.procs[0].pid, f"{args.profile}-{rate}.txt", args.seconds, not args.profile_all_threads
                    )
                    if args.profile
                    else None
                )
                cpu0, wall0 = cluster.cpu(), time.monotonic()
                res = run_rate(driver, rate, args.seconds, threads, counter)
                user, system = (b - a for a, b in zip(cpu0, cluster.cpu(), strict=True))
                cpu = user + system
                if spy is not None:
                    spy.wait(timeout=60)
                print(
                    f"{workers:>7} {rate:>5} {res['sent']:>6} {res['achieved']:>10.1f} {res['p50']:>7.1f} "
                    f"{res['p99']:>7.1f} {res['errors']:>6}   ({res['kinds']})"
                )
                print(f"        {res['slow']}")
                # What a request costs serve, queueing aside: the capacity of one process is ~1000 / this per core.
                print(
                    f"        serve CPU {1000 * cpu / res['sent']:.2f} ms per request "
                    f"(user {1000 * user / res['sent']:.2f}, system {1000 * system / res['sent']:.2f}; "
                    f"{cpu / (time.monotonic() - wall0):.2f} cores over the window)"
                )
            if args.soak:
                rss_soak = [round(x) for x in cluster.rss()]
                samples: list[tuple[int, list[int]]] = []
                soak_done = threading.Event()

                def sample(done: threading.Event, out: list[tuple[int, list[int]]], c: Cluster, t0: float) -> None:
                    while not done.wait(60):
                        out.append((round(time.monotonic() - t0), [round(x) for x in c.rss()]))

                args_ = (soak_done, samples, cluster, time.monotonic())
                threading.Thread(target=sample, args=args_, daemon=True).start()
                res = run_rate(driver, args.soak_rate, args.soak, threads, counter)
                soak_done.set()
                print("        RSS MB during the soak (s: per worker): " + ", ".join(f"{t}: {r}" for t, r in samples))
                print(
                    f"        soak {args.soak:.0f}s at {args.soak_rate}/s (RSS MB before it {rss_soak}): "
                    f"p50 {res['p50']:.1f} ms, p99 {res['p99']:.1f} ms, "
                    f"errors {res['errors']} ({res['kinds']})"
                )
                print(f"        {res['slow']}")
            load_end = time.monotonic()
            time.sleep(3)
            rss_load = [round(x) for x in cluster.rss()]

            def scalar(sql: str, eng=eng) -> int:  # type: ignore[no-untyped-def]
                with eng.connect() as c:  # a fresh snapshot each time
                    return int(c.execute(text(sql)).scalar() or 0)

            stored, settle = scalar("select count(*) from answer"), time.monotonic()
            while stored < counter["replies"] and time.monotonic() - settle < 60:  # replies acked but still queued
                time.sleep(1)
                now_stored = scalar("select count(*) from answer")
                settle = time.monotonic() if now_stored != stored else settle
                stored = now_stored
            owed_sql = "select count(*) from checkin where state='finishing' or (state='done' and posted_at is null)"
            owed = scalar(owed_sql)
            while owed and time.monotonic() - load_end < args.drain_wait:  # the analysis backlog drains after the load
                time.sleep(2)
                owed = scalar(owed_sql)
            drained = time.monotonic() - load_end
            finished = scalar("select count(*) from checkin where posted_at is not null")
            print(
                f"        replies sent {counter['replies']}, answers stored {stored}; check-ins restarted "
                f"{threads.started}, finished and posted {finished}, still owed {owed} "
                f"(backlog drained {drained:.0f} s after the load)" + (f"; worker logs in {tmp}" if owed else "")
            )
            start_rss, end_rss = [round(x) for x in rss0], [round(x) for x in cluster.rss()]
            print(
                f"        serve RSS MB per worker: start {start_rss}, end of load {rss_load}, "
                f"after the backlog {end_rss}"
            )
            eng.dispose()
            keep_logs = bool(owed)
        finally:  # a failed run leaves no process or database behind (and no data dir unless it has logs to read)
            if cluster is not None:
                cluster.stop()
            if keep_logs:
                print(f"        data dir and serve logs kept in {tmp}")
            else:
                shutil.rmtree(tmp, ignore_errors=True)
            if not args.sqlite:
                with admin.connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    stub.stop()


if __name__ == "__main__":
    main()
