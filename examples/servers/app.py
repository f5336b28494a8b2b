"""The example's web app: a WSGI callable for gunicorn (`app:application`), or run directly as its stand-in
(`python3 app.py PORT`, on wsgiref). /healthz answers 200 once redis and postgres accept connections."""

import os
import socket
import sys
from wsgiref.simple_server import make_server


def _reachable(port: str) -> bool:
    try:
        socket.create_connection(("127.0.0.1", int(port)), timeout=1).close()
    except OSError:
        return False
    return True


def application(environ, start_response):
    ready = _reachable(os.environ.get("PG_PORT", "15433")) and _reachable(os.environ.get("REDIS_PORT", "16379"))
    status = "200 OK" if ready or environ.get("PATH_INFO") != "/healthz" else "503 Service Unavailable"
    start_response(status, [("Content-Type", "text/plain")])
    return [b"ok\n" if status.startswith("200") else b"dependencies not reachable\n"]


if __name__ == "__main__":
    with make_server("127.0.0.1", int(sys.argv[1]), application) as server:
        print(f"app (stand-in) listening on {sys.argv[1]}", flush=True)
        server.serve_forever()
