"""Gap analysis and the level rule at organisation scale (prints numbers; nothing is asserted).

Usage: .venv/bin/python bench/bench_goals.py [PEOPLE]
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bot.capabilities import load_map
from bot.gap_analysis import compute_gaps
from bot.gap_chart import render_png
from bot.services import Services
from bot.settings import load_settings
from knowledge.capability_map import SHIPPED_MAP, parse_capability_map
from knowledge.catalog import shipped_catalog
from storage.courses import upsert_courses
from storage.db import make_engine, session_scope, upgrade
from storage.models import DevelopmentPoint, LearningRecord, Person, Recognition
from storage.types import utcnow

ROLES = ["hr_partner", "engineering_manager", "product_manager", "data_analyst", "customer_success",
         "software_engineer"]


def seed(services: Services, n: int) -> None:
    rng = random.Random(7)
    now = utcnow()
    courses = shipped_catalog()
    caps = ["customer_insight", "collaboration", "data_analysis", "communication", "ownership", "problem_solving"]
    with session_scope(services.engine) as s:
        upsert_courses(session=s, records=courses)
        for i in range(n):
            sid = f"U{i:05d}"
            s.add(Person(slack_id=sid, name=sid, role=rng.choice(ROLES), team=f"team{i % 12}"))
            for _ in range(rng.randint(0, 4)):
                s.add(DevelopmentPoint(person_slack_id=sid, competency=rng.choice(caps), evidence="e",
                                       status=rng.choice(["open", "closed"]),
                                       created_at=now - timedelta(days=rng.randint(0, 500)),
                                       closed_at=now - timedelta(days=rng.randint(0, 300))))
            for _ in range(rng.randint(0, 3)):
                s.add(LearningRecord(person_slack_id=sid, course_id=rng.choice(courses).id, status="completed",
                                     at=now - timedelta(days=rng.randint(0, 400))))
            if rng.random() < 0.5:
                s.add(Recognition(giver_slack_id="U00000", receivers=[sid], message="thanks",
                                  competencies=[rng.choice(caps)],
                                  created_at=now - timedelta(days=rng.randint(0, 300))))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    text = SHIPPED_MAP.read_text(encoding="utf-8")
    t0 = time.perf_counter()
    for _ in range(100):
        parse_capability_map(text, known_roles=ROLES)
    print(f"parse + validate the shipped capability map: {(time.perf_counter() - t0) * 10:.2f} ms")
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'b.db'}")
        upgrade(engine)
        services = Services(settings=load_settings(growthloop_data_dir=Path(tmp)), engine=engine)
        seed(services, n)
        load_map(services, text=text, source="capability_map.yaml")
        for team in (None, "team3"):
            t0 = time.perf_counter()
            report = compute_gaps(services, team=team)
            ms = (time.perf_counter() - t0) * 1000
            print(f"compute_gaps ({'all' if team is None else team}, {report.people} people, "
                  f"{len(report.gaps)} cells, {len(report.open_gaps)} open): {ms:.0f} ms")
        t0 = time.perf_counter()
        render_png(report, Path(tmp) / "g.png")
        print(f"render the heat-map PNG: {(time.perf_counter() - t0) * 1000:.0f} ms")
        engine.dispose()


if __name__ == "__main__":
    main()
