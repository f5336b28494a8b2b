"""TLS on the TCP API (docs/security.md#the-tcp-api): `api.tls` serves HTTPS with a certificate made here with
the `openssl` command; a certificate or key that cannot serve stops `up` with one line; a non-loopback
`api.listen` needs `tls` or `insecure: true`, else `validate` points at it."""

from __future__ import annotations

import json
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.daemon import Reconciler
from tests.support.tcphttp import free_port, tcp_request

SLEEP = "processes: {a: {command: sleep 1000}}"


def self_signed(folder: Path, name: str = "server") -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key (PEM files in `folder`)."""
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert),
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


def _config(port: int, tmp_path: Path, cert: Path, key: Path) -> str:
    return (f'api: {{listen: "127.0.0.1:{port}", token_file: {tmp_path / "token"}, '
            f"tls: {{cert: {cert}, key: {key}}}}}\n{SLEEP}")


def test_https_with_a_self_signed_certificate(make_reconciler: Callable[..., Reconciler], tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    port = free_port()
    # paths relative to the config's folder (tmp_path), not to where `up` runs
    r = make_reconciler(f'api: {{listen: "127.0.0.1:{port}", token_file: token, tls: {{cert: {cert.name}, '
                        f"key: {key.name}}}}}\n{SLEEP}")
    r.start()
    token = (tmp_path / "token").read_text().strip()
    trusting = ssl.create_default_context(cafile=str(cert))
    status, _, body = tcp_request(port, "GET", "/v1/processes", token=token, tls=trusting)
    assert status == 200
    assert [row["name"] for row in json.loads(body)["processes"]] == ["a"]
    assert tcp_request(port, "GET", "/v1/processes", tls=trusting)[0] == 401
    with pytest.raises(ssl.SSLCertVerificationError):  # a client that does not trust it refuses it
        tcp_request(port, "GET", "/healthz", tls=ssl.create_default_context())
    assert "event=api_listening listen=127.0.0.1:" in r.log and "tls=true" in r.log


@pytest.mark.parametrize("bad", ["missing", "not-pem", "mismatched"])
def test_a_certificate_that_cannot_serve_stops_up_with_one_line(make_reconciler: Callable[..., Reconciler],
                                                                 tmp_path: Path, bad: str) -> None:
    cert, key = self_signed(tmp_path)
    expected = {"missing": f"api.tls: cannot read the certificate {tmp_path / 'nope.crt'}: No such file or directory",
                "not-pem": f"api.tls: {tmp_path / 'junk.crt'} and {key} are not a PEM certificate and key",
                "mismatched": f"api.tls: the key {tmp_path / 'other.key'} does not belong to the certificate {cert}"}
    if bad == "missing":
        cert = tmp_path / "nope.crt"
    elif bad == "not-pem":
        cert = tmp_path / "junk.crt"
        cert.write_text("not a certificate\n")
    else:
        key = self_signed(tmp_path, "other")[1]
    r = make_reconciler(_config(free_port(), tmp_path, cert, key))
    r.start(wait=False)
    assert r.wait_exit() == 1
    assert r.log.splitlines()[-1] == expected[bad]
    assert "Traceback" not in r.log
    assert "event=spawned" not in r.log  # nothing started, no token file made
    assert not (tmp_path / "token").exists()


@pytest.mark.parametrize(("extra", "valid"), [("", False), (", insecure: true", True), ("tls", True)])
def test_a_non_loopback_address_needs_tls_or_insecure(make_reconciler: Callable[..., Reconciler], tmp_path: Path,
                                                      extra: str, valid: bool) -> None:
    if extra == "tls":
        extra = f", tls: {{cert: {tmp_path / 'c.pem'}, key: {tmp_path / 'k.pem'}}}"
    r = make_reconciler(f'api:\n  listen: "0.0.0.0:8765"\n  token_file: {tmp_path / "token"}{extra}\n{SLEEP}'
                        if not extra else f'api: {{listen: "0.0.0.0:8765", token_file: {tmp_path / "token"}{extra}}}'
                                          f"\n{SLEEP}")
    checked = r.cli("validate", "-f", str(r.config))
    if valid:
        assert checked.exit_code == 0, checked.output
        return
    assert checked.exit_code == 2
    assert checked.output == (f"{r.config}:2:11: api.listen: is not a loopback address: add tls: {{cert: ..., "
                              "key: ...}, or insecure: true to send tokens over the network in clear "
                              "(got '0.0.0.0:8765')\n")
