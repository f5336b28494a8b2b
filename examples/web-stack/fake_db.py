"""A stand-in database: a line-based TCP server on 127.0.0.1.

Usage: python3 -u fake_db.py [--port 15432]

Commands, one per line: PING -> PONG, MIGRATE N -> OK (sets the schema version),
VERSION -> the schema version, anything else -> ERR. A connection that sends nothing
(a TCP health check) is simply closed. Stops cleanly on SIGINT (fast shutdown, like
PostgreSQL) or SIGTERM.
"""

import argparse
import signal
import socketserver
import threading

state = {"version": 0}
lock = threading.Lock()


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        for raw in self.rfile:
            words = raw.decode("utf-8", "replace").split()
            if not words:
                continue
            command = words[0].upper()
            if command == "PING":
                reply = "PONG"
            elif command == "VERSION":
                reply = str(state["version"])
            elif command == "MIGRATE" and len(words) == 2 and words[1].isdigit():
                with lock:
                    state["version"] = max(state["version"], int(words[1]))
                reply = "OK"
            else:
                reply = "ERR unknown command"
            self.wfile.write((reply + "\n").encode())


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=15432)
    args = parser.parse_args()
    server = Server(("127.0.0.1", args.port), Handler)

    def stop(signum, _frame):
        print(f"db: got {signal.Signals(signum).name}, shutting down", flush=True)
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"db: listening on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()
    server.server_close()
    print("db: stopped", flush=True)


if __name__ == "__main__":
    main()
