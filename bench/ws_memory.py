"""What the WebSocket streams cost the reconciler's memory (USS, docs/contract.md#performance-budgets): with 50
processes, the USS once settled, after a few `/v1/processes` requests (the traffic any client brings), then
after a few WebSocket streams (`/v1/processes/{name}/logs?follow=true`, `/v1/events?follow=true`: the first
upgrade imports `websockets`), each reading a few lines, then closed; the last step's growth is what the
streams cost. Medians of several launches:

    .venv/bin/python bench/ws_memory.py [--runs N]

Linux only (the workload of `daemons.py`; one of the 50 processes prints a line every 0.1 s). Takes about
15 s a run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from daemons import Progress, guarded_run, sleeper, wait_all_started
from daemons import daemon as launch_daemon
from metrics_memory import REQUESTS, SETTLE, SIZE, get, uss
from websockets.sync.client import unix_connect

from sentinel.paths import StateDir

STREAMS = 5
LINES = 20


def one_run(bench: Progress, workdir: Path, samples: dict[str, list[float]]) -> None:
    number = bench.next_launch()
    with launch_daemon("sentinel", workdir / f"run-{number}", f"{bench.session}/{number}/") as d:
        services = {f"s{i:03d}": sleeper(d.starts / f"s{i:03d}") for i in range(SIZE - 1)}
        services["talker"] = "while true; do echo talking; sleep 0.1; done"
        d.write_config(services)
        d.launch()
        wait_all_started(d.starts, {k: v for k, v in services.items() if k != "talker"})
        time.sleep(SETTLE)
        sock = StateDir(d.root / "state").socket
        samples["settled"].append(uss(d.pid))
        for _ in range(REQUESTS):
            get(sock, "/v1/processes")
        time.sleep(SETTLE)
        samples["after /v1/processes"].append(uss(d.pid))
        for _ in range(STREAMS):
            with unix_connect(str(sock), "ws://localhost/v1/processes/talker/logs?follow=true&lines=5") as ws:
                for _ in range(LINES):
                    ws.recv(timeout=10)
            with unix_connect(str(sock), "ws://localhost/v1/events?follow=true"):
                pass
        time.sleep(SETTLE)
        samples["after the streams"].append(uss(d.pid))
        bench.say(f"run {number}: " + ", ".join(f"{k} {v[-1]:.1f}" for k, v in samples.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    bench = Progress()
    samples: dict[str, list[float]] = {k: [] for k in ("settled", "after /v1/processes", "after the streams")}
    workdir = Path(tempfile.mkdtemp(prefix="sz-ws-"))

    def run() -> None:
        for _ in range(args.runs):
            one_run(bench, workdir, samples)

    if guarded_run(run, session=bench.session, workdir=workdir) is not None:
        return 1
    print(f"| figure ({SIZE} processes, median of {args.runs}) | value |")
    print("|---|---|")
    for key, values in samples.items():
        print(f"| {key} | {statistics.median(values):.1f} MB USS |")
    growth = [m - p for m, p in zip(samples["after the streams"], samples["after /v1/processes"], strict=True)]
    print(f"| growth from the streams | {statistics.median(growth):.1f} MB |")
    print(bench.machine_line(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
