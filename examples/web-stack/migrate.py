"""A stand-in schema migration: a one-shot process that brings the db to --to and exits.

Usage: python3 -u migrate.py [--db 127.0.0.1:15432] [--to 3]

Exits 0 when the db is at the target version, 1 when the db cannot be reached (so an
on-failure restart policy retries it).
"""

import argparse
import sys

from dbclient import ask


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="127.0.0.1:15432")
    parser.add_argument("--to", type=int, default=3)
    args = parser.parse_args()
    try:
        current = int(ask(args.db, "VERSION"))
        for version in range(current + 1, args.to + 1):
            print(f"migrate: applying migration {version}", flush=True)
            if ask(args.db, f"MIGRATE {version}") != "OK":
                print(f"migrate: migration {version} failed", flush=True)
                return 1
    except OSError as exc:
        print(f"migrate: cannot reach the db at {args.db}: {exc}", flush=True)
        return 1
    print(f"migrate: schema is at version {max(current, args.to)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
