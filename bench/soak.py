"""Soak: 1000 processes for 10 minutes under one reconciler, sampled all along (issue #12).

The workload, for N processes (`--processes`, default 1000):

    jobs      5 %   `every: 5s`, each run appends its start time to runs/NAME (so a lost run shows as a gap)
    crashers  5 %   `sleep 20; exit 1`, restarted after 1 s (their failure count resets after 10 s)
    checked  10 %   `sleep`, with an `exec: true` health check every 5 s
    servers  N/100  (at most 10) Python HTTP servers with an `http` health check every 2 s
    services  rest  `sleep`

Every `--sample` seconds (default 15) it records the reconciler's USS and open descriptors, the
zombies under it, and the wall time of `sentinel status --json`. At the end it reads every job's
runs (`sentinel runs NAME --json`) and the run files, and the reconcile passes' durations from the
reconciler's own log (`reconcile_pass took_ms=…`, written at `log: {level: debug}`), those of the
sampled window only (the cold start is its own figure).

    .venv/bin/python bench/soak.py                              # 1000 processes, 10 minutes
    .venv/bin/python bench/soak.py --processes 300 --minutes 2  # a short run

Prints a markdown table and writes every sample, with the machine's description, to
bench/results/soak-<UTC>.json. Never fails on a figure; exits 1 only when the run itself could
not be measured. Linux only (it reads /proc).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil
from daemons import BenchError, Progress, Sentinel, guarded_run, wait_for
from reconciler import check_installed, machine, results_file

JOB_EVERY = 5.0  # seconds between a job's runs
SETTLE = 20.0  # seconds after everything first runs before the first sample counts as the baseline
PASS_LINE = re.compile(r"timestamp=(\S+) .*?event=reconcile_pass .*?took_ms=([0-9.]+)")


@dataclass(frozen=True, slots=True)
class Mix:
    """How many processes of each kind."""

    jobs: int
    crashers: int
    checked: int
    servers: int
    services: int

    @classmethod
    def of(cls, processes: int) -> Mix:
        jobs, crashers, checked = processes * 5 // 100, processes * 5 // 100, processes // 10
        servers = max(1, min(10, processes // 100))
        return cls(jobs, crashers, checked, servers, max(0, processes - jobs - crashers - checked - servers))


@dataclass
class Sample:
    at: float  # seconds since the soak began
    uss_mb: float
    fds: int
    zombies: list[int]
    status_ms: float
    running: int


@dataclass
class Soak:
    processes: int
    minutes: float
    sample_every: float
    mix: Mix = field(init=False)
    samples: list[Sample] = field(default_factory=list)
    jobs: dict[str, dict[str, float]] = field(default_factory=dict)
    passes_ms: list[float] = field(default_factory=list)
    started_in: float = 0.0  # seconds from launch until every service and server ran

    def __post_init__(self) -> None:
        self.mix = Mix.of(self.processes)


class SoakDaemon(Sentinel):
    """The reconciler under soak: logfmt, so the pass lines can be read back."""

    def daemon_argv(self) -> list[str]:
        return [*super().daemon_argv(), "--log-format", "logfmt"]

    def write_soak_config(self, mix: Mix, runs: Path) -> list[str]:
        """Write the workload's sentinel.yaml; the names of its jobs."""
        lines = ["version: 1", "log: {level: debug}", "processes:"]
        jobs = [f"job{i:03d}" for i in range(mix.jobs)]
        for name in jobs:
            lines += [f"  {name}:", f"    command: {json.dumps(f'date +%s.%N >> {runs / name}')}",
                      "    shell: true", f"    schedule: {{every: {JOB_EVERY:g}s}}", "    keep_runs: 10000"]
        for i in range(mix.crashers):
            lines += [f"  crash{i:03d}:", '    command: "sleep 20; exit 1"', "    shell: true",
                      "    restart: {backoff: {initial: 1s}, reset_after: 10s}"]
        for i in range(mix.checked):
            lines += [f"  checked{i:03d}:", "    command: sleep 100000",
                      "    health: {exec: 'true', interval: 5s, timeout: 2s}"]
        for i in range(mix.servers):
            port = free_port()
            server = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
            lines += [f"  server{i:02d}:", f"    command: {json.dumps(server)}",
                      f"    health: {{http: 'http://127.0.0.1:{port}/', interval: 2s, timeout: 2s}}"]
        lines += [f"  svc{i:04d}: {{command: sleep 100000}}" for i in range(mix.services)]
        self.config.write_text("\n".join(lines) + "\n")
        return jobs


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def status_rows(d: Sentinel) -> tuple[float, list[dict[str, object]]]:
    """`sentinel status --json`: its wall time in ms, and its rows."""
    began = time.perf_counter()
    out = _run([*d.status_argv(), "--json"])
    return (time.perf_counter() - began) * 1000, json.loads(out)


def _run(argv: list[str]) -> str:
    import subprocess

    done = subprocess.run(argv, check=False, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchError(f"{' '.join(argv)} exited {done.returncode}: {(done.stdout + done.stderr)[-500:]}")
    return done.stdout


def zombies_under(pid: int) -> list[int]:
    found = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                found.append(child.pid)
        except psutil.NoSuchProcess:
            continue
    return sorted(found)


def sample(d: Sentinel, began: float) -> Sample:
    reconciler = psutil.Process(d.pid)
    status_ms, rows = status_rows(d)
    return Sample(at=time.monotonic() - began, uss_mb=reconciler.memory_full_info().uss / 1e6,
                  fds=reconciler.num_fds(), zombies=zombies_under(d.pid), status_ms=status_ms,
                  running=sum(1 for row in rows if row["state"] == "running"))


def job_figures(d: Sentinel, runs: Path, name: str, seconds: float) -> dict[str, float]:
    """A job's runs: as the reconciler recorded them, as the runs wrote them, and the longest gap between two."""
    recorded = json.loads(_run([d.cli, "--state-dir", str(d.state), "runs", name, "--json", "-n", "10000"]))
    try:
        starts = [float(line) for line in (runs / name).read_text().split()]
    except FileNotFoundError:
        starts = []
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    return {"recorded": len(recorded), "written": len(starts), "expected": seconds // JOB_EVERY,
            "max_gap_s": max(gaps, default=0.0)}


def run_soak(soak: Soak, progress: Progress, workdir: Path) -> None:
    root = workdir / "soak"
    d = SoakDaemon(root, progress.session)
    runs = root / "runs"
    runs.mkdir()
    jobs = d.write_soak_config(soak.mix, runs)
    progress.say(f"{soak.processes} processes ({asdict(soak.mix)}), {soak.minutes:g} minutes")
    try:
        launched = time.monotonic()
        d.launch()
        always_up = soak.processes - soak.mix.jobs - soak.mix.crashers

        def all_up() -> bool | None:
            try:
                _, rows = status_rows(d)
            except BenchError:
                return None
            up = sum(1 for row in rows if row["state"] == "running" and not str(row["name"]).startswith(
                ("job", "crash")))
            return True if up >= always_up else None

        wait_for(all_up, timeout=300, what=f"{always_up} services running", interval=1.0)
        soak.started_in = time.monotonic() - launched
        progress.say(f"all {always_up} services and servers running after {soak.started_in:.1f} s; settling")
        time.sleep(SETTLE)
        began, sampled_from = time.monotonic(), datetime.now(UTC)
        end = began + soak.minutes * 60
        while time.monotonic() < end:
            s = sample(d, began)
            soak.samples.append(s)
            progress.say(f"USS {s.uss_mb:.1f} MB, {s.fds} fds, status {s.status_ms:.0f} ms, {s.running} running, "
                         f"{len(s.zombies)} zombies")
            time.sleep(max(0.0, min(soak.sample_every, end - time.monotonic())))
        soak.samples.append(sample(d, began))
        seconds = time.monotonic() - began + SETTLE
        soak.jobs = {name: job_figures(d, runs, name, seconds) for name in jobs}
        soak.passes_ms = [float(m.group(2)) for m in PASS_LINE.finditer((root / "daemon.out").read_text())
                          if datetime.fromisoformat(m.group(1)) >= sampled_from]  # the steady state, not start-up
        progress.say("stopping everything")
        d.stop_everything()
    except BenchError as err:
        tail = d.output_tail()
        raise BenchError(f"{err}" + (f"\n--- reconciler output ---\n{tail}" if tail else "")) from None
    finally:
        d.kill()


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def persistent_zombies(samples: list[Sample]) -> int:
    """Zombies seen in two samples in a row (one just exiting at a sample is not a leak)."""
    return max((len(set(a.zombies) & set(b.zombies)) for a, b in itertools.pairwise(samples)),
               default=0)


def table(soak: Soak) -> list[str]:
    first, last = soak.samples[0], soak.samples[-1]
    uss = [s.uss_mb for s in soak.samples]
    fds = [s.fds for s in soak.samples]
    status = [s.status_ms for s in soak.samples]
    lost = {name: f for name, f in soak.jobs.items()
            if f["written"] < f["expected"] - 1 or f["max_gap_s"] > 2 * JOB_EVERY or f["recorded"] < f["written"] - 1}
    rows = [
        ("cold start → every service running", f"{soak.started_in:.1f} s"),
        ("reconciler USS: first → last sample (max)", f"{first.uss_mb:.1f} → {last.uss_mb:.1f} MB ({max(uss):.1f})"),
        ("reconciler descriptors: first → last (max)", f"{first.fds} → {last.fds} ({max(fds)})"),
        ("reconcile pass: p50 / p99 / max", f"{percentile(soak.passes_ms, 0.5):.1f} / "
         f"{percentile(soak.passes_ms, 0.99):.1f} / {max(soak.passes_ms, default=float('nan')):.1f} ms "
         f"({len(soak.passes_ms)} passes)"),
        ("`status --json`: median / p99 / max", f"{statistics.median(status):.0f} / "
         f"{percentile(status, 0.99):.0f} / {max(status):.0f} ms"),
        ("zombies under the reconciler (in two samples in a row)", str(persistent_zombies(soak.samples))),
        ("job runs: written / recorded / expected", f"{sum(f['written'] for f in soak.jobs.values()):.0f} / "
         f"{sum(f['recorded'] for f in soak.jobs.values()):.0f} / "
         f"{sum(f['expected'] for f in soak.jobs.values()):.0f}"),
        ("jobs with a lost run (a gap over 2 × 5 s, or fewer runs)", f"{len(lost)}" + (f": {sorted(lost)}" if lost
                                                                                    else "")),
        ("longest gap between two runs of a job",
         f"{max((f['max_gap_s'] for f in soak.jobs.values()), default=0):.2f} s"),
    ]
    out = ["| figure | measured |", "|---|---|"]
    return out + [f"| {name} | {value} |" for name, value in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, default=1000, help="how many (default 1000, at most 5000)")
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to sample (default 10)")
    parser.add_argument("--sample", type=float, default=15.0, help="seconds between samples (default 15)")
    args = parser.parse_args()
    if not 10 <= args.processes <= 5000 or args.minutes <= 0 or args.sample <= 0:
        parser.error("--processes from 10 to 5000, --minutes and --sample above 0")
    check_installed(["sentinel"])
    soak = Soak(args.processes, args.minutes, args.sample)
    progress = Progress()
    workdir = Path(tempfile.mkdtemp(prefix="sz-soak-"))
    error = guarded_run(lambda: run_soak(soak, progress, workdir), session=progress.session, workdir=workdir)
    path, stamp = results_file("soak")
    path.write_text(json.dumps({"stamp": stamp, "machine": machine(), "error": error, "processes": soak.processes,
                                "minutes": soak.minutes, "mix": asdict(soak.mix), "started_in_s": soak.started_in,
                                "samples": [asdict(s) for s in soak.samples], "jobs": soak.jobs,
                                "passes_ms": soak.passes_ms}, indent=1))
    if error is not None or len(soak.samples) < 2:
        print(f"no figures ({error or 'too few samples'}); samples in {path}", file=sys.stderr)
        return 1
    print("\n".join(table(soak)))
    print(f"\n{progress.machine_line()}\nsamples: {path}")
    return 0


if __name__ == "__main__":
    os.umask(0o077)
    sys.exit(main())
