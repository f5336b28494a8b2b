"""What the API's server choices cost the reconciler (CHANGELOG "Decisions"): its USS with 50 processes
after API traffic, with FastAPI loaded in it or not, and its idle CPU with 200 processes, with uvicorn's
main loop (10 wake-ups a second) or without it (what ships).

    .venv/bin/python bench/api_overhead.py [--idle-seconds 60] [--only uss|cpu]

The variants run the same reconciler (`sentinel up` in the foreground); the FastAPI one first imports
FastAPI and builds a FastAPI app of the same routes, bodies and answers (and its OpenAPI document), the
main-loop one runs uvicorn's `Server.main_loop` instead of ours. Linux or macOS; takes about 4 minutes.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from sentinel.client import Client, RemoteError
from sentinel.errors import DaemonUnavailable
from sentinel.paths import StateDir

FASTAPI = """
import fastapi
from sentinel.api import answers, bodies
api = fastapi.FastAPI()
for verb in ("start", "stop", "restart"):
    def act(body: bodies.Act) -> answers.Acted: ...
    api.post(f"/v1/processes/{verb}")(act)
api.get("/v1/processes")(lambda: answers.Processes(processes=[], config_error=None))
api.get("/v1/events")(lambda: answers.Events(events=[]))
def apply(body: bodies.Apply) -> answers.Applied: ...
api.post("/v1/config/apply")(apply)
api.openapi()
"""
MAIN_LOOP = """
import uvicorn
from sentinel.api import serving
serving._Server.main_loop = uvicorn.Server.main_loop
"""
RUN = "import sys\nfrom sentinel.cli.main import main\nsys.argv[0] = 'sentinel'\nmain()\n"


def launch(home: Path, count: int, prelude: str, port: int | None = None) -> tuple[subprocess.Popen[bytes], Client]:
    """A reconciler running `count` sleeps (and `api.listen` on `port`, with a token file, if given), once they
    all run; `prelude` is Python run before it (to patch it)."""
    config = home.parent / "sentinel.yaml"
    api = f'api: {{listen: "127.0.0.1:{port}", token_file: token}}\n' if port else ""
    config.write_text(f"{api}processes: {{s: {{command: sleep 1000, replicas: {count}}}}}\n")
    argv = [sys.executable, "-c", prelude + RUN, "--state-dir", str(home), "up", "-f", str(config)]
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = Client(StateDir(home), timeout=30)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            rows = client.get("/v1/processes")["processes"]
            if sum(row["state"] == "running" for row in rows) == count:
                return process, client
        except (DaemonUnavailable, RemoteError):
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("the reconciler did not start its processes in time")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(60)


def traffic(client: Client) -> None:
    for _ in range(100):
        client.get("/v1/processes")
    for _ in range(20):
        client.get("/openapi.json")
        client.get("/v1/events", limit=100)
    for index in range(5):
        client.post("/v1/processes/restart", {"targets": [f"s.{index}"], "timeout": 10})


def uss_after_traffic(prelude: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        process, client = launch(Path(tmp) / "home", 50, prelude)
        try:
            traffic(client)
            time.sleep(3)
            return psutil.Process(process.pid).memory_full_info().uss / 1e6
        finally:
            stop(process)


def idle_cpu(prelude: str, seconds: float, port: int | None = None) -> float:
    """% of a core the reconciler uses over `seconds` with 200 processes running (and `api.listen` on `port`)."""
    with tempfile.TemporaryDirectory() as tmp:
        process, _ = launch(Path(tmp) / "home", 200, prelude, port)
        try:
            daemon = psutil.Process(process.pid)
            time.sleep(5)  # start-up work done
            before = daemon.cpu_times()
            time.sleep(seconds)
            after = daemon.cpu_times()
            used = (after.user - before.user) + (after.system - before.system)
            return 100 * used / seconds
        finally:
            stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--only", choices=["uss", "cpu"])
    args = parser.parse_args()
    if args.only in (None, "uss"):
        print(f"USS, 50 processes, after traffic: Starlette {uss_after_traffic(''):.1f} MB, "
              f"with FastAPI {uss_after_traffic(FASTAPI):.1f} MB", flush=True)
    if args.only in (None, "cpu"):
        print(f"idle CPU, 200 processes, over {args.idle_seconds:g} s: without uvicorn's main loop "
              f"{idle_cpu('', args.idle_seconds):.2f} %, with it {idle_cpu(MAIN_LOOP, args.idle_seconds):.2f} %",
              flush=True)


if __name__ == "__main__":
    main()
