"""HR report and App Home at org scale on SQLite: prints timings (never asserted)."""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.analytics import compute_report, render_csv, render_png  # noqa: E402
from bot.home import build_home  # noqa: E402
from bot.recognition import give_kudos  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from storage.db import make_engine, session_scope, upgrade  # noqa: E402
from storage.models import CheckIn, DevelopmentAction, DevelopmentPoint, Person, Recognition  # noqa: E402

NOW = datetime(2024, 5, 20, tzinfo=UTC)


def seed(services: Services, people: int = 2000) -> None:
    rng = random.Random(7)
    teams = [f"team{i}" for i in range(20)]
    with session_scope(services.engine) as s:
        for i in range(people):
            mgr = None if i < 200 else f"UM{i % 200:04d}"
            sid = f"UM{i:04d}" if i < 200 else f"UE{i:05d}"
            s.add(Person(slack_id=sid, name=sid, team=teams[i % 20], manager_slack_id=mgr, profile_synced=True))
        for _ in range(people * 3):
            when = NOW - timedelta(days=rng.randint(0, 150))
            emp = f"UE{rng.randint(200, people - 1):05d}"
            s.add(CheckIn(employee_slack_id=emp, manager_slack_id="UM0000", state="done", started_at=when,
                          finished_at=when))
            p = DevelopmentPoint(person_slack_id=emp, competency="communication", evidence="e", created_at=when)
            s.add(p)
            s.flush()
            s.add(DevelopmentAction(point_id=p.id, person_slack_id=emp, status=rng.choice(["done", "started"]),
                                    created_at=when))
            s.add(Recognition(giver_slack_id=emp, receivers=[f"UE{rng.randint(200, people - 1):05d}"], message="m",
                              values=["one_team"], created_at=when))


def timed(label: str, fn, n: int = 5) -> None:  # type: ignore[no-untyped-def]
    fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    print(f"{label}: {(time.perf_counter() - start) / n * 1000:.1f} ms")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/b.db")
        upgrade(engine)
        services = Services(settings=load_settings(growthloop_data_dir=Path(tmp)), engine=engine, clock=lambda: NOW)
        seed(services)
        print("org: 2000 people, 6000 check-ins, 6000 points, 6000 actions, 6000 kudos (SQLite)")
        report = compute_report(services)
        timed("compute_report", lambda: compute_report(services))
        timed("render_csv", lambda: render_csv(report))
        timed("render_png", lambda: render_png(report, Path(tmp) / "r.png"), n=3)
        timed("build_home (manager, 9 reports)", lambda: build_home(services, slack_id="UM0001"))
        timed("build_home (employee)", lambda: build_home(services, slack_id="UE00300"))
        timed("give_kudos (validate + store)", lambda: give_kudos(
            services, giver_slack_id="UM0002", recipients=["UE00301"], message="thanks"), n=4)


if __name__ == "__main__":
    main()
