"""A stand-in application with roles: prints what it was configured with.

Usage: python3 -u app.py --role worker|backup [--every SECONDS]

worker: prints a line every --every seconds until SIGTERM/SIGINT.
backup: prints a line and exits 0 (a job).
Reads APP_NAME, APP_ENV, LOG_LEVEL, GREETING and DEBUG from the environment.
"""

import argparse
import os
import signal
import time

running = True


def stop(_signum, _frame):
    global running
    running = False


def describe(role):
    env = os.environ
    debug = "on" if env.get("DEBUG") else "off"
    return (f"{env.get('APP_NAME', '?')} {role} [{env.get('APP_ENV', '?')}] "
            f"level={env.get('LOG_LEVEL', '?')} debug={debug}: {env.get('GREETING', '')}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--role", choices=["worker", "backup"], required=True)
    parser.add_argument("--every", type=float, default=5.0)
    args = parser.parse_args()
    if args.role == "backup":
        print(describe("backup") + " (backup done)", flush=True)
        return
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while running:
        print(describe(f"worker[{os.getpid()}]"), flush=True)
        deadline = time.monotonic() + args.every
        while running and time.monotonic() < deadline:
            time.sleep(0.2)


if __name__ == "__main__":
    main()
