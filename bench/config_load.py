"""Where a config load goes: each step of `sentinel.config.loader.load` timed in a fresh interpreter, the way the
reconciler's cold start and `sentinel validate` meet it (docs/limitations.md: the cold start).

Three files: the 50- and 200-process files of `reconciler.py` (one `sh -c` list command each) and the richer
200-process file of `cli_latency.py` (templates, defaults, health checks, limits, every tenth process a cron job).
Each run is a new interpreter that imports the loader, loads the file once and then expands it into the desired
state, as `sentinel up` does, timing: the imports of ruamel.yaml and of pydantic, the models module (the rest of
pydantic it needs, and building the model classes), reading and parsing the YAML (with the unknown-key and size
guards), templates/defaults/interpolation, validation (with the cross-process checks), and the desired-state
expansion. Each step is the CPU time the interpreter spent in it (time.process_time): on a shared machine, what the
code costs without the waits for a core that other programs cause; the wall time of imports and load is there too.
With --baseline OTHER_VENV/bin, each run of this install is paired with one of that install's, each going first in
turn, so drift in the machine's load hits both alike.

    python bench/config_load.py [--runs 15] [--baseline OTHER_VENV/bin]

Prints the median of each step (ms) and writes every sample to bench/results/config_load-<UTC>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from cli_latency import write_config as write_rich_config
from daemons import BIN, Sentinel
from reconciler import machine, results_file, workload

# Runs in the interpreter of the install measured: only what both this release and the one before have.
CHILD = r"""
import json, sys, time
marks = {}
def timed(label, call):
    start = time.process_time()
    try:
        return call()
    finally:
        marks[label] = marks.get(label, 0.0) + (time.process_time() - start) * 1000
began, began_cpu = time.perf_counter(), time.process_time()
timed("import ruamel.yaml", lambda: __import__("ruamel.yaml"))
timed("import pydantic", lambda: __import__("pydantic.main"))
from sentinel.config import loader
from sentinel.config.hosts import Host
timed("models (the rest of pydantic, classes)", lambda: __import__("sentinel.config.models"))
for name, label in (("_read_with_includes", "read + parse YAML + guards"), ("_expand", "templates, defaults, ${VAR}"),
                    ("_validate", "validation + cross-process checks")):
    def wrapped(*args, _inner=getattr(loader, name), _label=label, **kwargs):
        return timed(_label, lambda: _inner(*args, **kwargs))
    setattr(loader, name, wrapped)
loaded = timed("load()", lambda: loader.load(sys.argv[1], host=Host("bench")))
marks["import + load"] = (time.process_time() - began_cpu) * 1000
marks["import + load, wall time"] = (time.perf_counter() - began) * 1000
from sentinel.reconcile.desired import expand
timed("desired state (expand)", lambda: expand(loaded.config, loaded.env_files, loaded.watched))
print(json.dumps(marks))
"""


def write_files(directory: Path) -> dict[str, Path]:
    files = {}
    for count in (50, 200):
        root = directory / f"reconciler{count}"
        root.mkdir()
        daemon = Sentinel(root, "config-load")
        daemon.write_config(workload(daemon.starts, count))  # the file `reconciler.py` starts
        files[f"reconciler.py, {count} processes"] = daemon.config
    rich = directory / "cli_latency"
    rich.mkdir()
    files["cli_latency.py, 200 processes"] = write_rich_config(rich, 200)
    return files


def one_run(bin_dir: Path, path: Path) -> dict[str, float]:
    out = subprocess.run([str(bin_dir / "python"), "-c", CHILD, str(path)], check=True, capture_output=True,
                         text=True, cwd=tempfile.gettempdir())  # not the source tree: the install is measured
    marks: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return marks


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--baseline", type=Path, metavar="BIN", help="the bin directory of another install")
    args = parser.parse_args()
    installs = {"this": BIN} | ({"baseline": args.baseline} if args.baseline else {})
    samples: dict[str, dict[str, dict[str, list[float]]]] = {
        kind: defaultdict(lambda: defaultdict(list)) for kind in installs}
    load: list[float] = []
    with tempfile.TemporaryDirectory(prefix="sz-config-load-") as tmp:
        files = write_files(Path(tmp))
        for run in range(args.runs):
            for label, path in files.items():
                order = list(installs.items())
                for kind, bin_dir in order if run % 2 == 0 else reversed(order):  # each goes first in turn
                    for step, value in one_run(bin_dir, path).items():
                        samples[kind][label][step].append(value)
            load.append(os.getloadavg()[0])
    medians = {kind: {label: {step: statistics.median(values) for step, values in steps.items()}
                      for label, steps in by_file.items()} for kind, by_file in samples.items()}
    for label in files:
        print(f"\n{label} (median of {args.runs}, ms)")
        print(f"  {'step':<36}" + "".join(f"{kind:>10}" for kind in installs))
        for step in medians["this"][label]:
            print(f"  {step:<36}" + "".join(f"{medians[kind][label].get(step, float('nan')):>10.1f}"
                                             for kind in installs))
    print(f"\n1-minute load average during the runs: median {statistics.median(load):.2f} "
          f"(from {min(load):.2f} to {max(load):.2f})")
    path, stamp = results_file("config_load")
    path.write_text(json.dumps({
        "timestamp": stamp, "machine": machine(), "runs": args.runs,
        "installs": {kind: str(bin_dir) for kind, bin_dir in installs.items()},
        "medians": medians, "samples": samples, "loadavg_1min_during": load,
    }, indent=2) + "\n")
    print(f"samples: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
