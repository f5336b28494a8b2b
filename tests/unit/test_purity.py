"""The pure modules stay pure: they import nothing that reads files, clocks, processes or sockets.

import-linter guards third-party packages (see pyproject.toml); this guards the standard
library, which import-linter does not see, and calls of `open`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "sentinel"
PURE = ["config/resolve.py", "config/interpolate.py", "config/envfile.py", "config/units.py", "config/graph.py",
        "config/hosts.py",
        "config/hints.py", "config/secrets.py", "config/keypath.py", "states.py", "instances.py", "signames.py",
        "health/tracker.py",
        *sorted(f"reconcile/{p.name}" for p in (Path(__file__).parents[2] / "sentinel" / "reconcile").glob("*.py")),
        *sorted(f"schedule/{p.name}" for p in (Path(__file__).parents[2] / "sentinel" / "schedule").glob("*.py"))]
# Allowed where a module only reads names: signames.py turns signal numbers into names, sends nothing.
ALLOWED = {"signames.py": {"signal"}}
# The scheduler computes with dates and times (values passed in); tests/unit/schedule/test_purity.py
# checks that it never reads the clock.
ALLOWED.update({f"schedule/{p.name}": {"datetime"}
                for p in (Path(__file__).parents[2] / "sentinel" / "schedule").glob("*.py")})
# The git source's decisions keep wall times passed in (suspended since, fetched at); they never read the clock.
ALLOWED["reconcile/source.py"] = {"datetime"}
FORBIDDEN = {"os", "subprocess", "socket", "time", "pathlib", "shutil", "signal", "glob", "io", "select", "threading",
             "asyncio", "psutil", "peewee", "watchfiles", "structlog", "click", "fastapi", "uvicorn", "starlette",
             "h11", "sqlite3", "datetime"}


@pytest.mark.parametrize("module", PURE)
def test_pure_module_does_no_io(module: str) -> None:
    tree = ast.parse((PACKAGE / module).read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert imported & FORBIDDEN - ALLOWED.get(module, set()) == set()
    assert calls & {"open", "input", "print"} == set()
