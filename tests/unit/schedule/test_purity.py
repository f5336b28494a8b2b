"""sentinel.schedule stays pure (issue #5): no clock reads, no I/O, nothing above sentinel.config."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.unit.test_purity import FORBIDDEN

PACKAGE = Path(__file__).parents[3] / "sentinel" / "schedule"
ALLOWED_SENTINEL = {"sentinel.config", "sentinel.errors", "sentinel.states", "sentinel.schedule"}
CLOCK_READS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter", "fromtimestamp", "utcfromtimestamp"}


@pytest.mark.parametrize("module", sorted(p.name for p in PACKAGE.glob("*.py")))
def test_schedule_module_is_pure(module: str) -> None:
    tree = ast.parse((PACKAGE / module).read_text())
    assert ast.get_docstring(tree)
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module)
    assert {name.split(".")[0] for name in imported} & (FORBIDDEN - {"datetime"}) == set()
    inner = {".".join(name.split(".")[:2]) for name in imported if name.startswith("sentinel")}
    assert inner <= ALLOWED_SENTINEL
    calls = {n.func for n in ast.walk(tree) if isinstance(n, ast.Call)}
    named = {f.id for f in calls if isinstance(f, ast.Name)} | {f.attr for f in calls if isinstance(f, ast.Attribute)}
    assert named & (CLOCK_READS | {"open", "input", "print"}) == set()
