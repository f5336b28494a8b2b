"""Spawn → healthy: how long after a server is started does the reconciler see it healthy?

Issue #18: postgres was ready 36 ms after its spawn but marked healthy about a second later, and
each dependency level added that second. This starts a real reconciler (`sentinel up`, in the
foreground) on a one-process file: a Python server that listens --delays after its interpreter
is up (30 ms and 1.5 s by default), with a `tcp` health check at the default `interval` (10 s).
Two latencies, over --runs fresh reconcilers: spawn → healthy, from the `started` event to the
`healthy` event of state.db (millisecond stamps, as `sentinel events` shows them), which includes
Python's own start-up; and listening → healthy, from the moment the server listened (it writes
the time) to the `healthy` event: what the check's cadence adds. Medians and spread are printed
with the machine's load average (a shared machine: read figures under load as such).

`--source DIR` runs the reconciler from another checkout of the code (a throwaway
`git worktree add /tmp/old <commit>`), to compare before and after on the same machine:

    python bench/readiness.py [--runs 7] [--delays 0.03,1.5] [--source DIR]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sentinel.client import Client  # noqa: E402 - after the path is set, to run from a checkout
from sentinel.errors import SentinelError  # noqa: E402
from sentinel.paths import StateDir  # noqa: E402

SERVER = """
import socket, sys, time
time.sleep(float(sys.argv[2]))
with socket.create_server(("127.0.0.1", int(sys.argv[1]))) as server:
    with open("ready", "w") as stamp:
        stamp.write(repr(time.time()))
    while True:
        server.accept()[0].close()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def one_run(delay: float, source: Path | None, timeout: float = 30.0) -> tuple[float, float]:
    """Seconds from `started` to `healthy`, and from the moment it listened to `healthy`, for a server that
    listens `delay` seconds after its interpreter is up."""
    with tempfile.TemporaryDirectory(prefix="sentinel-readiness-") as tmp:
        home, config = Path(tmp) / "home", Path(tmp) / "sentinel.yaml"
        (Path(tmp) / "server.py").write_text(SERVER)
        port = free_port()
        config.write_text(f"""processes:
  db:
    command: ["{sys.executable}", "server.py", "{port}", "{delay}"]
    health: {{tcp: "127.0.0.1:{port}"}}
""")
        env = {**os.environ, "PYTHONPATH": str(source or ROOT)}
        daemon = subprocess.Popen([sys.executable, "-m", "sentinel", "--state-dir", str(home), "up", "-f",
                                   str(config)], env=env, cwd=tmp, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            started, healthy = _stamps(Client(StateDir(home), timeout=5.0), timeout)
            ready = float((Path(tmp) / "ready").read_text())
            return healthy - started, healthy - ready
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(30)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()


def _stamps(client: Client, timeout: float) -> tuple[float, float]:
    """The wall-clock times of db's `started` and `healthy` events."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            events = client.get("/v1/events", process="db", limit=50)["events"]
            stamps = {event["kind"]: event["at"] for event in events}
        except SentinelError:  # not answering yet
            stamps = {}
        if "started" in stamps and "healthy" in stamps:
            return _parse(stamps["started"]).timestamp(), _parse(stamps["healthy"]).timestamp()
        time.sleep(0.05)  # polling a result that is stamped by the reconciler: the poll adds nothing to it
    raise SystemExit(f"db was not healthy within {timeout:g}s")


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--delays", default="0.03,1.5", help="seconds before the server listens, comma-separated")
    parser.add_argument("--source", type=Path, default=None, help="run the reconciler from this checkout")
    args = parser.parse_args()
    print(f"code: {args.source or ROOT}; load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{os.cpu_count()} cores")
    for delay in (float(d) for d in args.delays.split(",")):
        runs = [one_run(delay, args.source) for _ in range(args.runs)]
        for label, index in (("spawn → healthy", 0), ("listening → healthy", 1)):
            ms = sorted(round(run[index] * 1000) for run in runs)
            print(f"listens {delay * 1000:.0f} ms after start-up: {label} median {statistics.median(ms):.0f} ms "
                  f"(min {ms[0]}, max {ms[-1]}, {args.runs} runs): {ms}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
