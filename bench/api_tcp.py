"""What the TCP listener (`api.listen`) costs the reconciler (CHANGELOG "Decisions"): USS and RSS with 50
processes after API traffic, without a TCP listener, with it as a second uvicorn server (what ships), and
with one uvicorn server holding both sockets; and idle CPU with 200 processes, with and without it.

    .venv/bin/python bench/api_tcp.py [--idle-seconds 30] [--only uss|cpu]

The same traffic goes over the socket in every variant, and over TCP (with the token) too in the TCP
ones. The one-server variant patches the reconciler to serve both sockets from the first server, with
a dispatcher that sends TCP requests through the token check (a unix socket's scope has no port).
Linux or macOS; takes about 3 minutes.
"""

from __future__ import annotations

import argparse
import http.client
import tempfile
import time
from pathlib import Path

import psutil
from api_overhead import idle_cpu, launch, stop, traffic
from soak import free_port

ONE_SERVER = """
from sentinel import daemon
two_servers = daemon.Daemon._servers
def one_server(self, listening, tcp):
    servers = two_servers(self, listening, tcp)
    if tcp is None:
        return servers
    on_socket, on_tcp = servers
    plain, guarded = on_socket._server.config.app, on_tcp._server.config.app
    async def either(scope, receive, send):
        await (plain if (scope.get("server") or (None, None))[1] is None else guarded)(scope, receive, send)
    on_socket._server.config.app = either
    async def serve():
        await on_socket._server.serve(sockets=[listening, tcp])
    on_socket.serve = serve
    return [on_socket]
daemon.Daemon._servers = one_server
"""


def tcp_traffic(port: int, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        for url in ["/v1/processes"] * 100 + ["/openapi.json", "/v1/events?limit=100"] * 20:
            conn.request("GET", url, headers=headers)
            response = conn.getresponse()
            response.read()
            assert response.status == 200, (url, response.status)
        for index in range(5, 10):
            conn.request("POST", "/v1/processes/restart", body=f'{{"targets": ["s.{index}"], "timeout": 10}}',
                         headers=headers)
            conn.getresponse().read()
    finally:
        conn.close()


def memory_after_traffic(prelude: str, *, tcp: bool) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port() if tcp else None
        process, client = launch(Path(tmp) / "home", 50, prelude, port)
        try:
            traffic(client)
            if port is not None:
                tcp_traffic(port, (Path(tmp) / "token").read_text().strip())
            time.sleep(3)
            info = psutil.Process(process.pid).memory_full_info()
            return info.uss / 1e6, info.rss / 1e6
        finally:
            stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--only", choices=["uss", "cpu"])
    args = parser.parse_args()
    if args.only in (None, "uss"):
        for label, prelude, tcp in (("socket only", "", False), ("socket + TCP, two servers (ships)", "", True),
                                    ("socket + TCP, one server", ONE_SERVER, True)):
            uss, rss = memory_after_traffic(prelude, tcp=tcp)
            print(f"50 processes, after traffic, {label}: USS {uss:.1f} MB, RSS {rss:.1f} MB", flush=True)
    if args.only in (None, "cpu"):
        print(f"idle CPU, 200 processes, over {args.idle_seconds:g} s: socket only "
              f"{idle_cpu('', args.idle_seconds):.2f} %, with the TCP listener "
              f"{idle_cpu('', args.idle_seconds, free_port()):.2f} %", flush=True)


if __name__ == "__main__":
    main()
