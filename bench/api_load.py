"""The TCP API under load (issue #14): 20 clients polling `GET /v1/processes` with a token while 200 processes run,
and what that load costs supervision.

A reconciler with 200 services of the `daemons.py` workload and `api: {listen: 127.0.0.1:PORT, token_file: …}`,
and a second one like it (the control). First, with no load, some services of the first are SIGKILLed one at a
time: kill → replacement started (the replacement's own clock, as `reconciler.py` measures it). Then `--clients`
threads, each on its own keep-alive connection (`http.client`, `Authorization: Bearer …`), poll `/v1/processes`
over TCP for `--seconds`, while the same number of kills is spread over that time: first polling the reconciler
whose services are killed ("load"), then polling the control while the first one's services are killed ("load
elsewhere"). The control phase puts the same load on the machine's two cores (the clients, and a reconciler
answering them) without putting it on the supervising reconciler: what supervision loses to the API itself is
the difference between "load" and "load elsewhere"; what it loses to a busy machine, between "load elsewhere" and
"no load". Reported: the requests' latency (p50, p99, max) and rate, the reconcile pass durations (p50, p99; from
the reconciler's own log, `reconcile_pass took_ms=…` at `log: {level: debug}`) and kill → replacement (median,
p99) in each phase, and the reconciler's USS before and after. Targets: p50 < 20 ms, and no measurable delay to
supervision.

    .venv/bin/python bench/api_load.py [--seconds 20] [--clients 20] [--processes 200] [--kills 15]

Prints a table, writes every sample with the machine's description to bench/results/api_load-<UTC>.json.
Linux only (the workload of `daemons.py`). Takes about two minutes. Run it on a quiet machine: on 2 cores the
clients themselves compete with the reconciler for the CPU, and so does anything else running.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil
from daemons import (
    DAEMONS,
    BenchError,
    Progress,
    Sentinel,
    guarded_run,
    read_start,
    sleeper,
    wait_all_started,
    wait_for,
    wait_restarted,
)
from daemons import daemon as launch_daemon
from reconciler import machine, results_file
from soak import PASS_LINE, free_port, percentile

SETTLE = 2.0  # seconds after the last start before measuring, as reconciler.py settles


@dataclass
class Plan:
    seconds: float = 20.0
    clients: int = 20
    processes: int = 200
    kills: int = 15


@dataclass
class Phase:
    """What one phase (no load, then load) measured."""

    kill_ms: list[float] = field(default_factory=list)
    passes_ms: list[float] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


class ListeningSentinel(Sentinel):
    """The workload's reconciler with the TCP API on `port` and the pass lines in its (logfmt) log."""

    kind = "sentinel-tcp"
    port = 0

    def write_config(self, services: Mapping[str, str]) -> None:
        self.port = type(self).port  # this one's, whatever the next one is given
        super().write_config(services)
        head = (f'api: {{listen: "127.0.0.1:{self.port}", token_file: {self.root / "token"}}}\n'
                "log: {level: debug}\n")
        self.config.write_text(head + self.config.read_text())

    def daemon_argv(self) -> list[str]:
        return [*super().daemon_argv(), "--log-format", "logfmt"]

    def log_size(self) -> int:
        return (self.root / "daemon.out").stat().st_size

    def passes_since(self, offset: int) -> list[float]:
        with open(self.root / "daemon.out", "rb") as log:
            log.seek(offset)
            text = log.read().decode(errors="replace")
        return [float(found.group(2)) for found in PASS_LINE.finditer(text)]


def kill_one(d: Sentinel, name: str) -> float:
    """SIGKILL the service `name`'s `sleep`; ms from the kill to its replacement's own start time."""
    path = d.starts / name
    old = read_start(path)
    if old is None or psutil.Process(old.pid).name() != "sleep":
        raise BenchError(f"{path}: no running service to kill")
    killed = time.time()
    os.kill(old.pid, signal.SIGKILL)
    return (wait_restarted(path, old.pid).at - killed) * 1000


def kills(d: Sentinel, phase: Phase, count: int, spacing: float) -> None:
    for i in range(count):
        phase.kill_ms.append(kill_one(d, f"s{i % 50:03d}"))
        time.sleep(spacing)


def poll(port: int, token: str, stop: threading.Event, phase: Phase, lock: threading.Lock) -> None:
    """One client: GET /v1/processes on one keep-alive connection until `stop` (a new one after an error)."""
    headers = {"Authorization": f"Bearer {token}"}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    mine: list[float] = []
    try:
        while not stop.is_set():
            began = time.perf_counter()
            try:
                connection.request("GET", "/v1/processes", headers=headers)
                response = connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as err:
                with lock:
                    phase.errors.append(f"{type(err).__name__}: {err}")
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            took = (time.perf_counter() - began) * 1000
            if response.status != 200 or b'"processes"' not in body:
                with lock:
                    phase.errors.append(f"HTTP {response.status}")
                continue
            mine.append(took)
    finally:
        connection.close()
        with lock:
            phase.latency_ms.extend(mine)


def uss(pid: int) -> float:
    return float(psutil.Process(pid).memory_full_info().uss / 1e6)


DAEMONS[ListeningSentinel.kind] = ListeningSentinel


def measure(bench: Progress, workdir: Path, plan: Plan, results: dict[str, Phase], memory: dict[str, float]) -> None:
    ListeningSentinel.port = free_port()
    with launch_daemon(ListeningSentinel.kind, workdir / "run", f"{bench.session}/1/") as d:
        assert isinstance(d, ListeningSentinel)
        start(d, plan)
        ListeningSentinel.port = free_port()
        with launch_daemon(ListeningSentinel.kind, workdir / "control", f"{bench.session}/2/") as control:
            assert isinstance(control, ListeningSentinel)
            start(control, plan)
            _measure(bench, d, control, plan, results=results, memory=memory)


def start(d: ListeningSentinel, plan: Plan) -> None:
    services = {f"s{i:03d}": sleeper(d.starts / f"s{i:03d}") for i in range(plan.processes)}
    d.write_config(services)
    d.launch()
    wait_all_started(d.starts, services)
    token_file = d.root / "token"
    wait_for(lambda: token_file.exists() or None, timeout=30, what=f"{token_file} to be created")


def loaded_phase(d: ListeningSentinel, polled: ListeningSentinel, plan: Plan) -> Phase:
    """Kills of `d`'s services while the clients poll `polled` (`d` itself, or the control)."""
    phase = Phase()
    token = (polled.root / "token").read_text().strip()
    stop, lock = threading.Event(), threading.Lock()
    clients = [threading.Thread(target=poll, args=(polled.port, token, stop, phase, lock), daemon=True)
               for _ in range(plan.clients)]
    offset, began = d.log_size(), time.monotonic()
    for client in clients:
        client.start()
    try:
        kills(d, phase, plan.kills, plan.seconds / plan.kills)
        remaining = plan.seconds - (time.monotonic() - began)
        if remaining > 0:
            time.sleep(remaining)
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=60)
    phase.seconds = time.monotonic() - began
    phase.passes_ms = d.passes_since(offset)
    return phase


def _measure(bench: Progress, d: ListeningSentinel, control: ListeningSentinel, plan: Plan, *,
             results: dict[str, Phase], memory: dict[str, float]) -> None:
    time.sleep(SETTLE)
    memory["uss_before_mb"] = uss(d.pid)
    bench.say(f"{plan.processes} services running, API on 127.0.0.1:{d.port}; USS {memory['uss_before_mb']:.1f} MB; "
              f"the control on 127.0.0.1:{control.port}")

    quiet = results["no load"] = Phase()
    offset, began = d.log_size(), time.monotonic()
    kills(d, quiet, plan.kills, plan.seconds / plan.kills)
    quiet.seconds = time.monotonic() - began
    quiet.passes_ms = d.passes_since(offset)
    bench.say(f"no load: kill → replacement median {statistics.median(quiet.kill_ms):.1f} ms")

    loaded = results["load"] = loaded_phase(d, d, plan)
    time.sleep(SETTLE)
    memory["uss_after_mb"] = uss(d.pid)
    bench.say(f"load: {len(loaded.latency_ms)} requests, p50 {percentile(loaded.latency_ms, 0.5):.1f} ms; "
              f"kill → replacement median {statistics.median(loaded.kill_ms):.1f} ms; "
              f"USS {memory['uss_after_mb']:.1f} MB")

    elsewhere = results["load elsewhere"] = loaded_phase(d, control, plan)
    bench.say(f"load elsewhere: {len(elsewhere.latency_ms)} requests to the control; "
              f"kill → replacement median {statistics.median(elsewhere.kill_ms):.1f} ms")


def table(plan: Plan, results: dict[str, Phase], memory: dict[str, float]) -> list[str]:
    quiet, loaded, elsewhere = results["no load"], results["load"], results["load elsewhere"]
    rate = len(loaded.latency_ms) / loaded.seconds if loaded.seconds else float("nan")

    def ms(values: list[float], fraction: float) -> str:
        return f"{percentile(values, fraction):.1f} ms" if values else "-"

    def each(values: Callable[[Phase], list[float]], fraction: float) -> str:
        return " | ".join(ms(values(phase), fraction) for phase in (quiet, loaded, elsewhere))

    return [
        f"| figure ({plan.processes} processes, {plan.clients} clients, {plan.seconds:g} s) | no load | load | "
        "load elsewhere (control) |",
        "|---|---|---|---|",
        f"| `GET /v1/processes` over TCP: p50 (target < 20 ms) | | {ms(loaded.latency_ms, 0.5)} | "
        f"{ms(elsewhere.latency_ms, 0.5)} |",
        f"| `GET /v1/processes` over TCP: p99 / max | | {ms(loaded.latency_ms, 0.99)} / "
        f"{max(loaded.latency_ms, default=float('nan')):.1f} ms | |",
        f"| requests answered (per second) / failed | | {len(loaded.latency_ms)} ({rate:.0f}/s) / "
        f"{len(loaded.errors)} | {len(elsewhere.latency_ms)} / {len(elsewhere.errors)} |",
        f"| reconcile pass: p50 | {each(lambda phase: phase.passes_ms, 0.5)} |",
        f"| reconcile pass: p99 | {each(lambda phase: phase.passes_ms, 0.99)} |",
        f"| SIGKILL → replacement started: median ({plan.kills} kills) | {each(lambda phase: phase.kill_ms, 0.5)} |",
        f"| SIGKILL → replacement started: p99 | {each(lambda phase: phase.kill_ms, 0.99)} |",
        f"| reconciler USS | {memory.get('uss_before_mb', float('nan')):.1f} MB | "
        f"{memory.get('uss_after_mb', float('nan')):.1f} MB (after) | |",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=Plan.seconds, help="how long the clients poll")
    parser.add_argument("--clients", type=int, default=Plan.clients)
    parser.add_argument("--processes", type=int, default=Plan.processes)
    parser.add_argument("--kills", type=int, default=Plan.kills, help="kills in each phase")
    args = parser.parse_args()
    plan = Plan(seconds=args.seconds, clients=args.clients, processes=args.processes, kills=args.kills)
    if plan.processes < 50:
        sys.exit("--processes: at least 50 (the kills go round the first 50 services)")
    bench = Progress()
    results: dict[str, Phase] = {}
    memory: dict[str, float] = {}
    workdir = Path(tempfile.mkdtemp(prefix="sz-api-load-"))
    error = guarded_run(lambda: measure(bench, workdir, plan, results, memory), session=bench.session,
                        workdir=workdir)
    path, stamp = results_file("api_load")
    path.write_text(json.dumps({
        "timestamp": stamp, "machine": machine(), "plan": asdict(plan), "error": error, "memory": memory,
        "loadavg_1min_during": bench.load,
        "phases": {name: asdict(phase) | {"errors": phase.errors[:50], "error_count": len(phase.errors)}
                   for name, phase in results.items()},
    }, indent=1) + "\n")
    if error is not None or set(results) != {"no load", "load", "load elsewhere"}:
        return 1
    print("\n".join(table(plan, results, memory)))
    errors = sorted(set(results["load"].errors))
    if errors:
        print(f"failed requests, by kind: {errors[:5]}")
    print(bench.machine_line(), file=sys.stderr)
    print(f"samples: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
