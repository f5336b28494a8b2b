"""A stand-in service for the gitops example.

Usage: python3 -u bin/service.py --name NAME [--port PORT] [--once]

With --port it answers GET /healthz on 127.0.0.1:PORT. With --once it does one unit of
work and exits 0 (a job). Otherwise it prints a heartbeat every 5 s until SIGTERM/SIGINT.
"""

import argparse
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

stopping = threading.Event()


class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path == "/healthz"
        body = b"ok\n" if ok else b"not found\n"
        self.send_response(200 if ok else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--port", type=int)
    parser.add_argument("--once", action="store_true")
    args = parser.parse_args()
    level = os.environ.get("LOG_LEVEL", "info")
    if args.once:
        print(f"{args.name}: one run done (level {level})", flush=True)
        return
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    server = None
    if args.port:
        server = ThreadingHTTPServer(("127.0.0.1", args.port), Health)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    where = f" on 127.0.0.1:{args.port}" if server else ""
    print(f"{args.name}[{os.getpid()}]: started{where} (level {level})", flush=True)
    while not stopping.wait(5):
        print(f"{args.name}[{os.getpid()}]: alive", flush=True)
    if server:
        server.shutdown()
        server.server_close()
    print(f"{args.name}[{os.getpid()}]: stopped", flush=True)


if __name__ == "__main__":
    main()
