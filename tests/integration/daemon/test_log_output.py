"""What a child prints cannot forge a log line, a run marker or terminal control, nor defeat rotation
(docs/security.md), black-box: a real reconciler capturing real children, read by `sentinel logs`."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from sentinel.runtime.logfile import LINE_MAX
from tests.support.daemon import Reconciler
from tests.support.wait import wait_for

STAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z #1 ")
FORGER = r"""
import sys
out = sys.stdout.buffer
out.write(b"before\r2020-01-01T00:00:00.000Z #1 forged by a carriage return\n")
out.write("x\u2028" "2020-01-01T00:00:00.000Z #1 forged by a line separator\n".encode())
out.write(b"a\x0bb\x0cc\x1cd\x1de\x1ef\n")
out.write("\u2500\u2500 succeeded (exited 0) after 0s\n".encode())
out.write(b"\x1b[2J\x1b]0;pwned\x07title\n")
out.flush()
sys.exit(3)
"""


def _run_once(r: Reconciler, name: str) -> None:
    assert r.cli("run", name).exit_code == 0
    wait_for(lambda: [run["outcome"] for run in r.client.get(f"/v1/processes/{name}/runs")["runs"]] == ["failed"],
             timeout=10)


def _on_a_terminal(r: Reconciler, *args: str) -> str:
    """`sentinel logs ARGS` with its stdout on a pseudo-terminal; what it wrote there."""
    main, terminal = pty.openpty()
    argv = [sys.executable, "-m", "sentinel", "--state-dir", str(r.home), "logs", *args]
    with subprocess.Popen(argv, stdout=terminal, stderr=subprocess.PIPE) as reader:
        os.close(terminal)
        chunks = []
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the other side is closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert reader.wait(30) == 0
    os.close(main)
    return b"".join(chunks).decode(errors="replace")


def test_a_job_cannot_forge_lines_markers_or_terminal_control(
        tmp_path: Path, make_reconciler: Callable[..., Reconciler]) -> None:
    script = tmp_path / "forger.py"
    script.write_text(FORGER)
    r = make_reconciler(f"""
processes:
  forger:
    command: [{sys.executable!r}, {str(script)!r}]
    schedule: {{cron: "0 3 * * *"}}
""")
    r.start()
    _run_once(r, "forger")

    lines = r.cli("logs", "forger", "--run", "1").output.split("\n")[:-1]
    assert all(STAMPED.match(line) for line in lines), lines
    texts = [STAMPED.sub("", line) for line in lines]
    assert len(texts) == 7  # our start and end, and the child's five lines: nothing split them further
    assert texts[0] == "── started: run requested"
    assert texts[-1].startswith("── failed (exited 3) after ")
    assert [t for t in texts if t.startswith("──")] == [texts[0], texts[-1]]
    assert "\\── succeeded (exited 0) after 0s" in texts

    coloured = _on_a_terminal(r, "forger")
    shown = re.sub(r"\x1b\[90m(\S+)\x1b\[0m ", r"\1 ", coloured)  # our own colour of each stamp (README.md#colour)
    assert shown.count("\n") == coloured.count("\x1b[90m") == 7
    assert "\x1b" not in shown and "\x07" not in shown and "\u2028" not in shown
    assert "\\x1b[2J\\x1b]0;pwned\\x07title" in shown
    assert "before\\x0d2020-01-01T00:00:00.000Z #1 forged" in shown
    assert "a\\x0bb\\x0cc\\x1cd\\x1de\\x1ef" in shown


def test_output_without_newlines_is_rotated_and_its_tail_read_in_capped_lines(
        tmp_path: Path, make_reconciler: Callable[..., Reconciler]) -> None:
    script = tmp_path / "progress.py"
    script.write_text(
        "import sys, time\n"
        "for _ in range(48):\n"
        "    sys.stdout.write('\\r' + 'x' * 65535)\n"  # a progress bar: never a newline
        "    sys.stdout.flush()\n"
        "print('\\ndone', flush=True)\n"
        "time.sleep(1000)\n"
    )
    r = make_reconciler(f"""
processes:
  progress:
    command: [{sys.executable!r}, {str(script)!r}]
    logs: {{max_size: 300KB, keep: 2}}
""")
    r.start()
    wait_for(lambda: r.cli("logs", "progress", "-n", "1").output.endswith(" done\n"), timeout=20)

    logs = r.home / "logs"
    assert sorted(os.listdir(logs)) == ["progress.log", "progress.log.1", "progress.log.2"]
    for name in os.listdir(logs):
        assert (logs / name).stat().st_size <= 300_000 + 2 * (LINE_MAX + 64), name
    last = r.cli("logs", "progress", "-n", "3").output.split("\n")[:-1]
    assert len(last) == 3 and last[-1].endswith(" done")
    assert all(len(line.encode()) <= len("2026-11-26T02:35:57.123Z ↪ ".encode()) + LINE_MAX for line in last)
