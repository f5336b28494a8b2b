"""The API on TCP (`api.listen`, docs/security.md#the-tcp-api): the same routes as the socket behind a bearer
token, a read-only token for GETs, token files made safely and followed when rotated, an access log that never
holds a token or a query string, and an address that cannot be bound reported without stopping supervision."""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.daemon import Reconciler
from tests.support.tcphttp import free_port, tcp_request
from tests.support.wait import wait_for

SLEEP = "processes: {a: {command: sleep 1000}}"


def _tcp_reconciler(make_reconciler: Callable[..., Reconciler], tmp_path: Path, *, port: int,
                    extra: str = "") -> Reconciler:
    return make_reconciler(f'api: {{listen: "127.0.0.1:{port}", token_file: {tmp_path / "secret" / "token"}'
                           f"{extra}}}\n{SLEEP}")


def test_every_route_but_healthz_needs_the_token_on_tcp(make_reconciler: Callable[..., Reconciler],
                                                        tmp_path: Path) -> None:
    port = free_port()
    r = _tcp_reconciler(make_reconciler, tmp_path, port=port)
    r.start()
    token_file = tmp_path / "secret" / "token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
    token = token_file.read_text().strip()
    assert len(token) >= 43
    assert f"event=api_token_created path={token_file}" in r.log
    for url in ("/v1/processes", "/metrics", "/openapi.json", "/v1/config", "/v1/events"):
        for offered in (None, "wrong", token + "x"):
            status, headers, body = tcp_request(port, "GET", url, token=offered)
            assert status == 401, (url, offered)
            assert headers["www-authenticate"] == "Bearer"
            assert json.loads(body)["error"]["code"] == "unauthorized"
        assert tcp_request(port, "GET", url, token=token)[0] == 200, url
    status, _, body = tcp_request(port, "GET", "/v1/processes", token=token)
    assert [row["name"] for row in json.loads(body)["processes"]] == ["a"]
    assert tcp_request(port, "GET", "/healthz")[0] == 200
    document = json.loads(tcp_request(port, "GET", "/openapi.json", token=token)[2])
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert document["security"] == [{"bearer": []}] and document["paths"]["/healthz"]["get"]["security"] == []
    for path, operations in document["paths"].items():  # what the token check answers is in the document
        for method, operation in operations.items():
            assert ("401" in operation["responses"]) == (path != "/healthz"), (method, path)
            assert ("403" in operation["responses"]) == (method not in ("get", "head")), (method, path)
    assert r.client.get("/v1/processes")["processes"][0]["name"] == "a"  # the socket needs no token
    assert tcp_request(port, "POST", "/v1/processes/a/stop", token=token, body=b"{}")[0] == 200
    assert r.row("a")["state"] == "stopped"
    assert token not in r.log


def test_the_read_only_token_reads_and_cannot_act(make_reconciler: Callable[..., Reconciler],
                                                  tmp_path: Path) -> None:
    port = free_port()
    r = _tcp_reconciler(make_reconciler, tmp_path, port=port, extra=f", read_token_file: {tmp_path / 'read'}")
    r.start()
    read = (tmp_path / "read").read_text().strip()
    assert stat.S_IMODE((tmp_path / "read").stat().st_mode) == 0o600
    assert tcp_request(port, "GET", "/v1/processes", token=read)[0] == 200
    status, _, body = tcp_request(port, "POST", "/v1/processes/a/stop", token=read, body=b"{}")
    assert status == 403
    assert json.loads(body)["error"]["code"] == "forbidden"
    assert r.row("a")["state"] == "running"


def test_a_rotated_token_holds_from_the_next_request(make_reconciler: Callable[..., Reconciler],
                                                     tmp_path: Path) -> None:
    port = free_port()
    r = _tcp_reconciler(make_reconciler, tmp_path, port=port)
    r.start()
    old = r.cli("api", "token", "-f", str(r.config)).output.strip()
    assert tcp_request(port, "GET", "/v1/processes", token=old)[0] == 200
    rotated = r.cli("api", "token", "--rotate", "-f", str(r.config))
    assert rotated.exit_code == 0
    new = rotated.stdout.strip()
    assert new != old
    assert (tmp_path / "secret" / "token").read_text().strip() == new
    assert stat.S_IMODE((tmp_path / "secret" / "token").stat().st_mode) == 0o600
    assert tcp_request(port, "GET", "/v1/processes", token=old)[0] == 401
    assert tcp_request(port, "GET", "/v1/processes", token=new)[0] == 200


def test_the_access_log_holds_no_token_and_no_query(make_reconciler: Callable[..., Reconciler],
                                                    tmp_path: Path) -> None:
    port = free_port()
    r = _tcp_reconciler(make_reconciler, tmp_path, port=port)
    r.start()
    token = r.cli("api", "token", "-f", str(r.config)).output.strip()
    planted = "planted-" + "Zq9x" * 8
    tcp_request(port, "GET", f"/v1/events?process=a&secret={planted}", token=token)
    tcp_request(port, "GET", "/v1/processes", token=planted)
    wait_for(lambda: r.log.count("event=api_request") >= 2)
    lines = [line for line in r.log.splitlines() if "event=api_request" in line]
    assert "method=GET path=/v1/events status=200" in lines[0]
    assert "client=127.0.0.1:" in lines[0] and "duration_ms=" in lines[0]
    assert "path=/v1/processes status=401" in lines[1]
    assert planted not in r.log
    assert token not in r.log


def test_an_address_in_use_is_reported_and_supervision_goes_on(make_reconciler: Callable[..., Reconciler],
                                                                tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        r = _tcp_reconciler(make_reconciler, tmp_path, port=port)
        r.start()
        r.wait_state("a", "running")
        assert r.client.get("/healthz")["api_listen_not_served"] == f"127.0.0.1:{port}"
        events = r.cli("events").output
        assert f"api.listen 127.0.0.1:{port} is not served: cannot listen there: Address already in use" in events
        assert r.log.count("level=warning event=api_not_served") == 1


@pytest.mark.parametrize("bad", ["symlink", "open", "empty", "huge", "directory"])
def test_a_refused_token_file_stops_up_and_validate_with_one_line(make_reconciler: Callable[..., Reconciler],
                                                                  tmp_path: Path, bad: str) -> None:
    token_file = tmp_path / "secret" / "token"
    token_file.parent.mkdir()
    if bad == "symlink":
        (tmp_path / "elsewhere").write_text("t0ken\n")
        os.chmod(tmp_path / "elsewhere", 0o600)
        token_file.symlink_to(tmp_path / "elsewhere")
    elif bad == "directory":
        token_file.mkdir()
    else:
        token_file.write_text({"open": "t0ken\n", "empty": "", "huge": "x" * 5000}[bad])
        os.chmod(token_file, 0o644 if bad == "open" else 0o600)
    r = _tcp_reconciler(make_reconciler, tmp_path, port=free_port())
    reason = {"symlink": "is a symbolic link", "open": "is open to group or others (mode 0644)",
              "empty": "is empty", "huge": "is over 4096 bytes", "directory": "is not a regular file"}[bad]
    checked = r.cli("validate", "-f", str(r.config))
    assert checked.exit_code == 2
    assert checked.output.startswith(f"{r.config}:1:")
    assert f"api.token_file: token file {token_file} {reason}" in checked.output
    up = r.cli("up", "-f", str(r.config))
    assert up.exit_code == 2
    assert len(up.output.strip().splitlines()) == 1
    assert "Traceback" not in up.output


def test_a_token_file_refused_once_running_refuses_every_token(make_reconciler: Callable[..., Reconciler],
                                                                tmp_path: Path) -> None:
    port = free_port()
    r = _tcp_reconciler(make_reconciler, tmp_path, port=port)
    r.start()
    token_file = tmp_path / "secret" / "token"
    token = token_file.read_text().strip()
    os.chmod(token_file, 0o644)
    assert tcp_request(port, "GET", "/v1/processes", token=token)[0] == 401
    wait_for(lambda: "event=api_token_file_refused" in r.log)
    os.chmod(token_file, 0o600)
    assert tcp_request(port, "GET", "/v1/processes", token=token)[0] == 200


README = Path(__file__).resolve().parents[3] / "README.md"


def test_the_readme_tcp_commands_run(make_reconciler: Callable[..., Reconciler], tmp_path: Path) -> None:
    """The `bash` blocks of the README's "The API on TCP" run as shown (`test_readme_commands` runs the
    README's `sh` blocks beside the quick-start example, which has no TCP listener), against reconcilers
    on the section's two configs, on free ports, with the token file in the test's folder."""
    section = README.read_text().split("## The API on TCP\n", 1)[1].split("\n## ", 1)[0]
    plain, tls = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)
    lines = [line for block in re.findall(r"```bash\n(.*?)```", section, re.DOTALL) for line in block.splitlines()]
    port, web = free_port(), free_port()
    token_file = tmp_path / "secret" / "token"

    def local(text: str) -> str:
        return (text.replace("8765", str(port)).replace("8080", str(web))
                .replace("~/.config/sentinel/token", str(token_file)))

    r = make_reconciler(local(plain), name="sentinel")  # ./sentinel.yaml, which `sentinel api token` reads
    r.start()
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    environment.pop("SENTINEL_CONFIG", None)

    def run(line: str) -> str:
        done = subprocess.run(["bash", "-c", local(line)], cwd=tmp_path, env=environment, capture_output=True,
                              text=True, timeout=60, check=False)
        assert done.returncode == 0 and "Traceback" not in done.stderr, (line, done.stdout, done.stderr)
        return done.stdout

    assert json.loads(run(lines[0]))["processes"][0]["name"] == "web"
    assert json.loads(run(lines[1]))["ok"] is True
    assert run(lines[2]) == "401\n"
    old = token_file.read_text()
    assert run(lines[3]).strip() != old.strip()
    assert json.loads(run(lines[0]))["processes"][0]["name"] == "web"  # `sentinel api token` prints the new one
    r.stop()
    run(lines[4])
    secure = make_reconciler(local(tls).replace("api:\n", f"api:\n  token_file: {token_file}\n", 1), name="tls")
    secure.start()
    assert json.loads(run(lines[5]))["processes"][0]["name"] == "web"


def test_the_tcp_listener_has_the_sockets_connection_limit(make_reconciler: Callable[..., Reconciler],
                                                           tmp_path: Path) -> None:
    from sentinel.api.serving import MAX_CONNECTIONS

    port = free_port()
    r = _tcp_reconciler(make_reconciler, tmp_path, port=port)
    r.start()
    held = [socket.create_connection(("127.0.0.1", port)) for _ in range(MAX_CONNECTIONS)]

    def refused_busy() -> bool:
        with socket.create_connection(("127.0.0.1", port)) as extra:
            extra.settimeout(15)
            return extra.recv(4096).startswith(b"HTTP/1.1 503")

    try:
        wait_for(refused_busy, timeout=30)
        assert r.client.get("/healthz")["ok"]  # the socket has its own 128
        assert "event=api_connection_refused" in r.log
    finally:
        for connection in held:
            connection.close()
    wait_for(lambda: tcp_request(port, "GET", "/healthz")[0] == 200, timeout=15)
