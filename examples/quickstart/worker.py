"""A stand-in background worker: prints a heartbeat line every few seconds.

Run with `python3 -u worker.py`. HEARTBEAT_SECONDS sets the interval (default 5).
Stops cleanly on SIGTERM or SIGINT (Ctrl-C), which is how a supervisor stops it.
"""

import os
import signal
import sys
import time

interval = float(os.environ.get("HEARTBEAT_SECONDS", "5"))
running = True


def stop(signum, _frame):
    global running
    print(f"worker: got {signal.Signals(signum).name}, finishing", flush=True)
    running = False


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)

print(f"worker: started (pid {os.getpid()}, heartbeat every {interval:g}s)", flush=True)
beat = 0
while running:
    beat += 1
    print(f"worker: heartbeat {beat} at {time.strftime('%H:%M:%S')}", flush=True)
    deadline = time.monotonic() + interval
    while running and time.monotonic() < deadline:
        time.sleep(0.2)
print("worker: stopped", flush=True)
sys.exit(0)
