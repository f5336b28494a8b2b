"""Stand-ins for the real servers, for machines without them (`--env standin`).

    python3 standin.py tcp PORT     accepts connections (redis, postgres)
    python3 standin.py http PORT    answers 200 to every GET (nginx)
    python3 standin.py check PORT   exits 0 if PORT accepts a connection (pg_isready, pg_dump)

They stop on SIGTERM, SIGINT and SIGQUIT, as the servers they stand for do with their stop signals.
"""

import http.server
import signal
import socket
import sys


def _stop(signum, frame):
    print(f"stopping on signal {signum}", flush=True)
    sys.exit(0)


def main() -> None:
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "check":
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError as exc:
            sys.exit(f"127.0.0.1:{port}: {exc}")
        print(f"127.0.0.1:{port} accepts connections")
        return
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
        signal.signal(number, _stop)
    if mode == "http":
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok\n")

        server = http.server.HTTPServer(("127.0.0.1", port), Handler)
        print(f"http stand-in listening on {port}", flush=True)
        server.serve_forever()
    with socket.create_server(("127.0.0.1", port)) as listener:
        print(f"tcp stand-in listening on {port}", flush=True)
        while True:
            listener.accept()[0].close()


if __name__ == "__main__":
    main()
