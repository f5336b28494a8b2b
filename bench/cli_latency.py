"""Wall time of the `sentinel` command: --help, --version, validate / config on a 200-process file, and `status`.

Budgets (docs/contract.md#performance-budgets and issue #2): `--help` and `--version` well under 100 ms; `sentinel
validate` under 300 ms for 200 processes; `sentinel status` with 50 processes under 100 ms and no slower than
`supervisorctl status`. Each figure is the median of --runs runs of the installed `sentinel` command next to this
Python (install with `pip install '.[bench]'`, not `-e`, for figures users see: an editable install adds an import
hook).

The `status` figures ask a real reconciler (`sentinel up` in a temporary state directory, 50 `sleep` services,
`daemons.py`) once all of them run, after one untimed call: `status`, `status --json`, `status` over the TCP API
(`--api`, with the token), each in turn, so drift in the machine's load hits them alike; calls that follow each
other within a second share the reconciler's rows (`RowCache`), so one more figure spaces its calls by 1.1 s: what a
single `status` costs, with the cpu and memory of every tree sampled afresh. Then `supervisorctl status` on
supervisord with the same 50 services, when supervisor is installed (the `bench` extra). Everything started is
stopped at the end, whatever happened. Linux only.

    python bench/cli_latency.py [--runs 21] [--processes 200] [--services 50] [--only commands|status]
                                [--baseline OTHER_VENV/bin]

With --baseline, every `sentinel status` figure is also taken with that install's `sentinel`, each call in turn with
this one's against the same reconciler (this one's): a before/after comparison in the same minutes.

Writes every sample, with the machine's description, to bench/results/cli_latency-<UTC>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from daemons import BIN, Daemon, Progress, Sentinel, guarded_run, run_cli, wait_all_started, wait_for
from daemons import daemon as launch_daemon
from reconciler import machine, results_file, workload
from soak import free_port

SPACED = 1.1  # seconds between the calls of the spaced `status` figure: past the rows' USAGE_MAX_AGE (1 s)


def write_config(directory: Path, count: int) -> Path:
    """A realistic file: templates, defaults, health checks, limits, every tenth process a job."""
    lines = [
        "version: 1",
        "defaults:",
        "  restart: {policy: on-failure, max_retries: 5, backoff: {initial: 1s, factor: 2, max: 60s}}",
        "  stop: {signal: TERM, timeout: 10s}",
        "templates:",
        "  py:",
        "    command: python -u -m app",
        "    env: {PYTHONUNBUFFERED: \"1\"}",
        "processes:",
    ]
    for i in range(count):
        lines.append(f"  svc{i:03d}:")
        if i % 10 == 9:
            lines += [
                f"    command: [\"./job.sh\", \"--part\", \"{i}\"]",
                f"    schedule: {{cron: \"{i % 60} 3 * * *\", timezone: Europe/Paris}}",
                "    timeout: 1h",
            ]
            continue
        lines += [
            "    extends: py",
            f"    command: python -m http.server ${{PORT_{i}:-{8000 + i}}}",
            f"    env: {{PORT: \"{8000 + i}\", MODE: prod, API_TOKEN: secret{i}}}",
            f"    group: g{i % 5}",
            f"    depends_on: {{svc{(i // 10) * 10:03d}: started}}" if i % 10 else "    replicas: 2",
            "    health:",
            f"      http: http://127.0.0.1:{8000 + i}/",
            "      interval: 5s",
            "    limits: {memory: 512MB, cpu: 90%}",
            "    logs: {max_size: 10MB, keep: 5}",
        ]
    path = directory / "sentinel.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def timed_ms(argv: list[str], runs: int) -> list[float]:
    """The wall time in ms of each of `runs` runs; every run must exit 0."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        times.append((time.perf_counter() - start) * 1000)
    return times


def command_cases(runs: int, processes: int, samples: dict[str, list[float]]) -> None:
    sentinel = str(BIN / "sentinel")
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp), processes)
        cases = {
            "sentinel --version": [sentinel, "--version"],
            "sentinel --help": [sentinel, "--help"],
            "sentinel validate --help": [sentinel, "validate", "--help"],
            f"sentinel validate ({processes} processes)": [sentinel, "validate", "-f", str(config)],
            f"sentinel config ({processes} processes)": [sentinel, "config", "-f", str(config)],
        }
        for label, argv in cases.items():
            samples[label] = timed_ms(argv, runs)
            show(label, samples[label])


def show(label: str, times: list[float]) -> None:
    print(f"{label:<58} {statistics.median(times):>7.1f}ms {min(times):>7.1f}ms", flush=True)


def status_cases(runs: int, services: int, progress: Progress, workdir: Path, samples: dict[str, list[float]],
                 *, baseline: Path | None = None) -> None:
    """`status` of a reconciler with `services` running (three ways, in turn, and the same by the `sentinel` in
    `baseline` if given), then `supervisorctl status` of supervisord with the same services, if installed."""
    with _running("sentinel", services, progress, workdir) as d:
        assert isinstance(d, Sentinel)  # for mypy: `_running("sentinel", …)` is one
        cases = {
            f"sentinel status ({services} running)": d.status_argv(),
            f"sentinel status --json ({services} running)": [*d.status_argv(), "--json"],
            f"sentinel --api http:// status ({services} running)": d.remote_status_argv(),
        }
        if baseline is not None:
            cases |= {f"baseline: {label}": [str(baseline / "sentinel"), *argv[1:]] for label, argv in cases.items()}
        _timed_in_turn(cases, runs, samples)
        spaced = {f"sentinel status ({services} running, {SPACED} s apart)": d.status_argv()}
        if baseline is not None:
            spaced |= {f"baseline: {label}": [str(baseline / "sentinel"), *argv[1:]] for label, argv in spaced.items()}
        for _ in range(runs):
            for label, argv in spaced.items():
                time.sleep(SPACED)
                samples[label].append(run_cli(argv) * 1000)
        for label in spaced:
            show(label, samples[label])
    if not (BIN / "supervisord").exists():
        progress.say("supervisord is not installed next to this Python (the bench extra): no supervisorctl figure")
        return
    with _running("supervisord", services, progress, workdir) as d:
        _timed_in_turn({f"supervisorctl status ({services} running)": d.status_argv()}, runs, samples)


@contextlib.contextmanager
def _running(kind: str, services: int, progress: Progress, workdir: Path) -> Iterator[Daemon]:
    """A daemon of `kind` with `services` sleeps, all running and reported so by its own status command; killed
    with everything it started on the way out (`daemons.daemon`)."""
    number = progress.next_launch()
    with launch_daemon(kind, workdir / f"{kind}-{number}", f"{progress.session}/{number}/") as d:
        if isinstance(d, Sentinel):
            d.listen = f"127.0.0.1:{free_port()}"
        started = workload(d.starts, services)
        d.write_config(started)
        d.launch()
        wait_all_started(d.starts, started)
        wait_for(lambda: d.running() == services or None, timeout=30, what=f"{d.label} to report {services} running")
        progress.say(f"{d.label}: {services} services running")
        yield d


def _timed_in_turn(cases: dict[str, list[str]], runs: int, samples: dict[str, list[float]]) -> None:
    """One untimed call of each (the first after a launch also pays for cold caches), then `runs` rounds of one
    call of each, in turn. supervisorctl exits 3 when some process is not running: it is counted too."""
    for argv in cases.values():
        run_cli(argv, ok=(0, 3))
    for _ in range(runs):
        for label, argv in cases.items():
            samples[label].append(run_cli(argv, ok=(0, 3)) * 1000)
    for label in cases:
        show(label, samples[label])


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--processes", type=int, default=200, help="in the file of validate and config")
    parser.add_argument("--services", type=int, default=50, help="running under the reconciler `status` asks")
    parser.add_argument("--only", choices=["commands", "status"], help="only the commands without a reconciler, or "
                        "only `status`")
    parser.add_argument("--baseline", type=Path, metavar="BIN",
                        help="the bin directory of another install (the release before): its `sentinel status`, "
                        "in turn with this one's, against the same reconciler")
    args = parser.parse_args()
    if not (BIN / "sentinel").exists():
        sys.exit(f"no `sentinel` command in {BIN}: `pip install '.[bench]'` first")
    progress = Progress()
    samples: dict[str, list[float]] = defaultdict(list)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {args.runs} runs each")
    print(f"{'command':<58} {'median':>9} {'min':>9}")
    if args.only != "status":
        command_cases(args.runs, args.processes, samples)
    error = None
    if args.only != "commands":
        workdir = Path(tempfile.mkdtemp(prefix="sz-cli-latency-"))
        try:
            error = guarded_run(lambda: status_cases(args.runs, args.services, progress, workdir, samples,
                                                     baseline=args.baseline),
                                session=progress.session, workdir=workdir)
        except KeyboardInterrupt:
            print("interrupted: cleaned up", file=sys.stderr)
            return 130
    print(progress.machine_line())
    path, stamp = results_file("cli_latency")
    medians = {label: statistics.median(values) for label, values in samples.items()}
    path.write_text(json.dumps({
        "timestamp": stamp, "machine": machine(), "runs": args.runs, "error": error, "medians": medians,
        "samples": samples, "loadavg_1min_during": progress.load,
    }, indent=2) + "\n")
    print(f"samples: {path}")
    return 1 if error else 0


if __name__ == "__main__":
    sys.exit(main())
