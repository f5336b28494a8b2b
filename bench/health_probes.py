"""What health checks cost the reconciler: 200 services probed every second (issue #4: under 5 % of a core).

Four configurations of the same workload (N = 200 `sleep 1000` services, see `daemons.py`), each
launched several times in a fresh temporary directory, interleaved so that drift in the machine's
load hits them alike:

    none  no `health:` (the baseline)
    tcp   health: {tcp: "127.0.0.1:PORT", interval: 1s, timeout: 1s}   one shared listener of the bench
    http  health: {http: "http://127.0.0.1:PORT/", interval: 1s, ...}   one shared asyncio HTTP server
    exec  health: {exec: "true", interval: 1s, timeout: 1s}

Once all 200 are running and (with checks) healthy, and after a short settle, the reconciler's
CPU is measured over a window: the sum over its threads of /proc/PID/task/*/schedstat (ns), as %
of one core. The probe cost is a configuration's median minus the baseline's median.

    .venv/bin/python bench/health_probes.py [--runs N] [--window S] [--quick] [--only tcp|http|exec]

Prints a markdown table of medians and writes every sample, with the machine's description, to
bench/results/health-probes-<UTC>.json. Linux only. A default run takes about 5 minutes,
`--quick` (1 launch each, 10 s windows) about 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

import psutil
from daemons import BenchError, Progress, Sentinel, guarded_run, sleeper, thread_cpu_ns, wait_all_started, wait_for
from reconciler import check_installed, machine, results_file

BUDGET = 5.0  # % of one core, for the probes of 200 processes every second (issue #4)
HTTP_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
PROBE = "interval: 1s, timeout: 1s"
Snapshot = dict[str, tuple[str, str, int | None, int]]  # `status --json`: (state, health, pid, restarts) by name


@dataclass(frozen=True, slots=True)
class Plan:
    """How many times, and for how long, each configuration is measured."""

    runs: int = 3  # launches of each configuration
    window: float = 20.0  # seconds of CPU measurement
    settle: float = 2.0  # seconds between "all healthy" and the window
    size: int = 200  # services


QUICK = Plan(runs=1, window=10.0)


@dataclass(frozen=True, slots=True)
class Config:
    key: str
    label: str
    server: str | None  # which shared server its probes hit


CONFIGS = [
    Config("none", "no health checks (baseline)", None),
    Config("tcp", "`tcp` probes every 1 s", "tcp"),
    Config("http", "`http` probes every 1 s", "http"),
    Config("exec", '`exec: "true"` probes every 1 s', None),
]


# --- the shared servers the probes hit ------------------------------------------------------------------------------


class Server:
    """One shared listener (`tcp`: accept and close; `http`: read the request, answer 200, close), in its own
    process so that the bench's own work cannot slow it down; it counts what it served in shared memory."""

    def __init__(self, kind: str) -> None:
        ctx = multiprocessing.get_context("fork")
        self.kind = kind
        self.served: Synchronized[int] = ctx.Value(ctypes.c_ulonglong, 0)
        self.failed: Synchronized[int] = ctx.Value(ctypes.c_ulonglong, 0)
        receive, send = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=serve, args=(kind, self.served, self.failed, send, os.getpid()),
                                name=f"szbench-{kind}-server", daemon=True)
        self.proc.start()
        send.close()
        if not receive.poll(10):
            self.stop()
            raise BenchError(f"the {kind} server did not start")
        self.port: int = receive.recv()
        receive.close()

    @property
    def pid(self) -> int:
        return self.proc.pid or 0

    def stop(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)


def serve(kind: str, served: Synchronized[int], failed: Synchronized[int], port_to: Connection, parent: int) -> None:
    """The server process: Ctrl-C is the bench's to handle (it kills us); we also go when the bench has gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)
    asyncio.run(_serve(kind, served, failed, port_to, parent))


async def _serve(kind: str, served: Synchronized[int], failed: Synchronized[int], port_to: Connection,
                 parent: int) -> None:
    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()
        served.value += 1

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(5):
                await reader.readuntil(b"\r\n\r\n")  # read the request: closing on unread data would send a RST
            writer.write(HTTP_OK)
            await writer.drain()
            served.value += 1
        except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            failed.value += 1
        finally:
            writer.close()

    server = await asyncio.start_server(accept if kind == "tcp" else answer, "127.0.0.1", 0, backlog=1024)
    port_to.send(server.sockets[0].getsockname()[1])
    port_to.close()
    while os.getppid() == parent:
        await asyncio.sleep(1.0)


# --- the reconciler under test --------------------------------------------------------------------------------------


class Probed(Sentinel):
    """SentinelZero with the same `health:` check on every service (or none), written as `Sentinel` writes its file."""

    def __init__(self, root: Path, tag: str, health: str | None) -> None:
        super().__init__(root, tag)
        self.health = health

    def write_config(self, services: Mapping[str, str]) -> None:
        lines = ["version: 1", "defaults:", "  restart: {backoff: {initial: 0}}", "processes:"]
        for name, script in services.items():
            # `$$` is a literal `$` in sentinel.yaml (interpolation), so the script's own `$$` doubles
            lines += [f"  {name}:", f"    command: {json.dumps(['sh', '-c', script.replace('$', '$$')])}"]
            if self.health is not None:
                lines.append(f"    health: {self.health}")
        self.config.write_text("\n".join(lines) + "\n")

    def snapshot(self) -> Snapshot:
        """`status --json` as (state, health, pid, restarts) by name."""
        done = subprocess.run([*self.status_argv(), "--json"], check=False, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise BenchError(f"status --json exited {done.returncode}: {(done.stdout + done.stderr)[-500:]}")
        return {row["name"]: (row["state"], row["health"], row["pid"], row["restarts"])
                for row in json.loads(done.stdout)}

    def stop(self) -> None:
        """SIGTERM (stops the reconciler and its processes), as a service manager would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.wait_exit(60)


def health_spec(config: Config, servers: Mapping[str, Server]) -> str | None:
    if config.key == "tcp":
        return f'{{tcp: "127.0.0.1:{servers["tcp"].port}", {PROBE}}}'
    if config.key == "http":
        return f'{{http: "http://127.0.0.1:{servers["http"].port}/", {PROBE}}}'
    if config.key == "exec":
        return f'{{exec: "true", {PROBE}}}'
    return None


def workload(starts: Path, count: int) -> dict[str, str]:
    return {f"s{i:03d}": sleeper(starts / f"s{i:03d}") for i in range(count)}


# --- measuring ------------------------------------------------------------------------------------------------------


def last_pid() -> int:
    """The kernel's most recently allocated pid (/proc/loadavg): its rise counts the forks on the machine."""
    return int(Path("/proc/loadavg").read_text().split()[-1])


def pid_max() -> int:
    return int(Path("/proc/sys/kernel/pid_max").read_text())


@dataclass(frozen=True, slots=True)
class Counters:
    at: float
    threads: dict[int, int]  # ns per thread of the reconciler
    own: float  # the reconciler's user + system seconds (psutil: clock ticks, dead threads included)
    system: float  # of which system (in the kernel)
    children: float  # user + system seconds of its reaped children: the exec probes
    served: int  # by the config's server
    failed: int
    server_cpu: float
    pid: int  # last_pid()

    @classmethod
    def read(cls, reconciler: psutil.Process, server: Server | None) -> Counters:
        times = reconciler.cpu_times()
        server_cpu = 0.0
        if server is not None:
            server_times = psutil.Process(server.pid).cpu_times()
            server_cpu = server_times.user + server_times.system
        return cls(at=time.monotonic(), threads=thread_cpu_ns(reconciler.pid), own=times.user + times.system,
                   system=times.system, children=times.children_user + times.children_system,
                   served=server.served.value if server else 0, failed=server.failed.value if server else 0,
                   server_cpu=server_cpu, pid=last_pid())


def window_figures(before: Counters, after: Counters) -> dict[str, float]:
    """What happened between two readings: CPU in % of one core, counts per second."""
    elapsed = after.at - before.at
    ns = sum(value - before.threads.get(tid, 0) for tid, value in after.threads.items())
    return {
        "cpu": ns / 1e9 / elapsed * 100,
        "cpu_ticks": (after.own - before.own) / elapsed * 100,
        "cpu_system": (after.system - before.system) / elapsed * 100,
        "children_cpu": (after.children - before.children) / elapsed * 100,
        "server_cpu": (after.server_cpu - before.server_cpu) / elapsed * 100,
        "served_per_s": (after.served - before.served) / elapsed,
        "failed_per_s": (after.failed - before.failed) / elapsed,
        "new_pids_per_s": (after.pid - before.pid) % pid_max() / elapsed,
        "threads": len(after.threads),
        "window": elapsed,
    }


def steady(before: Snapshot, after: Snapshot, health: str) -> int:
    """How many services were running and `health` both before and after the window, with the same pid and
    restart count: an unhealthy verdict in between would have restarted the service (liveness), changing both."""
    return sum(1 for name, row in after.items()
               if row[0] == "running" and row[1] == health and before.get(name) == row)


# --- the bench ------------------------------------------------------------------------------------------------------


class Bench(Progress):
    def __init__(self, plan: Plan, configs: list[Config], workdir: Path) -> None:
        super().__init__()
        self.plan, self.configs, self.workdir = plan, configs, workdir
        self.samples: dict[str, dict[str, list[float]]] = {c.key: defaultdict(list) for c in configs}
        self.servers: dict[str, Server] = {}

    @contextlib.contextmanager
    def fresh(self, config: Config) -> Iterator[Probed]:
        """A reconciler for `config` in a fresh directory; killed with everything it started on the way out."""
        number = self.next_launch()
        root = self.workdir / f"{config.key}-{number}"
        instance = Probed(root, f"{self.session}/{number}/", health_spec(config, self.servers))
        try:
            yield instance
        except BenchError as err:
            tail = instance.output_tail()
            raise BenchError(f"{config.key}: {err}" + (f"\n--- its output ---\n{tail}" if tail else "")) from None
        finally:
            instance.kill()

    def run_all(self) -> None:
        for kind in sorted({c.server for c in self.configs if c.server}):
            self.servers[kind] = Server(kind)
            self.say(f"{kind} server listening on 127.0.0.1:{self.servers[kind].port} (pid {self.servers[kind].pid})")
        for _ in range(self.plan.runs):
            for config in self.configs:
                self.launch(config)

    def close(self) -> None:
        for server in self.servers.values():
            server.stop()

    def launch(self, config: Config) -> None:
        """Start N services; once all are running and healthy, settle, then measure over the window."""
        plan = self.plan
        expected = "none" if config.key == "none" else "healthy"
        with self.fresh(config) as d:
            services = workload(d.starts, plan.size)
            d.write_config(services)
            d.launch()
            wait_all_started(d.starts, services)
            ready = wait_for(lambda: self._all(d, expected), timeout=60, what=f"{plan.size} {expected}", interval=0.5)
            until_ready = time.time()
            time.sleep(plan.settle)
            reconciler = psutil.Process(d.pid)
            server = self.servers.get(config.server) if config.server else None
            before = Counters.read(reconciler, server)
            time.sleep(plan.window)
            after = Counters.read(reconciler, server)
            rss = reconciler.memory_info().rss / 1e6
            figures = window_figures(before, after)
            healthy = steady(ready, d.snapshot(), expected)
            d.stop()
            for key, value in {**figures, "rss": rss, "healthy": healthy,
                               "ready_after": until_ready - d.launched_at}.items():
                self.samples[config.key][key].append(value)
            self.say(f"{config.key}: CPU {figures['cpu']:.3f} % (ticks {figures['cpu_ticks']:.2f} %), "
                     f"RSS {rss:.1f} MB, "
                     f"{healthy}/{plan.size} {expected} throughout, served {figures['served_per_s']:.1f}/s, "
                     f"new pids {figures['new_pids_per_s']:.1f}/s, children {figures['children_cpu']:.2f} %, "
                     f"server {figures['server_cpu']:.2f} %")

    def _all(self, d: Probed, health: str) -> Snapshot | None:
        rows = d.snapshot()
        good = sum(1 for state, status, _, _ in rows.values() if state == "running" and status == health)
        return rows if good == self.plan.size else None

    def medians(self) -> dict[str, dict[str, float]]:
        return {key: {name: (min(values) if name == "healthy" else statistics.median(values))
                      for name, values in sorted(samples.items()) if values}
                for key, samples in self.samples.items()}


# --- the report -----------------------------------------------------------------------------------------------------


def probe_rate(key: str, m: Mapping[str, float]) -> tuple[float | None, str]:
    """Probes per second and how they were counted: by the shared server, or (exec) by new pids on the machine."""
    if key in ("tcp", "http") and "served_per_s" in m:
        return m["served_per_s"], f"{m['served_per_s']:.1f}"
    if key == "exec" and "new_pids_per_s" in m:
        return m["new_pids_per_s"], f"≈ {m['new_pids_per_s']:.1f}"
    return None, "—"


def table(plan: Plan, configs: list[Config], medians: Mapping[str, Mapping[str, float]]) -> list[str]:
    base = medians.get("none", {}).get("cpu")
    lines = [f"| configuration ({plan.size} services) | reconciler CPU, % of a core | probe cost (− baseline) "
             f"| cost < {BUDGET:g} % of a core? | healthy throughout | probes/s | cost per probe | RSS |",
             "|---|---|---|---|---|---|---|---|"]
    for config in configs:
        m = medians.get(config.key, {})
        if "cpu" not in m:
            lines.append(f"| {config.label} | — | — | — | — | — | — | — |")
            continue
        cost = m["cpu"] - base if base is not None and config.key != "none" else None
        rate, rate_text = probe_rate(config.key, m)
        per_probe = f"{cost * 1e4 / rate:.0f} µs" if cost is not None and rate else "—"
        within = "—" if cost is None else ("yes" if cost < BUDGET else "**NO**")
        healthy = f"{m['healthy']:.0f}/{plan.size}" + (" (none)" if config.key == "none" else "")
        lines.append(f"| {config.label} | {m['cpu']:.3f} % | {'—' if cost is None else f'{cost:+.3f} %'} | {within} "
                     f"| {healthy} | {rate_text} | {per_probe} | {m['rss']:.1f} MB |")
    return lines


def notes(bench: Bench, medians: Mapping[str, Mapping[str, float]]) -> list[str]:
    plan = bench.plan
    lines = [
        f"Medians of {plan.runs} launch(es) per configuration, interleaved; CPU over a {plan.window:.0f} s window "
        f"that starts {plan.settle:.0f} s after all {plan.size} services were running and healthy: the sum over "
        "the reconciler's threads of /proc/PID/task/*/schedstat (ns). `healthy throughout`: the fewest, over the "
        "launches, of services `healthy` in `status --json` both before and after the window with the same pid and "
        "restart count (an unhealthy verdict inside it would have restarted the service).",
        "Probes/s: for tcp and http the connections the shared server answered; for exec the rise of the kernel's "
        "last allocated pid (every process started on the machine, so an upper bound). Cost per probe: the probe "
        "cost over that rate.",
    ]
    for key, m in medians.items():
        if "cpu" not in m:
            continue
        parts = [f"reconciler CPU from psutil cpu_times (10 ms ticks) {m['cpu_ticks']:.2f} %, of which in the "
                 f"kernel {m['cpu_system']:.2f} %",
                 f"CPU of its reaped children (the probe commands) {m['children_cpu']:.2f} % of a core",
                 f"threads {m['threads']:.0f}", f"all ready {m['ready_after']:.1f} s after launch",
                 f"new pids on the machine {m['new_pids_per_s']:.1f}/s"]
        if key in ("tcp", "http"):
            parts += [f"server CPU {m['server_cpu']:.2f} %", f"server failures {m['failed_per_s']:.2f}/s"]
        lines.append(f"{key}: " + "; ".join(parts) + ".")
    return lines


def source_state() -> dict[str, object]:
    """The commit measured and the files under sentinel/ that differ from it (the install is editable)."""
    repo = Path(__file__).resolve().parent.parent
    state: dict[str, object] = {}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True, capture_output=True,
                              text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--", "sentinel"], check=True,
                               capture_output=True, text=True, timeout=10)
        state = {"head": head.stdout.strip(), "modified": [line[3:] for line in dirty.stdout.splitlines()]}
    return state


def write_json(bench: Bench, medians: Mapping[str, Mapping[str, float]], error: str | None) -> Path:
    path, stamp = results_file("health-probes")
    data = {
        "timestamp": stamp, "machine": machine(), "source": source_state(), "plan": asdict(bench.plan),
        "error": error, "budget_percent_of_a_core": BUDGET,
        "configs": {c.key: {"label": c.label, "health": health_spec(c, bench.servers)} for c in bench.configs},
        "medians": medians, "samples": {key: dict(samples) for key, samples in bench.samples.items()},
        "loadavg_1min_during": bench.load, "seconds": time.monotonic() - bench.began,
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path



def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, help=f"launches per configuration (default {Plan().runs})")
    parser.add_argument("--window", type=float, help=f"seconds of CPU measurement (default {Plan().window:.0f})")
    parser.add_argument("--quick", action="store_true", help="a smoke run (1 minute): 1 launch each, 10 s windows")
    parser.add_argument("--only", choices=[c.key for c in CONFIGS if c.key != "none"],
                        help="the baseline and this configuration only")
    args = parser.parse_args()
    plan = QUICK if args.quick else Plan()
    if args.runs is not None:
        plan = Plan(**{**asdict(plan), "runs": max(1, args.runs)})
    if args.window is not None:
        plan = Plan(**{**asdict(plan), "window": max(1.0, args.window)})
    configs = [c for c in CONFIGS if args.only in (None, c.key) or c.key == "none"]
    check_installed(["sentinel"])
    workdir = Path(tempfile.mkdtemp(prefix="szbench-health-"))
    bench = Bench(plan, configs, workdir)
    try:
        error = guarded_run(bench.run_all, session=bench.session, workdir=workdir, close=bench.close)
    except KeyboardInterrupt:
        print("interrupted: cleaned up", file=sys.stderr)
        return 130
    medians = bench.medians()
    print(f"\n{bench.machine_line()}\n")
    print("\n".join(table(plan, configs, medians)))
    print()
    print("\n".join(notes(bench, medians)))
    print(f"\nsamples: {write_json(bench, medians, error)}")
    return 1 if error else 0


if __name__ == "__main__":
    sys.exit(main())
