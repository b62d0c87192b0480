"""The capability map HR maintains: strategic priorities → key capabilities → roles with a required level (1–4).

File format (YAML, every name in en and zh)::

    version: 1
    company: {en: "Northwind", zh: "北风公司"}
    priorities:
      - id: customer_success            # lowercase id, unique
        name: {en: "...", zh: "..."}
        depends_on: [data_driven]        # optional: priorities this one cannot reach without
        capabilities:
          customer_insight:              # an id of the competency model
            customer_success: 4          # role: required level 1–4
            product_manager: 3

`depends_on` makes priorities a graph: a gap that blocks `data_driven` also blocks `customer_success`.
A cycle in it is an error. The loader is strict and reports every problem with the line of the offending
entry (PyYAML node marks), so HR can fix a file in one pass: unknown keys, an unknown capability, a level
outside 1–4, an unknown or cyclic dependency, and (when the caller passes the roles people have) a role
nobody has.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from knowledge.competencies import load_competency_model

SHIPPED_MAP = Path(__file__).parent / "data" / "capability_map.yaml"
LEVELS = (1, 2, 3, 4)


@dataclass(frozen=True)
class Problem:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class CapabilityMapError(ValueError):
    """The map was rejected; `problems` lists each with its (1-based) line."""

    def __init__(self, problems: list[Problem], source: str = "capability map") -> None:
        self.problems = sorted(problems, key=lambda p: p.line)
        self.source = source
        super().__init__(f"{source}: " + "; ".join(str(p) for p in self.problems))


@dataclass
class Priority:
    id: str
    name: dict[str, str]
    depends_on: list[str] = field(default_factory=list)
    capabilities: dict[str, dict[str, int]] = field(default_factory=dict)  # capability -> role -> level


@dataclass
class CapabilityMap:
    version: int
    company: dict[str, str]
    priorities: list[Priority]

    def required(self) -> dict[tuple[str, str], int]:
        """(role, capability) → required level: the highest any priority asks for."""
        out: dict[tuple[str, str], int] = {}
        for p in self.priorities:
            for cap, roles in p.capabilities.items():
                for role, level in roles.items():
                    out[(role, cap)] = max(level, out.get((role, cap), 0))
        return out

    def for_role(self, role: str | None) -> dict[str, int]:
        """capability → required level for one role (empty for a role the map does not name)."""
        return {cap: lvl for (r, cap), lvl in self.required().items() if r == role}

    def roles(self) -> list[str]:
        return sorted({r for r, _ in self.required()})

    def capabilities(self) -> list[str]:
        """Capabilities in the order the map first names them."""
        seen: dict[str, None] = {}
        for p in self.priorities:
            seen.update(dict.fromkeys(p.capabilities))
        return list(seen)

    def priority(self, pid: str) -> Priority:
        return next(p for p in self.priorities if p.id == pid)

    def blocked_by(self, role: str, capability: str) -> list[str]:
        """Priorities a gap in (role, capability) blocks: those that need it, and every priority depending on those."""
        direct = {p.id for p in self.priorities if role in p.capabilities.get(capability, {})}
        blocked = set(direct)
        changed = True
        while changed:  # the graph is acyclic and small: a fixpoint is simplest
            changed = False
            for p in self.priorities:
                if p.id not in blocked and blocked.intersection(p.depends_on):
                    blocked.add(p.id)
                    changed = True
        return [p.id for p in self.priorities if p.id in blocked]

    def to_data(self) -> dict[str, Any]:
        """The normalised map as plain data (stored with each loaded version)."""
        return {
            "version": self.version,
            "company": self.company,
            "priorities": [
                {"id": p.id, "name": p.name, "depends_on": p.depends_on, "capabilities": p.capabilities}
                for p in self.priorities
            ],
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> CapabilityMap:
        return cls(data["version"], data["company"], [Priority(**p) for p in data["priorities"]])


# --- parsing ---------------------------------------------------------------------------------------------------


def _line(node: Node) -> int:
    return node.start_mark.line + 1


class _Parser:
    def __init__(self, known_caps: set[str], known_roles: set[str] | None) -> None:
        self.caps = known_caps
        self.roles = known_roles
        self.problems: list[Problem] = []
        self.unknown_roles: dict[str, list[int]] = {}

    def err(self, node: Node, reason: str) -> None:
        self.problems.append(Problem(_line(node), reason))

    def mapping(self, node: Node, what: str, allowed: set[str], required: set[str]) -> dict[str, Node]:
        if not isinstance(node, MappingNode):
            self.err(node, f"{what} must be a mapping")
            return {}
        out: dict[str, Node] = {}
        for k, v in node.value:
            key = str(k.value)
            if key in out:
                self.err(k, f"{what}: {key!r} appears twice")
            elif allowed and key not in allowed:
                self.err(k, f"{what}: unknown key {key!r} (expected one of {', '.join(sorted(allowed))})")
            out[key] = v
        for key in sorted(required - set(out)):
            self.err(node, f"{what}: missing {key!r}")
        return out

    def bilingual(self, node: Node, what: str) -> dict[str, str]:
        m = self.mapping(node, what, {"en", "zh"}, {"en", "zh"})
        out = {}
        for loc, v in m.items():
            if not isinstance(v, ScalarNode) or not str(v.value).strip():
                self.err(v, f"{what}: {loc} must be a non-empty text")
            else:
                out[loc] = str(v.value).strip()
        return out

    def level(self, node: Node, role: str, cap: str) -> int:
        raw = node.value if isinstance(node, ScalarNode) else None
        if raw is None or not str(raw).strip().isdigit() or int(raw) not in LEVELS:
            self.err(node, f"level {raw!r} for role {role!r} on {cap!r} is outside 1–4")
            return 0
        return int(raw)

    def priority(self, node: Node) -> tuple[Priority | None, dict[str, Node]]:
        m = self.mapping(node, "priority", {"id", "name", "depends_on", "capabilities"}, {"id", "name", "capabilities"})
        if "id" not in m:
            return None, {}
        pid = str(m["id"].value)
        if not pid.replace("_", "").isalnum() or pid.lower() != pid:
            self.err(m["id"], f"priority id {pid!r} must be lowercase letters, digits and underscores")
        prio = Priority(pid, self.bilingual(m["name"], f"priority {pid!r} name") if "name" in m else {})
        deps: dict[str, Node] = {}
        dep_node = m.get("depends_on")
        if dep_node is not None:
            if not isinstance(dep_node, SequenceNode):
                self.err(dep_node, f"priority {pid!r}: depends_on must be a list of priority ids")
            else:
                deps = {str(d.value): d for d in dep_node.value}
                prio.depends_on = list(deps)
        caps = (
            self.mapping(m["capabilities"], f"priority {pid!r} capabilities", set(), set())
            if "capabilities" in m
            else {}
        )
        for cap, roles_node in caps.items():
            cap_key = next(k for k, _ in m["capabilities"].value if str(k.value) == cap)
            if cap not in self.caps:
                self.err(cap_key, f"unknown capability {cap!r} (not in the competency model)")
                continue
            prio.capabilities[cap] = {}
            for role, lvl in self.mapping(roles_node, f"{pid}.{cap} roles", set(), set()).items():
                role_key = next(k for k, _ in roles_node.value if str(k.value) == role)
                if self.roles is not None and role not in self.roles:
                    self.unknown_roles.setdefault(role, []).append(_line(role_key))
                level = self.level(lvl, role, cap)
                if level:
                    prio.capabilities[cap][role] = level
            if isinstance(roles_node, MappingNode) and not roles_node.value:
                self.err(roles_node, f"priority {pid!r}: capability {cap!r} names no role")
        return prio, deps

    def check_graph(self, priorities: list[Priority], dep_nodes: dict[str, dict[str, Node]]) -> None:
        ids = {p.id for p in priorities}
        for p in priorities:
            for d, node in dep_nodes.get(p.id, {}).items():
                if d not in ids:
                    self.err(node, f"priority {p.id!r} depends on unknown priority {d!r}")
                elif d == p.id:
                    self.err(node, f"priority {p.id!r} depends on itself")
        graph = {p.id: [d for d in p.depends_on if d in ids and d != p.id] for p in priorities}
        state: dict[str, int] = {}  # 1 = on the current path, 2 = done

        def visit(pid: str, path: list[str]) -> None:
            state[pid] = 1
            for d in graph[pid]:
                if state.get(d) == 1:
                    cycle = path[path.index(d) :] + [pid, d] if d in path else [pid, d]
                    self.err(dep_nodes[pid][d], "cycle in priorities: " + " → ".join(cycle))
                elif d not in state:
                    visit(d, path + [pid])
            state[pid] = 2

        for p in priorities:
            if p.id not in state:
                visit(p.id, [])


def parse_capability_map(
    text: str, *, known_roles: Iterable[str] | None = None, source: str = "capability map"
) -> CapabilityMap:
    """Parse and validate a capability map.

    Args:
        text: the YAML text.
        known_roles: the roles people have (from the people table); None skips that check.
        source: a name for error messages (the file name).

    Returns:
        The validated map.

    Raises:
        CapabilityMapError: with every problem found and its line.
    """
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise CapabilityMapError([Problem(mark.line + 1 if mark else 1, f"not valid YAML: {exc}")], source) from exc
    if root is None:
        raise CapabilityMapError([Problem(1, "the file is empty")], source)
    p = _Parser(set(load_competency_model().ids), set(known_roles) if known_roles is not None else None)
    top = p.mapping(root, "the map", {"version", "company", "priorities"}, {"version", "priorities"})
    version = 1
    if "version" in top:
        v = top["version"]
        if not isinstance(v, ScalarNode) or not str(v.value).isdigit():
            p.err(v, "version must be a whole number")
        else:
            version = int(v.value)
    company = p.bilingual(top["company"], "company") if "company" in top else {"en": "", "zh": ""}
    priorities: list[Priority] = []
    deps: dict[str, dict[str, Node]] = {}
    pnode = top.get("priorities")
    if pnode is not None and (not isinstance(pnode, SequenceNode) or not pnode.value):
        p.err(pnode, "priorities must be a non-empty list")
    elif pnode is not None:
        for item in pnode.value:
            prio, d = p.priority(item)
            if prio is None:
                continue
            if any(x.id == prio.id for x in priorities):
                p.err(item, f"priority {prio.id!r} is defined twice")
                continue
            priorities.append(prio)
            deps[prio.id] = d
        p.check_graph(priorities, deps)
    if p.unknown_roles and not p.roles:
        first = min(min(lines) for lines in p.unknown_roles.values())
        p.problems.append(
            Problem(
                first,
                "nobody in the people table has a role yet: run `growthloop people import` first, then load the map",
            )
        )
    elif p.unknown_roles:  # once per role, at its first line, so a typo is one problem
        for role, lines in p.unknown_roles.items():
            also = f" (also on lines {', '.join(map(str, lines[1:]))})" if lines[1:] else ""
            p.problems.append(Problem(lines[0], f"role {role!r} is not the role of anyone in the people table{also}"))
    if p.problems:
        raise CapabilityMapError(p.problems, source)
    return CapabilityMap(version, company, priorities)


def shipped_map() -> CapabilityMap:
    """The example map shipped with the app (roles not checked against a people table)."""
    return parse_capability_map(SHIPPED_MAP.read_text(encoding="utf-8"), source=SHIPPED_MAP.name)
