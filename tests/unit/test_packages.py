"""What the reconciler keeps out of its imports (docs/contract.md#performance-budgets: every module costs memory
and start-up time), and `sentinel.packages.skip_init`, one of the ways it does."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

# Loaded by a dependency's package `__init__` or at import time, never used by the reconciler.
KEPT_OUT = ("importlib.metadata", "multiprocessing", "uvicorn.main", "watchfiles.run", "playhouse.migrate")


def _python(code: str, *paths: Path) -> str:
    """Run `code` in a fresh interpreter without coverage measuring it (coverage imports multiprocessing)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("COVERAGE_", "COV_CORE_"))}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *map(str, paths)], capture_output=True,
                          text=True, timeout=120, check=False, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_reconciler_does_not_import_what_it_does_not_use(tmp_path: Path) -> None:
    config = tmp_path / "sentinel.yaml"
    config.write_text("processes:\n  web: {command: sleep 1000}\n")
    found = _python(f"""
        import sys
        from pathlib import Path
        from sentinel.config.loader import load
        import sentinel.daemon, sentinel.api.app, sentinel.api.serving, sentinel.controller.watch
        from sentinel.state.store import Store

        load(sys.argv[1])
        Store.open(Path(sys.argv[2]) / "state.db").close()
        print(sorted(name for name in sys.modules if name.startswith({KEPT_OUT!r})))
    """, config, tmp_path)
    assert found == "[]"


def test_a_package_skipped_imports_its_modules_and_resolves_its_names_lazily(tmp_path: Path) -> None:
    package = tmp_path / "heavy"
    package.mkdir()
    (package / "__init__.py").write_text("import sys\nsys.modules['heavy_init_ran'] = sys\nfrom heavy.part import X\n")
    (package / "part.py").write_text("X = 42\n")
    out = _python("""
        import sys
        sys.path.insert(0, sys.argv[1])
        from sentinel.packages import skip_init

        skip_init("heavy", {"X": "heavy.part"})
        from heavy.part import X
        import heavy
        print(X, "heavy_init_ran" in sys.modules, heavy.X)
        try:
            heavy.Y
        except AttributeError as err:
            print(err)
    """, tmp_path)
    assert out.splitlines() == ["42 False 42", "module 'heavy' has no attribute 'Y'"]


def test_a_package_imported_already_is_left_as_it_is(tmp_path: Path) -> None:
    package = tmp_path / "heavy"
    package.mkdir()
    (package / "__init__.py").write_text("RAN = True\n")
    out = _python("""
        import sys
        sys.path.insert(0, sys.argv[1])
        import heavy
        from sentinel.packages import skip_init

        skip_init("heavy", {})
        print(sys.modules["heavy"] is heavy, heavy.RAN)
    """, tmp_path)
    assert out == "True True"
