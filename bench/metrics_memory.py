"""What `/metrics` costs the reconciler's memory (USS, docs/contract.md#performance-budgets): with 50 processes,
the USS once settled, after a few `/v1/processes` requests (the traffic any client brings), then after a
few scrapes of `/metrics` (which import prometheus-client on the first one); the last step's growth is
what the metrics cost. Also the time of a scrape. Medians of several launches:

    .venv/bin/python bench/metrics_memory.py [--runs N]

Linux only (the workload of `daemons.py`). Takes about 15 s a run.
"""

from __future__ import annotations

import argparse
import http.client
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil
from daemons import Daemon, Progress, guarded_run, sleeper, wait_all_started
from daemons import daemon as launch_daemon

from sentinel.paths import StateDir

SIZE = 50
SETTLE = 2.0  # seconds after the last start, as bench/reconciler.py settles before measuring
REQUESTS = 5


class _Unix(http.client.HTTPConnection):
    def __init__(self, path: Path) -> None:
        super().__init__("localhost", timeout=30)
        self._path = str(path)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self._path)


def get(sock: Path, path: str) -> bytes:
    conn = _Unix(sock)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status}")
        return response.read()
    finally:
        conn.close()


def uss(pid: int) -> float:
    return psutil.Process(pid).memory_full_info().uss / 1e6


def one_run(bench: Progress, workdir: Path, samples: dict[str, list[float]]) -> None:
    number = bench.next_launch()
    with launch_daemon("sentinel", workdir / f"run-{number}", f"{bench.session}/{number}/") as d:
        services = {f"s{i:03d}": sleeper(d.starts / f"s{i:03d}") for i in range(SIZE)}
        d.write_config(services)
        d.launch()
        wait_all_started(d.starts, services)
        time.sleep(SETTLE)
        sock = _socket(d)
        samples["settled"].append(uss(d.pid))
        for _ in range(REQUESTS):
            get(sock, "/v1/processes")
        time.sleep(SETTLE)
        samples["after /v1/processes"].append(uss(d.pid))
        took = []
        for _ in range(REQUESTS):
            start = time.perf_counter()
            get(sock, "/metrics")
            took.append((time.perf_counter() - start) * 1000)
        time.sleep(SETTLE)
        samples["after /metrics"].append(uss(d.pid))
        samples["first scrape ms"].append(took[0])
        samples["later scrape ms"].append(statistics.median(took[1:]))
        bench.say(f"run {number}: " + ", ".join(f"{k} {v[-1]:.1f}" for k, v in samples.items()))


def _socket(d: Daemon) -> Path:
    return StateDir(d.root / "state").socket


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    bench = Progress()
    samples: dict[str, list[float]] = {k: [] for k in ("settled", "after /v1/processes", "after /metrics",
                                                       "first scrape ms", "later scrape ms")}
    workdir = Path(tempfile.mkdtemp(prefix="sz-metrics-"))

    def run() -> None:
        for _ in range(args.runs):
            one_run(bench, workdir, samples)

    error = guarded_run(run, session=bench.session, workdir=workdir)
    if error is not None:
        return 1
    print(f"| figure ({SIZE} processes, median of {args.runs}) | value |")
    print("|---|---|")
    for key, values in samples.items():
        unit = "" if key.endswith("ms") else " MB USS"
        print(f"| {key} | {statistics.median(values):.1f}{unit} |")
    growth = [m - p for m, p in zip(samples["after /metrics"], samples["after /v1/processes"], strict=True)]
    print(f"| growth from the scrapes | {statistics.median(growth):.1f} MB |")
    print(bench.machine_line(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
