"""The capability map loader: the shipped example, line-precise rejections, and versions in the store."""

from __future__ import annotations

import pytest

from bot.capabilities import current_map, load_map
from bot.people import import_people
from bot.services import Services
from knowledge.capability_map import SHIPPED_MAP, CapabilityMapError, parse_capability_map, shipped_map

ROLES = {"hr_partner", "engineering_manager", "product_manager", "data_analyst", "customer_success",
         "software_engineer"}

GOOD = """\
version: 2
company: {en: Acme, zh: 艾克米}
priorities:
  - id: top
    name: {en: Top, zh: 顶层}
    depends_on: [base]
    capabilities:
      customer_insight: {product_manager: 3}
  - id: base
    name: {en: Base, zh: 基础}
    capabilities:
      data_analysis: {data_analyst: 4, product_manager: 2}
      customer_insight: {product_manager: 2, data_analyst: 1}
"""


def _problems(text: str, roles: set[str] | None = ROLES) -> list[tuple[int, str]]:
    with pytest.raises(CapabilityMapError) as info:
        parse_capability_map(text, known_roles=roles)
    return [(p.line, p.reason) for p in info.value.problems]


def test_the_shipped_map_covers_the_demo_roles_and_the_seed_example() -> None:
    cmap = parse_capability_map(SHIPPED_MAP.read_text(encoding="utf-8"), known_roles=ROLES)
    assert set(cmap.roles()) == ROLES
    top = cmap.priority("customer_success_driven")
    assert top.name["en"] == "From product-driven to customer-success-driven"
    assert {"customer_insight", "collaboration", "data_analysis"} <= set(cmap.capabilities())
    assert set(cmap.required().values()) <= {1, 2, 3, 4}


def test_required_level_is_the_highest_any_priority_asks_and_gaps_block_dependents() -> None:
    cmap = parse_capability_map(GOOD, known_roles=ROLES)
    assert cmap.version == 2
    assert cmap.for_role("product_manager") == {"customer_insight": 3, "data_analysis": 2}
    assert cmap.blocked_by("data_analyst", "data_analysis") == ["top", "base"]  # top depends on base
    assert cmap.blocked_by("product_manager", "customer_insight") == ["top", "base"]
    assert cmap.blocked_by("data_analyst", "customer_insight") == ["top", "base"]


def test_unknown_capability_is_rejected_with_its_line() -> None:
    assert _problems(GOOD.replace("data_analysis:", "telepathy:")) == [
        (12, "unknown capability 'telepathy' (not in the competency model)")]


@pytest.mark.parametrize("level", ["0", "5", "2.5", "high", "-1"])
def test_level_outside_1_to_4_is_rejected_with_its_line(level: str) -> None:
    [(line, reason)] = _problems(GOOD.replace("data_analyst: 4", f"data_analyst: {level}"))
    assert line == 12 and "outside 1–4" in reason and "data_analyst" in reason


def test_cycle_in_priorities_is_rejected_at_the_dependency_that_closes_it() -> None:
    text = GOOD.replace("    name: {en: Base, zh: 基础}\n", "    name: {en: Base, zh: 基础}\n    depends_on: [top]\n")
    [(line, reason)] = _problems(text)
    assert line == 11 and reason == "cycle in priorities: top → base → top"
    three = """\
version: 1
priorities:
  - {id: a, name: {en: A, zh: A}, depends_on: [b], capabilities: {coaching: {hr_partner: 2}}}
  - {id: b, name: {en: B, zh: B}, depends_on: [c], capabilities: {coaching: {hr_partner: 2}}}
  - {id: c, name: {en: C, zh: C}, depends_on: [a], capabilities: {coaching: {hr_partner: 2}}}
"""
    assert _problems(three) == [(5, "cycle in priorities: a → b → c → a")]


def test_a_role_nobody_has_is_rejected_once_with_every_line() -> None:
    text = GOOD.replace("product_manager", "product_manger")
    assert _problems(text) == [(8, "role 'product_manger' is not the role of anyone in the people table "
                                   "(also on lines 12, 13)")]
    assert "people import" in _problems(GOOD, roles=set())[0][1]


def test_several_problems_are_all_reported_in_line_order() -> None:
    text = GOOD.replace("depends_on: [base]", "depends_on: [basement]").replace("{en: Base, zh: 基础}", "{en: Base}")
    text = text.replace("colour", "x") + "  - id: top\n    name: {en: T, zh: T}\n    capabilities: {}\n"
    problems = _problems(text)
    assert [line for line, _ in problems] == sorted(line for line, _ in problems)
    reasons = " | ".join(r for _, r in problems)
    assert "unknown priority 'basement'" in reasons and "missing 'zh'" in reasons and "defined twice" in reasons


def test_bad_yaml_and_unknown_keys() -> None:
    assert _problems("priorities: [\n  - id: x\n")[0][1].startswith("not valid YAML")
    [(line, reason)] = _problems(GOOD.replace("    depends_on: [base]\n", "    depends_on: [base]\n    owner: x\n"))
    assert line == 7 and "unknown key 'owner'" in reason


def test_a_rejected_load_keeps_the_previous_map(services: Services) -> None:
    import_people(services, (SHIPPED_MAP.parent.parent.parent / "bot" / "demo" / "people.csv").read_text())
    assert current_map(services).priorities == shipped_map().priorities  # nothing loaded yet: the example
    loaded = load_map(services, text=GOOD, source="good.yaml")
    assert loaded.priorities == 2 and current_map(services).version == 2
    with pytest.raises(CapabilityMapError):
        load_map(services, text=GOOD.replace("data_analyst: 4", "data_analyst: 7"), source="bad.yaml")
    assert current_map(services).for_role("data_analyst") == {"data_analysis": 4, "customer_insight": 1}
    load_map(services, text=GOOD.replace("version: 2", "version: 3"), source="v3.yaml")
    assert current_map(services).version == 3
