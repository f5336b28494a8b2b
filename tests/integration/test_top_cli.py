"""`sentinel top` as a command: its view's library (Textual, and Rich under it) stays off the path of every other
command (docs/contract.md#performance-budgets), and without a terminal it says so in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from sentinel.cli.main import cli

KEPT_OUT = ("textual", "rich", "sentinel.cli.top")


def test_status_does_not_import_top_or_its_library(tmp_path: Path) -> None:
    """Seen by `-X importtime` (what `import` statements load) and in `sys.modules` once `status` has run (the command
    modules are loaded with importlib, which importtime does not list)."""
    code = ("import sys\nfrom sentinel.cli.main import main\n"
            "sys.argv = ['sentinel', '--state-dir', sys.argv[1], 'status']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith(('sentinel.cli.inspect', *KEPT_OUT))))\n")
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", f"KEPT_OUT = {KEPT_OUT!r}\n{code}",
                           str(tmp_path / "state")], capture_output=True, text=True, timeout=60, check=False)
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    assert "sentinel.cli.table" in imported, done.stderr[-2000:]  # the check sees what `status` imports
    assert [name for name in imported if name.startswith(KEPT_OUT)] == []
    assert done.stdout.strip().splitlines()[-1] == "['sentinel.cli.inspect']", done.stdout


def test_top_without_a_terminal_says_so_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--state-dir", str(tmp_path / "state"), "top"])
    assert (result.exit_code, result.output) == (
        2, "`sentinel top` needs a terminal; in a script, use `sentinel status` (or --json)\n")


def test_top_s_view_loads_in_a_process_that_loaded_the_reconciler_s_log_first() -> None:
    """sentinel.log keeps rich out of the reconciler by making its import fail; `top` draws with it (as in the suite,
    where one process imports both)."""
    done = subprocess.run([sys.executable, "-c", "import sentinel.log, sentinel.cli.top_view"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert (done.returncode, done.stderr) == (0, "")
