"""A stand-in for a server with workers (postgres, gunicorn, nginx): a parent with two children that
write to a log file which signal they got. Run as `python standin_tree.py LOG ROLE`:

- `child`: writes `child-ready PID`, then `child PID SIGNAME` on SIGTERM or SIGINT, and exits;
  SIGHUP writes `child PID SIGHUP` and goes on. `busy-child`: the same, but it goes on after every
  signal, as a worker busy with a long request does (only SIGKILL ends it).
- `busy`: a parent whose children are `busy-child`ren; otherwise like `silent`.
- `tells`: a parent that, on SIGTERM, stops its children itself with SIGINT (as a postmaster does a
  fast shutdown), waits for them and exits; `silent`: a parent that exits on SIGTERM and leaves its
  children running. Both write `parent SIGNAME` for every signal they get, and go on after SIGHUP.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from types import FrameType


def write(log: str, line: str) -> None:
    with open(log, "a") as handle:
        handle.write(line + "\n")


def child(log: str, *, busy: bool) -> None:
    def on_signal(number: int, _: FrameType | None) -> None:
        write(log, f"child {os.getpid()} {signal.Signals(number).name}")
        if number != signal.SIGHUP and not busy:
            sys.exit(0)

    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, on_signal)
    write(log, f"child-ready {os.getpid()}")
    while True:
        signal.pause()


def main(log: str, role: str) -> None:
    if role.endswith("child"):
        child(log, busy=role == "busy-child")
    kind = "busy-child" if role == "busy" else "child"
    kids = [subprocess.Popen([sys.executable, __file__, log, kind]) for _ in range(2)]

    def parent(number: int, _: FrameType | None) -> None:
        write(log, f"parent {signal.Signals(number).name}")
        if number == signal.SIGHUP:
            return
        if role == "tells":
            for kid in kids:
                kid.send_signal(signal.SIGINT)
            for kid in kids:
                kid.wait()
        os._exit(0)

    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, parent)
    write(log, "parent-ready")
    while True:
        signal.pause()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
