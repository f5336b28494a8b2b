"""Cold start of `sentinel up` until its socket answers (what tests wait for after starting a reconciler).

Launches `python -m sentinel up` on a fresh state directory --runs times and reports the median wall time
from launch to the first answer of `GET /healthz`, and the median CPU time the reconciler had used by then
(user + system). On a loaded machine wall time grows with the load while CPU time hardly moves, so read
both, with the load average printed next to them.

    python bench/socket_answer.py [--runs 9] [--cron]

`--cron` adds a job with a cron schedule to the file (croniter is then loaded at start). To see where the
time goes: `python -X importtime -m sentinel up ...` (imports) and `python -m cProfile -o out -m sentinel up
...` (the rest).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from sentinel.client import Client
from sentinel.paths import StateDir

SERVICES = "processes:\n  web: {command: sleep 1000}\n  db: {command: sleep 1000}\n"
CRON_JOB = '  backup: {command: "true", schedule: {cron: "0 3 * * *"}}\n'


def one_start(config_text: str) -> tuple[float, float]:
    """Wall and CPU seconds from launching `sentinel up` to its socket's first answer."""
    with tempfile.TemporaryDirectory() as directory:
        config = Path(directory) / "sentinel.yaml"
        config.write_text(config_text)
        home = Path(directory) / "home"
        began = time.perf_counter()
        reconciler = subprocess.Popen(
            [sys.executable, "-m", "sentinel", "--state-dir", str(home), "up", "-f", str(config)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            client = Client(StateDir(home), timeout=5.0)
            while not client.alive():
                if reconciler.poll() is not None:
                    raise SystemExit(f"the reconciler exited {reconciler.returncode}")
                time.sleep(0.005)
            wall = time.perf_counter() - began
            used = psutil.Process(reconciler.pid).cpu_times()
            return wall, used.user + used.system
        finally:
            reconciler.send_signal(signal.SIGTERM)
            reconciler.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--cron", action="store_true", help="add a job with a cron schedule")
    options = parser.parse_args()
    config_text = SERVICES + (CRON_JOB if options.cron else "")
    walls, cpus = zip(*(one_start(config_text) for _ in range(options.runs)), strict=True)
    print(f"wall to first answer: median {statistics.median(walls):.3f} s (min {min(walls):.3f}, "
          f"max {max(walls):.3f}) over {options.runs} runs")
    print(f"CPU used by then:     median {statistics.median(cpus):.3f} s")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores; "
          f"bytecode cache {'off (PYTHONDONTWRITEBYTECODE)' if sys.dont_write_bytecode else 'on'}")


if __name__ == "__main__":
    main()
