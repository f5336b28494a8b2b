"""A stand-in scheduled job: writes the current time to a file, prints it, and exits.

Usage: python3 tick.py [FILE]   (default: last-tick.txt)
"""

import datetime
import sys

path = sys.argv[1] if len(sys.argv) > 1 else "last-tick.txt"
now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
with open(path, "w", encoding="utf-8") as handle:
    handle.write(now + "\n")
print(f"tick: wrote {now} to {path}")
