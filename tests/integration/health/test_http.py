"""HTTP probes against real servers: 2xx or `expect_status`, refused, silent and broken servers, TLS."""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from sentinel import __version__
from sentinel.config.models import Health
from sentinel.health.checks import CheckResult, run_check
from sentinel.health.tracker import initial, observe
from sentinel.states import Health as Status
from tests.integration.health.servers import answering, closed_port, replying, serve, silent, stdlib_http_server


async def probe(url: str, *, timeout: float = 2.0, expect_status: int | None = None) -> CheckResult:
    return await run_check(Health(http=url, expect_status=expect_status), timeout=timeout, cwd="/",
                           env=dict(os.environ))


def test_server_that_turns_unhealthy_is_reported_and_tracked() -> None:
    paths: list[str] = []
    with stdlib_http_server([200, 503], paths) as port:
        url = f"http://127.0.0.1:{port}/healthz?deep=1"
        results = [asyncio.run(probe(url)) for _ in range(3)]
    assert results == [CheckResult(True, "HTTP 200"), CheckResult(False, "HTTP 503"), CheckResult(False, "HTTP 503")]
    assert paths == ["/healthz?deep=1"] * 3
    state = initial()
    for result in results:
        state = observe(state, result.ok, result.detail, in_start_period=False, retries=2)
    assert (state.status, state.failures, state.detail) == (Status.UNHEALTHY, 2, "HTTP 503")


def test_request_is_one_http11_get_with_host_and_connection_close() -> None:
    seen: list[bytes] = []

    async def main() -> CheckResult:
        async with serve(answering([204], seen)) as port:
            return await probe(f"http://scott:t%40ger@127.0.0.1:{port}/a b/status?x=1")

    assert asyncio.run(main()) == CheckResult(True, "HTTP 204")
    lines = seen[0].decode().split("\r\n")
    assert lines[0] == "GET /a%20b/status?x=1 HTTP/1.1"
    assert lines[1].startswith("Host: 127.0.0.1:")
    assert "Connection: close" in lines
    assert "Authorization: Basic c2NvdHQ6dEBnZXI=" in lines  # scott:t@ger
    assert f"User-Agent: sentinel-health/{__version__}" in lines  # what access logs filter on (README)


@pytest.mark.parametrize(
    ("status", "expect_status", "result"),
    [
        pytest.param(200, None, CheckResult(True, "HTTP 200"), id="200-is-healthy"),
        pytest.param(299, None, CheckResult(True, "HTTP 299"), id="any-2xx-is-healthy"),
        pytest.param(301, None, CheckResult(False, "HTTP 301"), id="redirect-is-not-followed-nor-healthy"),
        pytest.param(404, None, CheckResult(False, "HTTP 404"), id="404-is-unhealthy"),
        pytest.param(503, None, CheckResult(False, "HTTP 503"), id="503-is-unhealthy"),
        pytest.param(401, 401, CheckResult(True, "HTTP 401"), id="expected-status-is-healthy-even-4xx"),
        pytest.param(200, 204, CheckResult(False, "HTTP 200 (expected 204)"), id="expect-status-is-exact"),
    ],
)
def test_status_decides(status: int, expect_status: int | None, result: CheckResult) -> None:
    async def main() -> CheckResult:
        async with serve(answering([status], [])) as port:
            return await probe(f"http://127.0.0.1:{port}/", expect_status=expect_status)

    assert asyncio.run(main()) == result


def test_closed_port_is_connection_refused() -> None:
    port = closed_port()
    assert asyncio.run(probe(f"http://127.0.0.1:{port}/")) == CheckResult(False, "connection refused")


def test_server_that_never_answers_is_cut_at_the_timeout() -> None:
    async def main() -> tuple[CheckResult, float]:
        async with serve(silent) as port:
            started = time.monotonic()
            result = await probe(f"http://127.0.0.1:{port}/", timeout=0.3)
            return result, time.monotonic() - started

    result, elapsed = asyncio.run(main())
    assert result == CheckResult(False, "timed out after 300ms")
    assert 0.3 <= elapsed < 1.0


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        pytest.param(b"", "connection closed without an HTTP response", id="hang-up"),
        pytest.param(b"SSH-2.0-OpenSSH_9.6\r\n", "not an HTTP response: b'SSH-2.0-OpenSSH_9.6\\r\\n'",
                     id="not-http"),
        pytest.param(b"HTTP/1.1 20", "not an HTTP response: b'HTTP/1.1 20'", id="truncated-status"),
        pytest.param(b"HTTP/1.1 200 " + b"x" * 70_000, "not an HTTP response: status line too long",
                     id="endless-status-line"),
    ],
)
def test_broken_answer_is_a_one_line_failure(payload: bytes, detail: str) -> None:
    async def main() -> CheckResult:
        async with serve(replying(payload)) as port:
            return await probe(f"http://127.0.0.1:{port}/")

    assert asyncio.run(main()) == CheckResult(False, detail)


def test_unresolvable_host_names_the_host() -> None:
    result = asyncio.run(probe("http://no-such-host.invalid/"))
    assert not result.ok
    assert result.detail.startswith("cannot resolve no-such-host.invalid: ") or result.detail == "timed out after 2s"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_https_with_an_untrusted_certificate_fails_tls(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)

    async def main() -> CheckResult:
        async with serve(answering([200], []), tls=tls) as port:
            return await probe(f"https://127.0.0.1:{port}/")

    result = asyncio.run(main())
    assert result == CheckResult(False, "TLS error: certificate verify failed: self-signed certificate")


def test_https_against_plain_http_fails_tls() -> None:
    async def plain_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)  # a TLS ClientHello: bad request
        writer.write(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
        await writer.drain()

    async def main() -> CheckResult:
        async with serve(plain_http) as port:
            return await probe(f"https://127.0.0.1:{port}/")

    result = asyncio.run(main())
    assert not result.ok and result.detail.startswith("TLS error: "), result
