"""A process tree for the stop tests: `python fx_tree.py [--stubborn] ROLE...` (run as a program).

The leader starts one child per ROLE; every process prints `ready ROLE PID PGID SID` once set up:
- `group`: a child with a grandchild (`grand`) in the same group
- `setsid`: a child whose child (`escaped`) calls setsid()
- `double`: a child that double-forks an `orphan` in a new session (reparented away from the tree)
- `stubborn`: a child that ignores SIGTERM
- `zombie`: a child that leaves a child of its own unreaped (a zombie in the group)
- `--stubborn`: the leader itself ignores SIGTERM
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def ready(role: str) -> None:
    """One write() per line: lines of the tree's processes never interleave in the shared pipe."""
    os.write(1, f"ready {role} {os.getpid()} {os.getpgrp()} {os.getsid(0)}\n".encode())


def start(role: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, __file__, role])


def forever(*children: subprocess.Popen[bytes]) -> None:
    """Sleep until killed (holding on to the children, unwaited)."""
    while True:
        time.sleep(3600)


def double_fork() -> None:
    first = os.fork()
    if first == 0:
        os.setsid()
        if os.fork() == 0:
            ready("orphan")
            forever()
        os._exit(0)
    os.waitpid(first, 0)


def main(args: list[str]) -> None:
    if args[0] == "--stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        args = args[1:]
    role, rest = args[0], args[1:]
    keep = []
    if role == "leader":
        keep = [start(r) for r in rest]
    elif role == "group":
        keep = [start("grand")]
    elif role == "setsid":
        keep = [start("escaped")]
    elif role == "escaped":
        os.setsid()
    elif role == "double":
        double_fork()
    elif role == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    elif role == "zombie" and os.fork() == 0:
        os._exit(0)
    ready(role)
    forever(*keep)


if __name__ == "__main__":
    main(sys.argv[1:])
