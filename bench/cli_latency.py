"""Wall time of the `sentinel` command: --help, --version, and validate / config on a 200-process file.

Budgets (docs/contract.md#performance-budgets and issue #2): `--help` and `--version` well under 100 ms; `sentinel
validate` under 300 ms for 200 processes. Each figure is the median of --runs runs of the
installed `sentinel` command next to this Python (install with `pip install .`, not `-e`,
for figures users see: an editable install adds an import hook).

    python bench/cli_latency.py [--runs 21] [--processes 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


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


def median_ms(argv: list[str], runs: int) -> tuple[float, float]:
    """Median and minimum wall time in ms; every run must exit 0."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--processes", type=int, default=200)
    args = parser.parse_args()
    sentinel = str(Path(sys.executable).parent / "sentinel")
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp), args.processes)
        cases = {
            "sentinel --version": [sentinel, "--version"],
            "sentinel --help": [sentinel, "--help"],
            "sentinel validate --help": [sentinel, "validate", "--help"],
            f"sentinel validate ({args.processes} processes)": [sentinel, "validate", "-f", str(config)],
            f"sentinel config ({args.processes} processes)": [sentinel, "config", "-f", str(config)],
        }
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {args.runs} runs each")
        print(f"{'command':<40} {'median':>9} {'min':>9}")
        for label, argv in cases.items():
            med, low = median_ms(argv, args.runs)
            print(f"{label:<40} {med:>7.1f}ms {low:>7.1f}ms")


if __name__ == "__main__":
    main()
