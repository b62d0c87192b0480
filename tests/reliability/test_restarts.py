"""Restarts: `serve` killed with SIGKILL mid check-in, and a PostgreSQL server stopped and started under load.

The PostgreSQL test never touches the shared server: it creates its own throwaway cluster (initdb + pg_ctl on a free
port, socket in a temp dir) and stops and starts only that one; it is skipped, with the reason, when that cannot be
done on this machine.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select

from bot.demo.sandbox import DEMO_PEOPLE, Sandbox, start_sandbox, stub_users_from_csv
from bot.slack.sandbox import SlackDriver, SlackStub
from storage.db import make_engine
from storage.models import Answer
from tests.e2e.checkin_helpers import answer, bot_thread_posts, thread_root

ROOT = Path(__file__).resolve().parents[2]
SECRET = "restart-secret"
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve_env(stub: SlackStub, data_dir: Path, database_url: str) -> dict[str, str]:
    """The environment of a `serve` subprocess against `stub`: HTTP mode, offline coach, embedded Chroma."""
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-restart",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": stub.base_url,
        "GROWTHLOOP_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
    }
    for k in ("SLACK_APP_TOKEN", "OPENAI_API_KEY", "CHROMA_URL"):
        env.pop(k, None)
    return env


def _serve(
    env: dict[str, str], port: int, *, scheduler: bool = False, stderr: int = subprocess.DEVNULL
) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--http", "--port", str(port)]
        + ([] if scheduler else ["--no-scheduler"]),
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    deadline = time.monotonic() + 180  # a loaded CI machine starts serve slowly
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("serve did not become healthy")


def _texts(url: str) -> list[str]:
    eng = make_engine(url)
    try:
        with Session(eng) as s:
            return [a.text for a in s.exec(select(Answer).order_by(col(Answer.id)))]
    finally:
        eng.dispose()


def test_kill_9_mid_checkin_then_restart_and_a_slack_retry(tmp_path: Path) -> None:
    stub = SlackStub().start()
    stub_users_from_csv(stub, DEMO_PEOPLE.read_text(encoding="utf-8"))
    db = f"sqlite:///{tmp_path / 'gl.db'}"
    env = _serve_env(stub, tmp_path, db)
    subprocess.run(
        [sys.executable, "-m", "bot.cli", "people", "import", str(DEMO_PEOPLE)],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    port = _free_port()
    proc = _serve(env, port)
    try:
        sb = Sandbox(None, None, stub, None, SlackDriver(f"http://127.0.0.1:{port}", SECRET, stub))  # type: ignore[arg-type]
        sb.driver.slash("U0MGR", "/checkin", "<@U0EMP>")
        root = thread_root(sb)
        answer(sb, "U0EMP", root, "first answer", expect_posts=2)
        answer(sb, "U0EMP", root, "second answer", expect_posts=3)
        stub.latency_s = 3.0  # the next question's post hangs: SIGKILL lands after the answer is stored
        inflight = sb.driver.message("U0EMP", root["channel"], "third answer", thread_ts=root["ts"])
        deadline = time.monotonic() + 20
        # SIGKILL once the answer is stored and the next question's post is hanging in Slack
        while not ("third answer" in _texts(db) and stub.in_flight) and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert _texts(db) == ["first answer", "second answer", "third answer"]
        time.sleep(stub.latency_s + 0.5)  # let the dead process's hanging call finish in the stub
        stub.latency_s = 0.0
        posts = len(bot_thread_posts(sb, root["channel"], root["ts"]))
        proc = _serve(env, port)
        # the question the killed process was posting reached Slack (the stub finished that call): it is in the thread
        assert "4/8" in str(bot_thread_posts(sb, root["channel"], root["ts"])[-1]["blocks"])
        # Slack retries the in-flight reply: stored once, and the question is not asked a second time (the bot reads
        # the thread on a retry; the fault tests cover a post that never reached Slack, which is posted again)
        retried = sb.driver.message(
            "U0EMP",
            root["channel"],
            "third answer",
            thread_ts=root["ts"],
            ts=inflight.ts,
            event_id=inflight.event_id,
            retry=1,
            record=False,
        )
        assert retried.status == 200
        stub.wait_calls("conversations.replies", 1)
        time.sleep(0.5)
        assert len(bot_thread_posts(sb, root["channel"], root["ts"])) == posts
        answer(sb, "U0EMP", root, "fourth answer", expect_posts=posts + 1)  # the flow resumes
        assert _texts(db) == ["first answer", "second answer", "third answer", "fourth answer"]
    finally:
        proc.kill()
        proc.wait(10)
        stub.stop()


# --- PostgreSQL restarting under load -------------------------------------------------------------------------


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


class OwnCluster:
    """A throwaway PostgreSQL cluster in a temp dir, on its own port, run as a non-root user."""

    def __init__(self, base: Path) -> None:
        bin_dir = _pg_bin()
        if bin_dir is None:
            pytest.skip("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin")
        self.bin, self.dir, self.port = bin_dir, base / "pgdata", _free_port()
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                pytest.skip("running as root without runuser: cannot start a cluster as the postgres user")
            self.prefix = ["runuser", "-u", "postgres", "--"]
            base.chmod(0o777)
            shutil.chown(base, "postgres")
        self._run("initdb", "-D", str(self.dir), "-A", "trust", "-U", "postgres", "--no-sync")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        out = subprocess.run([*self.prefix, str(self.bin / tool), *args], capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            pytest.skip(f"{tool} failed here: {(out.stderr or out.stdout).strip()[:200]}")

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.dir), "-o", opts, "-l", str(self.dir / "log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir), "-m", "fast", "-w", "stop")


@pytest.fixture
def own_pg() -> Iterator[OwnCluster]:
    base = Path(tempfile.mkdtemp(prefix="gl-pg-"))  # not under pytest's 0700 tmp tree: postgres must reach it
    cluster = OwnCluster(base)
    cluster.start()
    yield cluster
    subprocess.run(
        [*cluster.prefix, str(cluster.bin / "pg_ctl"), "-D", str(cluster.dir), "-m", "immediate", "stop"],
        capture_output=True,
        timeout=60,
    )
    shutil.rmtree(base, ignore_errors=True)


def test_postgres_stopped_and_started_under_load(tmp_path: Path, own_pg: OwnCluster) -> None:
    sb = start_sandbox(tmp_path / "data", database_url=own_pg.url)
    try:
        sb.driver.slash("U0MGR", "/checkin", "<@U0EMP>")
        root = thread_root(sb)
        texts = [f"answer {i}" for i in range(6)]
        sent = []
        for i, body in enumerate(texts):
            if i == 2:
                own_pg.stop()  # the database goes away mid check-in ...
            if i == 4:
                own_pg.start()  # ... and comes back
            sent.append(sb.driver.message("U0EMP", root["channel"], body, thread_ts=root["ts"]))
            time.sleep(0.3)
        told = [
            c
            for c in sb.stub.calls_of("chat.postEphemeral")
            if c.params.get("user") == "U0EMP" and "try again" in c.params.get("text", "")
        ]
        assert told, "the employee was told to try again while the database was down"
        # while the store is down the middleware cannot load the person: Slack gets a 500 and will retry
        assert {s.status for s in sent} == {200, 500}
        # Slack's retries (or the person resending) after the restart: every answer stored exactly once
        for s, body in zip(sent, texts, strict=True):
            sb.driver.message(
                "U0EMP",
                root["channel"],
                body,
                thread_ts=root["ts"],
                ts=s.ts,
                event_id=s.event_id,
                retry=1,
                record=False,
            )
        deadline = time.monotonic() + 20
        while sorted(_pg_texts(sb)) != sorted(texts) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sorted(_pg_texts(sb)) == sorted(texts)
        with sb.services.engine.connect() as c:
            assert c.execute(text("select count(*) from answer")).scalar() == len(texts)
    finally:
        sb.stop()


def _pg_texts(sb: Sandbox) -> list[str]:
    with Session(sb.services.engine) as s:
        return [a.text for a in s.exec(select(Answer))]


def test_sigterm_stops_serve_cleanly_with_its_scheduler(tmp_path: Path) -> None:
    """What systemd, Docker and Kubernetes send: serve stops taking requests and exits 0 (it used to die of it)."""
    stub = SlackStub().start()
    env = _serve_env(stub, tmp_path, f"sqlite:///{tmp_path / 'gl.db'}")
    proc = _serve(env, _free_port(), scheduler=True, stderr=subprocess.PIPE)
    try:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err.decode()[-2000:]
        assert b"stopping" in err and b"Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
        stub.stop()
