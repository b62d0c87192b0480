"""`serve` cold start (process start → /healthz 200, index warm) and RSS, on a fresh data dir, against the stub."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.slack.sandbox import SlackDriver, SlackStub  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    stub = SlackStub().start()
    stub.add_user("U0EMP", "Erik")
    for run in ("fresh data dir", "second start (migrated, index on disk)"):
        if run.startswith("fresh"):
            data = Path(tempfile.mkdtemp(prefix="gl-serve-"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": "xoxb-b",
            "SLACK_SIGNING_SECRET": "s",
            "SLACK_API_URL": stub.base_url,
            "GROWTHLOOP_DATA_DIR": str(data),
        }
        for k in ("DATABASE_URL", "SLACK_APP_TOKEN", "OPENAI_API_KEY", "CHROMA_URL"):
            env.pop(k, None)
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--http", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
        )
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
        ready = time.perf_counter() - t0
        idle = rss_mb(proc.pid)
        d = SlackDriver(f"http://127.0.0.1:{port}", "s", stub)
        for i in range(20):
            d.slash("U0EMP", "/learn", f"presenting to executives {i}")
        time.sleep(2)
        print(f"{run}: ready in {ready:.2f} s; RSS {idle:.0f} MB idle, {rss_mb(proc.pid):.0f} MB after 20 /learn")
        proc.terminate()
        proc.wait(timeout=30)
    stub.stop()


if __name__ == "__main__":
    main()
