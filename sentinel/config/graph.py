"""Checks across processes: dependencies that name nothing, cycles, conditions that can never
hold, and instance names that collide. Pure: a validated Config in, (key path, message) out.

Also home of `find_cycle`, which the planner's ordering reuses (instance names: `sentinel.instances`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sentinel.config.hints import did_you_mean
from sentinel.config.models import Config
from sentinel.instances import instance_names

Issue = tuple[tuple[str, ...], str]


def find_cycle(edges: Mapping[str, Sequence[str]]) -> list[str] | None:
    """One cycle in a directed graph as [a, b, …, a] (smallest start name first), or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and nxt in edges:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state:
            cycle = visit(start)
            if cycle:
                return cycle
    return None


def check_processes(config: Config) -> list[Issue]:
    """Every cross-process problem in a validated config."""
    issues: list[Issue] = []
    processes = config.processes
    for name, process in sorted(processes.items()):
        for dep, condition in sorted(process.depends_on.items()):
            path = ("processes", name, "depends_on", dep)
            target = processes.get(dep)
            if target is None:
                issues.append((path, f"unknown process '{dep}'{did_you_mean(dep, processes)}"))
            elif condition == "healthy" and target.is_job:
                issues.append((path, f"'{dep}' is a job; a job has no health to wait for (use completed)"))
            elif condition == "healthy" and target.health is None:
                issues.append((path, f"'{dep}' has no health check, so it can never be healthy"))
            elif condition == "completed" and not target.is_job and target.restart.policy == "always":
                issues.append((path, f"'{dep}' restarts always, so it never completes"))
    edges = {name: [d for d in p.depends_on if d in processes] for name, p in processes.items()}
    cycle = find_cycle(edges)
    if cycle:
        issues.append((("processes", cycle[0], "depends_on"), "dependency cycle: " + " -> ".join(cycle)))
    issues.extend(_instance_collisions(config))
    return issues


def _instance_collisions(config: Config) -> list[Issue]:
    owner: dict[str, str] = {}
    issues: list[Issue] = []
    for name, process in sorted(config.processes.items()):
        for instance in instance_names(name, process.replicas):
            other = owner.setdefault(instance, name)
            if other != name:
                issues.append((("processes", name), f"instance name '{instance}' is also an instance of '{other}'"))
    return issues
