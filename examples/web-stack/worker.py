"""A stand-in queue worker: polls the API every few seconds. Listens on no port, so any
number of replicas can run side by side.

Usage: python3 -u worker.py [--api http://127.0.0.1:18080] [--every 5]
Stops cleanly on SIGTERM.
"""

import argparse
import json
import os
import signal
import time
import urllib.request

running = True


def stop(_signum, _frame):
    global running
    running = False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", default="http://127.0.0.1:18080")
    parser.add_argument("--every", type=float, default=5.0)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    me = f"worker[{os.getpid()}]"
    print(f"{me}: started", flush=True)
    while running:
        try:
            with urllib.request.urlopen(args.api.rstrip("/") + "/items", timeout=2) as answer:
                items = json.load(answer)
            print(f"{me}: processed {len(items)} items", flush=True)
        except OSError as exc:
            print(f"{me}: api not reachable ({exc}); will retry", flush=True)
        deadline = time.monotonic() + args.every
        while running and time.monotonic() < deadline:
            time.sleep(0.2)
    print(f"{me}: stopped", flush=True)


if __name__ == "__main__":
    main()
