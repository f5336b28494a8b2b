"""A stand-in nightly report job: asks the db for its schema version, prints it, exits.

Usage: python3 -u report.py [--db 127.0.0.1:15432]
"""

import argparse
import sys
import time

from dbclient import ask

parser = argparse.ArgumentParser()
parser.add_argument("--db", default="127.0.0.1:15432")
args = parser.parse_args()
try:
    version = ask(args.db, "VERSION")
except OSError as exc:
    print(f"report: cannot reach the db: {exc}", flush=True)
    sys.exit(1)
print(f"report: {time.strftime('%Y-%m-%d %H:%M:%S')} schema version {version}", flush=True)
