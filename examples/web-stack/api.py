"""A stand-in JSON API on 127.0.0.1.

Usage: python3 -u api.py [--port 18080] [--db 127.0.0.1:15432]

GET /healthz -> 200 {"status": "ok"} while the db answers, 503 otherwise.
GET /items   -> a small JSON list. Stops cleanly on SIGTERM.
"""

import argparse
import json
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from dbclient import ask

ITEMS = [{"id": 1, "name": "anvil"}, {"id": 2, "name": "rocket skates"}]


class Handler(BaseHTTPRequestHandler):
    db = "127.0.0.1:15432"

    def do_GET(self):
        if self.path == "/healthz":
            try:
                ok = ask(self.db, "PING", timeout=1.0) == "PONG"
            except OSError:
                ok = False
            self.reply(200 if ok else 503, {"status": "ok" if ok else "db unreachable"})
        elif self.path == "/items":
            self.reply(200, ITEMS)
        else:
            self.reply(404, {"error": "not found"})

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        if not self.path.startswith("/healthz"):  # keep health checks out of the log
            print("api: " + fmt % args, flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=18080)
    parser.add_argument("--db", default="127.0.0.1:15432")
    args = parser.parse_args()
    Handler.db = args.db
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True

    def stop(signum, _frame):
        print(f"api: got {signal.Signals(signum).name}, draining", flush=True)
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"api: listening on http://127.0.0.1:{args.port}/ (db {args.db})", flush=True)
    server.serve_forever()
    server.server_close()
    print("api: stopped", flush=True)


if __name__ == "__main__":
    main()
