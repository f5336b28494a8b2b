"""A stand-in web frontend on 127.0.0.1: a page, and /api/* passed through to the API.

Usage: python3 -u frontend.py [--port 18000] [--api http://127.0.0.1:18080]
Stops cleanly on SIGTERM.
"""

import argparse
import signal
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>web-stack</title></head>
<body><h1>web-stack</h1><p>Items from the API: <a href="/api/items">/api/items</a></p></body></html>
"""


class Handler(BaseHTTPRequestHandler):
    api = "http://127.0.0.1:18080"

    def do_GET(self):
        if self.path.startswith("/api/"):
            try:
                with urllib.request.urlopen(self.api + self.path[len("/api"):], timeout=2) as answer:
                    self.send(answer.status, answer.read(), "application/json")
            except urllib.error.HTTPError as exc:
                self.send(exc.code, exc.read(), "application/json")
            except OSError:
                self.send(502, b'{"error": "api unreachable"}', "application/json")
        else:
            self.send(200, PAGE, "text/html; charset=utf-8")

    def send(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        print("web: " + fmt % args, flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=18000)
    parser.add_argument("--api", default="http://127.0.0.1:18080")
    args = parser.parse_args()
    Handler.api = args.api.rstrip("/")
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True

    def stop(signum, _frame):
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"web: listening on http://127.0.0.1:{args.port}/ (api {args.api})", flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
