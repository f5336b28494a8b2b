"""Health probes: one HTTP GET, one TCP connect or one command, each cut at its timeout.

Called by the controller once per `health.interval` for each process with a `health:` check;
the result feeds `tracker.observe`. The only module of `sentinel.health` that does I/O.

Probes run on the event loop, with no thread per probe: sockets through asyncio streams, and a
command's exit through a pidfd registered with the loop (`watch_exit`), or a 50 ms `waitpid`
poll where there is none (`poll_exit`: macOS, old kernels). A command runs in its own session;
once it has exited, timed out or been cancelled, its whole process group is SIGKILLed and the
command is reaped by pid (never `waitpid(-1)`, docs/reliability.md#f05-a-global-reaper), so no probe process outlives
its timeout and none is left a zombie (docs/reliability.md#f45-health-check-pitfalls: `sh -c 'sleep 30 & sleep 30'`
leaves nothing).

Every outcome is a `CheckResult` with a one-line detail ("HTTP 503", "connection refused",
"timed out after 1s", "exited 1", "command not found: x"). No exception escapes `run_check`
except `CancelledError`, and a cancelled command probe is killed like a timed-out one.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import os
import re
import signal
import socket
import ssl
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, quote, unquote, urlsplit

from sentinel import __version__
from sentinel.config.fields import split_command
from sentinel.config.models import Health
from sentinel.config.units import format_duration
from sentinel.pidfd import PidfdReader
from sentinel.signames import signal_name
from sentinel.users import UserProblem, credentials

POLL_INTERVAL = 0.05  # seconds between waitpid polls where there is no pidfd
KILL_WAIT = 1.0  # how long a killed probe is awaited before reaping continues in the background
CLOSE_WAIT = 0.25  # how long a socket's orderly close (TLS close_notify) may take once we have our answer
MAX_DETAIL = 200  # characters
MAX_STATUS_LINE = 65536  # bytes: a longer first line is not HTTP (asyncio's stream line limit too)

_STATUS_LINE = re.compile(rb"HTTP/\d(?:\.\d)? ([1-9]\d\d)(?:[ \r\n]|$)")
_ERRNO = re.compile(r"\[Errno (\d+)\]")
USER_AGENT = f"sentinel-health/{__version__}"  # filter checks out of access logs by it (README, "Health checks")
_TARGET_SAFE = "!$&'()*+,/:;=?@[]~%"  # characters a request target keeps as written


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One probe's verdict and its one-line detail."""

    ok: bool
    detail: str


class _Failed(Exception):
    """A probe failure whose message is the detail to report."""


async def run_check(spec: Health, *, timeout: float, cwd: str, env: Mapping[str, str],
                    user: str | None = None) -> CheckResult:
    """Run the probe of `spec` once, within `timeout` seconds. An `exec` probe runs as its process does: as
    `user` (None: as ourselves), in `cwd`, with `env` (and that user's HOME, USER and LOGNAME)."""
    try:
        return await _probe(spec, timeout, cwd, env, user)
    except TimeoutError:
        return CheckResult(False, f"timed out after {format_duration(timeout)}")
    except _Failed as exc:
        return CheckResult(False, _one_line(str(exc)))
    except OSError as exc:
        return CheckResult(False, _one_line(_os_error(exc)))
    except Exception as exc:  # noqa: BLE001 - a broken probe is a failed check, never a crash of the controller
        return CheckResult(False, _one_line(f"check failed: {type(exc).__name__}: {exc}"))


async def _probe(spec: Health, timeout: float, cwd: str, env: Mapping[str, str], user: str | None) -> CheckResult:
    if spec.http is not None:
        return await _http(spec.http, spec.expect_status, timeout)
    if spec.tcp is not None:
        return await _tcp(spec.tcp, timeout)
    if spec.exec is not None:
        return await _exec(split_command(spec.exec), timeout, cwd, env, user)
    raise _Failed("no probe configured")


# --- http and tcp ------------------------------------------------------------------------------------------------


async def _http(url: str, expect_status: int | None, timeout: float) -> CheckResult:
    """GET the URL and judge the status line; the rest of the answer is not read."""
    parts = urlsplit(url)
    tls = _tls_context() if parts.scheme == "https" else None
    host = parts.hostname or ""
    port = parts.port or (443 if tls else 80)
    if tls is None:
        return await _plain_http(host, port, _request(parts), expect_status, timeout)
    async with asyncio.timeout(timeout) as scope:
        reader, writer = await _open(host, port, tls)
    try:
        async with asyncio.timeout_at(scope.when()):
            writer.write(_request(parts))
            await writer.drain()
            line = await reader.readline()
    except ValueError as exc:  # the stream's line limit
        raise _Failed("not an HTTP response: status line too long") from exc
    finally:
        await _close(writer)
    return _judge(line, expect_status)


def _request(parts: SplitResult) -> bytes:
    target = quote(parts.path or "/", safe=_TARGET_SAFE) + (f"?{quote(parts.query, safe=_TARGET_SAFE)}"
                                                            if parts.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc.rpartition('@')[2]}", f"User-Agent: {USER_AGENT}",
             "Accept: */*", "Connection: close"]
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        lines.append(f"Authorization: Basic {base64.b64encode(credentials).decode()}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def _judge(line: bytes, expect_status: int | None) -> CheckResult:
    match = _STATUS_LINE.match(line)
    if match is None:
        if not line:
            raise _Failed("connection closed without an HTTP response")
        raise _Failed(f"not an HTTP response: {line[:60]!r}")
    status = int(match.group(1))
    if expect_status is None:
        return CheckResult(200 <= status < 300, f"HTTP {status}")
    if status == expect_status:
        return CheckResult(True, f"HTTP {status}")
    return CheckResult(False, f"HTTP {status} (expected {expect_status})")


async def _plain_http(host: str, port: int, request: bytes, expect_status: int | None,
                      timeout: float) -> CheckResult:
    """http:// on a bare non-blocking socket: no stream objects, which cost most of a probe's CPU
    with hundreds of probes a second (bench/health_probes.py)."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(timeout):
        sock = await _connect(host, port)
        try:
            await loop.sock_sendall(sock, request)
            data = b""
            while b"\n" not in data and len(data) < MAX_STATUS_LINE:
                chunk = await loop.sock_recv(sock, 4096)
                if not chunk:
                    break
                data += chunk
        finally:
            sock.close()
    if b"\n" not in data and len(data) >= MAX_STATUS_LINE:
        raise _Failed("not an HTTP response: status line too long")
    line, newline, _ = data.partition(b"\n")
    return _judge(line + newline, expect_status)


async def _tcp(address: str, timeout: float) -> CheckResult:
    """Healthy when `host:port` (or `[v6]:port`) accepts a connection, which is closed at once."""
    host, _, port = address.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    async with asyncio.timeout(timeout):
        sock = await _connect(host, int(port))
    sock.close()
    return CheckResult(True, "connection accepted")


async def _connect(host: str, port: int) -> socket.socket:
    """A connected non-blocking socket to the first address of `host` that accepts (numeric hosts are
    not looked up); the last address's error if none does."""
    loop = asyncio.get_running_loop()
    infos = _numeric(host, port)
    if infos is None:  # a name: looked up in asyncio's resolver thread
        try:
            infos = list(await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except socket.gaierror as exc:
            raise _Failed(f"cannot resolve {host}: {(exc.strerror or str(exc)).lower()}") from exc
    error: OSError = OSError(f"no address for {host}")
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, address)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    raise error


_AddrInfo = list[tuple[socket.AddressFamily, socket.SocketKind, int, str, Any]]


def _numeric(host: str, port: int) -> _AddrInfo | None:
    """The address of a numeric IPv4 or IPv6 host, without a lookup; None for a name."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except OSError:
            continue
        return [(family, socket.SOCK_STREAM, 0, "", (host, port))]
    return None


async def _open(host: str, port: int, tls: ssl.SSLContext | None) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        return await asyncio.open_connection(host, port, ssl=tls)
    except socket.gaierror as exc:
        raise _Failed(f"cannot resolve {host}: {(exc.strerror or str(exc)).lower()}") from exc


async def _close(writer: asyncio.StreamWriter) -> None:
    """Close politely if the peer lets us within CLOSE_WAIT, and drop the connection in any case."""
    try:
        writer.close()
        with contextlib.suppress(TimeoutError, OSError):
            async with asyncio.timeout(CLOSE_WAIT):
                await writer.wait_closed()
    finally:
        writer.transport.abort()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One default (verifying) context for all https probes: loading the CA store costs milliseconds."""
    return ssl.create_default_context()


def _os_error(exc: OSError) -> str:
    """'connection refused', 'no route to host', 'TLS error: certificate verify failed: …'."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS error: certificate verify failed: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {(exc.reason or str(exc)).replace('_', ' ').lower()}"
    code = exc.errno
    if code is None:  # asyncio joins the errors for several addresses of one host into one message
        codes = set(_ERRNO.findall(str(exc)))
        code = int(codes.pop()) if len(codes) == 1 else None
    if code is None:
        return str(exc) or type(exc).__name__
    return os.strerror(code).lower()


# --- exec ----------------------------------------------------------------------------------------------------------


async def _exec(argv: list[str], timeout: float, cwd: str, env: Mapping[str, str], user: str | None) -> CheckResult:
    """Run the command in its own session; healthy on exit 0. Timed out or cancelled: SIGKILL to its group."""
    proc = _spawn(argv, cwd, env, user)
    exited = watch_exit(asyncio.get_running_loop(), proc)
    try:
        async with asyncio.timeout(timeout):
            code = await asyncio.shield(exited)
    except BaseException:  # TimeoutError or CancelledError: kill the probe, let the kill land, then pass it on
        _kill_group(proc.pid)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(KILL_WAIT):
                await asyncio.shield(exited)  # the watch keeps reaping afterwards if this gives up
        raise
    if code is None:
        return CheckResult(False, "exit status lost (reaped elsewhere)")
    if code < 0:
        return CheckResult(False, f"killed by {signal_name(-code)}")
    return CheckResult(code == 0, f"exited {code}")


def _spawn(argv: list[str], cwd: str, env: Mapping[str, str], user: str | None) -> subprocess.Popen[bytes]:
    try:
        creds = credentials(user, env)
    except UserProblem as exc:
        raise _Failed(f"cannot run the check: {exc}") from None
    try:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                cwd=cwd, env=dict(creds.env if creds else env), start_new_session=True,
                                close_fds=True, user=creds.uid if creds else None,
                                group=creds.gid if creds else None,
                                extra_groups=list(creds.groups) if creds else None)
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        if exc.filename == cwd and cwd != argv[0]:
            raise _Failed(f"cannot change to directory {cwd}: {reason}") from exc
        if isinstance(exc, FileNotFoundError):
            raise _Failed(f"command not found: {argv[0]}") from exc
        raise _Failed(f"cannot run {argv[0]}: {reason}") from exc


def watch_exit(loop: asyncio.AbstractEventLoop, proc: subprocess.Popen[bytes]) -> asyncio.Future[int | None]:
    """A future for `proc`'s exit code (negative: killed by that signal; None: reaped by someone else).

    Linux: the process's pidfd is registered with `loop` (`sentinel.pidfd`); once readable the process is reaped with
    `waitpid(pid, 0)`, which returns at once. Without a pidfd this falls back to `poll_exit`. The
    watch does not depend on the future: cancelling it does not stop the reaping.
    """
    exited: asyncio.Future[int | None] = loop.create_future()

    def ready() -> None:
        watch.close()
        try:
            status: int | None = os.waitpid(proc.pid, 0)[1]
        except ChildProcessError:
            status = None
        _finish(proc, exited, status)

    try:
        watch = PidfdReader(loop, proc.pid, ready)
    except OSError:  # no pidfd on this platform or kernel, or the child was auto-reaped
        return poll_exit(loop, proc)
    return exited


def poll_exit(loop: asyncio.AbstractEventLoop, proc: subprocess.Popen[bytes]) -> asyncio.Future[int | None]:
    """`watch_exit` without a pidfd: `waitpid(pid, WNOHANG)` every POLL_INTERVAL seconds."""
    exited: asyncio.Future[int | None] = loop.create_future()

    def poll() -> None:
        try:
            pid, status = os.waitpid(proc.pid, os.WNOHANG)
        except ChildProcessError:
            _finish(proc, exited, None)
            return
        if pid == 0:
            loop.call_later(POLL_INTERVAL, poll)
        else:
            _finish(proc, exited, status)

    poll()
    return exited


def _finish(proc: subprocess.Popen[bytes], exited: asyncio.Future[int | None], status: int | None) -> None:
    """After the probe is reaped: kill what it left in its group, record the code, resolve the future."""
    _kill_group(proc.pid)  # background children of a finished probe; the group id is not reused while any live
    code = None if status is None else os.waitstatus_to_exitcode(status)
    proc.returncode = 255 if code is None else code  # Popen must not think it is still running (ResourceWarning)
    if not exited.done():
        exited.set_result(code)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_DETAIL else line[: MAX_DETAIL - 1] + "…"
