"""The CLI driving a remote reconciler (`--api URL --token-file F`, or $SENTINEL_API and $SENTINEL_TOKEN_FILE;
docs/contract.md#cli): a real reconciler serving `api.listen` on 127.0.0.1, the real CLI on another, empty
state directory (nothing can come through the socket), over HTTP with a token, over HTTPS with a self-signed
certificate made with openssl, and every way it can go wrong as one line that never holds the token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sentinel.cli.main import cli
from tests.support.daemon import Reconciler
from tests.support.tcphttp import free_port
from tests.support.wait import wait_for

SLEEP = "processes: {a: {command: sleep 1000}}"


def remote_cli(tmp_path: Path, url: str, *args: str, token_file: Path | None = None, ca_file: Path | None = None,
               env: dict[str, str] | None = None) -> Result:
    """`sentinel --state-dir EMPTY --api URL [--token-file F] [--ca-file C] ARGS`, in-process."""
    options = ["--state-dir", str(tmp_path / "elsewhere"), "--api", url]
    if token_file is not None:
        options += ["--token-file", str(token_file)]
    if ca_file is not None:
        options += ["--ca-file", str(ca_file)]
    return CliRunner().invoke(cli, [*options, *args], env=env, catch_exceptions=False)


def _listening(make_reconciler: Callable[..., Reconciler], tmp_path: Path, *, extra: str = "",
               processes: str = SLEEP) -> tuple[Reconciler, int]:
    port = free_port()
    r = make_reconciler(f'api: {{listen: "127.0.0.1:{port}", token_file: {tmp_path / "token"}{extra}}}\n{processes}')
    r.start()
    r.wait_state("a", "running")
    return r, port


def test_every_reconciler_command_works_over_tcp_with_the_token(make_reconciler: Callable[..., Reconciler],
                                                                 tmp_path: Path) -> None:
    r, port = _listening(make_reconciler, tmp_path, processes=(
        "processes:\n  a: {command: sleep 1000, reload: {signal: CONT}}\n"
        "  nightly: {command: 'echo done', schedule: manual}\n"))
    url, token = f"http://127.0.0.1:{port}", tmp_path / "token"

    def run(*args: str) -> Result:
        result = remote_cli(tmp_path, url, *args, token_file=token)
        assert token.read_text().strip() not in result.output
        return result

    status = run("status")
    assert (status.exit_code, status.stderr) == (0, "")
    assert "a" in status.stdout and "running" in status.stdout
    assert run("stop", "a").exit_code == 0
    assert r.row("a")["state"] == "stopped"
    started = run("start", "a", "--wait")
    assert started.exit_code == 0, started.output
    assert r.row("a")["state"] == "running"
    assert run("restart", "a").exit_code == 0
    signalled = run("signal", "a", "CONT")
    assert signalled.stdout.startswith("a: sent CONT to pid "), signalled.output
    assert run("reload", "a").stdout == "reloading a\n"
    events = run("events", "a", "--json")
    assert events.exit_code == 0
    assert any(event["process"] == "a" for event in json.loads(events.stdout))
    assert run("run", "nightly").exit_code == 0
    wait_for(lambda: '"outcome": "succeeded"' in run("runs", "nightly", "--json").stdout)
    logs = run("logs", "nightly", "--json")  # through the API: the lines the job wrote there
    assert logs.exit_code == 0, logs.output
    assert "done" in [json.loads(line)["text"] for line in logs.stdout.splitlines()]
    diff = run("diff")  # the running file, named as the reconciler has it
    assert (diff.exit_code, diff.stderr) == (0, f"using {r.config}, the file the running reconciler was given\n")
    applied = run("apply", "-f", str(r.config))  # a path on the reconciler's machine
    assert (applied.exit_code, applied.stdout.splitlines()[-1]) == (0, "converged")
    assert not (tmp_path / "elsewhere").exists()  # nothing was read or started on this side
    assert run("down").stdout == "reconciler stopped\n"
    assert r.process is not None and r.process.wait(timeout=30) == 0


def test_the_environment_names_the_reconciler_and_its_token(make_reconciler: Callable[..., Reconciler],
                                                           tmp_path: Path) -> None:
    _, port = _listening(make_reconciler, tmp_path)
    env = {**os.environ, "SENTINEL_API": f"http://127.0.0.1:{port}", "SENTINEL_TOKEN_FILE": str(tmp_path / "token"),
           "SENTINEL_HOME": str(tmp_path / "elsewhere")}
    result = subprocess.run([sys.executable, "-m", "sentinel", "status", "--json"], check=False, env=env,
                            capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stderr) == (0, "")
    assert '"name": "a"' in result.stdout


def test_a_wrong_or_missing_token_is_one_line(make_reconciler: Callable[..., Reconciler], tmp_path: Path) -> None:
    r, port = _listening(make_reconciler, tmp_path)
    url = f"http://127.0.0.1:{port}"
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-token\n")
    wrong.chmod(0o600)
    refused = remote_cli(tmp_path, url, "stop", "a", token_file=wrong)
    assert (refused.exit_code, refused.stdout) == (1, "")
    assert refused.stderr == (f"the reconciler at {url} refused the token (HTTP 401): give it with --token-file or "
                              "$SENTINEL_TOKEN_FILE\n")
    assert "not-the-token" not in refused.output
    none = remote_cli(tmp_path, url, "status")
    assert none.stderr.startswith(f"the reconciler at {url} needs a token (HTTP 401)")
    assert r.row("a")["state"] == "running"


def test_a_read_only_token_reads_and_cannot_stop(make_reconciler: Callable[..., Reconciler], tmp_path: Path) -> None:
    r, port = _listening(make_reconciler, tmp_path, extra=f", read_token_file: {tmp_path / 'read'}")
    url, read = f"http://127.0.0.1:{port}", tmp_path / "read"
    assert remote_cli(tmp_path, url, "status", token_file=read).exit_code == 0
    stop = remote_cli(tmp_path, url, "stop", "a", token_file=read)
    assert (stop.exit_code, stop.stderr) == (
        1, f"the reconciler at {url} refused POST /v1/processes/stop: the token is read-only (HTTP 403)\n")
    assert read.read_text().strip() not in stop.output
    assert r.row("a")["state"] == "running"


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def test_https_with_the_certificate_given_and_not(make_reconciler: Callable[..., Reconciler], tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    _, port = _listening(make_reconciler, tmp_path, extra=f", tls: {{cert: {cert}, key: {key}}}")
    url, token = f"https://127.0.0.1:{port}", tmp_path / "token"
    verified = remote_cli(tmp_path, url, "status", token_file=token, ca_file=cert)
    assert (verified.exit_code, verified.stderr) == (0, "")
    assert "running" in verified.stdout
    unverified = remote_cli(tmp_path, url, "status", token_file=token)
    assert unverified.exit_code == 1
    assert unverified.stderr.startswith(f"cannot reach the reconciler at {url}: TLS verification failed (")
    assert unverified.stderr.endswith("give its CA with --ca-file or $SENTINEL_CA_FILE\n")
    plain = remote_cli(tmp_path, f"http://127.0.0.1:{port}", "status", token_file=token)
    assert plain.exit_code == 1
    assert plain.stderr.endswith("is it https://?\n"), plain.stderr
    assert token.read_text().strip() not in unverified.output + plain.output


@pytest.mark.parametrize("command", [("status",), ("events",), ("runs", "a"), ("diff",), ("down",)],
                         ids=lambda command: command[0])
def test_an_unreachable_reconciler_is_one_line_and_nothing_local_answers(tmp_path: Path,
                                                                         command: tuple[str, ...]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = remote_cli(tmp_path, url, *command)
    assert (result.exit_code, result.stdout, result.stderr) == (
        1, "", f"cannot reach the reconciler at {url}: Connection refused\n")


def test_an_unknown_host_is_one_line(tmp_path: Path) -> None:
    result = remote_cli(tmp_path, "http://no-such-host.invalid:8765", "status")
    assert result.exit_code == 1
    assert result.stderr.startswith("cannot reach the reconciler at http://no-such-host.invalid:8765: unknown host "
                                    "no-such-host.invalid (")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(("url", "message"), [
    ("ftp://host:21", "--api 'ftp://host:21': give an http:// or https:// URL with a host, like https://host:8765"),
    ("host:8765", "--api 'host:8765': give an http:// or https:// URL with a host, like https://host:8765"),
    ("http://host:99999", "--api 'http://host:99999': the port is not a number from 1 to 65535"),
    ("http://user:pw@host:1", "--api 'http://user:pw@host:1': give the token with --token-file, and no user, "
                              "query or fragment"),
], ids=["ftp", "no-scheme", "port", "user"])
def test_a_url_that_cannot_be_used_is_one_line(tmp_path: Path, url: str, message: str) -> None:
    result = remote_cli(tmp_path, url, "status")
    assert (result.exit_code, result.stderr) == (2, message + "\n")


def test_token_and_ca_files_that_cannot_be_used_are_one_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    missing = remote_cli(tmp_path, url, "status", token_file=tmp_path / "nope")
    assert (missing.exit_code, missing.stderr) == (2, f"token file {tmp_path / 'nope'}: No such file or directory\n")
    blank = tmp_path / "blank"
    blank.write_text("\n")
    blank.chmod(0o600)
    empty = remote_cli(tmp_path, url, "status", token_file=blank)
    assert (empty.exit_code, empty.stderr) == (2, f"token file {blank} is empty\n")
    shared = tmp_path / "shared"
    shared.write_text("a-token\n")
    shared.chmod(0o644)
    open_to_others = remote_cli(tmp_path, url, "status", token_file=shared)
    assert (open_to_others.exit_code, open_to_others.stderr) == (
        2, f"token file {shared} is open to group or others (mode 0644): chmod 600 it\n")
    no_ca = remote_cli(tmp_path, url.replace("http", "https"), "status", ca_file=tmp_path / "ca.pem")
    assert (no_ca.exit_code, no_ca.stderr) == (2, f"--ca-file {tmp_path / 'ca.pem'}: no such file\n")


def test_commands_of_this_machine_say_so(tmp_path: Path) -> None:
    url = "http://127.0.0.1:1"
    config = tmp_path / "sentinel.yaml"
    config.write_text(SLEEP)
    up = remote_cli(tmp_path, url, "up", "-f", str(config))
    assert (up.exit_code, up.stderr) == (2, "`sentinel up` works on this machine only (it runs the reconciler here): "
                                            f"drop --api {url} (or unset $SENTINEL_API)\n")
    follow = remote_cli(tmp_path, url, "run", "a", "--wait")
    assert follow.exit_code == 2
    assert follow.stderr.startswith("`sentinel run --wait` works on this machine only")
    valid = remote_cli(tmp_path, url, "validate", "-f", str(config))
    assert (valid.exit_code, valid.stdout) == (0, f"{config}: valid (1 service, 0 jobs)\n")
    assert valid.stderr == ("`sentinel validate` works on this machine only (it checks the file here); "
                            "--api is not used\n")
    resolved = remote_cli(tmp_path, url, "config", "-f", str(config), "--json")
    assert resolved.exit_code == 0
    assert resolved.stderr.startswith("`sentinel config` works on this machine only")
    assert not (tmp_path / "elsewhere").exists()
