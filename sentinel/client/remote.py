"""A reconciler reached over TCP (`--api http[s]://HOST:PORT`, docs/contract.md#cli): the URL, its bearer token and
CA file, and one request with `http.client` (TLS and the framing of answers are its business).

Imported only when `--api` (or `$SENTINEL_API`) names a remote, so that `status` on this machine's socket loads
neither `urllib.parse` nor this (docs/contract.md#performance-budgets). The bearer token is never part of any
message or repr.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sentinel.client import BadRemote, RemoteError, Unreachable

if TYPE_CHECKING:
    import http.client
    import ssl


@dataclass(frozen=True)
class Remote:
    """A reconciler reached over TCP: `url` as the user gave it, the bearer token read from a file (never
    shown: not in repr, not in any message), and the CA file that verifies an HTTPS certificate."""

    url: str
    scheme: str
    host: str
    port: int
    prefix: str
    token: str | None = field(default=None, repr=False)
    ca_file: str | None = None

    @classmethod
    def parse(cls, url: str, *, token_file: str | None = None, ca_file: str | None = None) -> Remote:
        """The remote of `url` (`http://HOST:PORT` or `https://HOST:PORT`, with a path prefix if any); BadRemote
        with one line when it or one of the files cannot be used."""
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadRemote(f"--api {url!r}: give an http:// or https:// URL with a host, like https://host:8765")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise BadRemote(f"--api {url!r}: the port is not a number from 1 to 65535") from None
        if parts.username or parts.password or parts.query or parts.fragment:
            raise BadRemote(f"--api {url!r}: give the token with --token-file, and no user, query or fragment")
        if ca_file is not None and not os.path.isfile(ca_file):
            raise BadRemote(f"--ca-file {ca_file}: no such file")
        token = read_token(token_file) if token_file is not None else None
        return cls(url=url.strip().rstrip("/"), scheme=parts.scheme, host=parts.hostname, port=port,
                   prefix=parts.path.rstrip("/"), token=token, ca_file=ca_file)

    @property
    def headers(self) -> dict[str, str]:
        """The headers every request carries: the bearer token, when there is one."""
        return {"Authorization": f"Bearer {self.token}"} if self.token is not None else {}

    def ssl_context(self) -> ssl.SSLContext:
        import ssl

        return ssl.create_default_context(cafile=self.ca_file)

    def connection(self, timeout: float) -> http.client.HTTPConnection:
        import http.client

        if self.scheme == "http":
            return http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        return http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=self.ssl_context())

    def failure(self, err: OSError) -> Unreachable:
        """What failing to reach the remote means, in one line (never the token)."""
        import socket
        import ssl

        other = "http://" if self.scheme == "https" else "https://"
        if isinstance(err, ssl.SSLCertVerificationError):
            return Unreachable(f"cannot reach the reconciler at {self.url}: TLS verification failed "
                               f"({err.verify_message}); give its CA with --ca-file or $SENTINEL_CA_FILE")
        if isinstance(err, ssl.SSLError):
            return Unreachable(f"cannot reach the reconciler at {self.url}: TLS failed ({err.reason or err}); "
                               f"is it {other}?")
        if isinstance(err, socket.gaierror):
            return Unreachable(f"cannot reach the reconciler at {self.url}: unknown host {self.host} "
                               f"({err.strerror})")
        if isinstance(err, TimeoutError):
            return Unreachable(f"the reconciler at {self.url} did not answer in time")
        return Unreachable(f"cannot reach the reconciler at {self.url}: {err.strerror or err}")

    def check_refusal(self, status: int, method: str, path: str) -> None:
        """RemoteError when the reconciler refused the token (401) or its rights (403)."""
        if status == 401:
            given = "refused the token" if self.token is not None else "needs a token"
            raise RemoteError(f"the reconciler at {self.url} {given} (HTTP 401): give it with --token-file "
                              "or $SENTINEL_TOKEN_FILE")
        if status == 403:
            raise RemoteError(f"the reconciler at {self.url} refused {method} {path.partition('?')[0]}: "
                              "the token is read-only (HTTP 403)")

    def exchange(self, method: str, path: str, payload: bytes | None, timeout: float) -> tuple[int, bytes]:
        """Send one request to the remote (`Connection: close`) and answer (status, body); Unreachable when it cannot
        be reached or does not speak HTTP, RemoteError when it refuses the token."""
        import http.client

        headers = {"Connection": "close", **self.headers}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        other = "http://" if self.scheme == "https" else "https://"
        try:
            connection = self.connection(timeout)
            try:
                connection.request(method, self.prefix + path, payload, headers)
                response = connection.getresponse()
                status, data = response.status, response.read()
            finally:
                connection.close()
        except http.client.RemoteDisconnected:
            raise Unreachable(f"the reconciler at {self.url} closed the connection without answering; "
                              f"is it {other}?") from None
        except http.client.HTTPException:
            raise Unreachable(f"the reconciler at {self.url} sent an answer that is not HTTP; "
                              f"is it {other}?") from None
        except OSError as err:
            raise self.failure(err) from None
        self.check_refusal(status, method, path)
        return status, data


def read_token(path: str) -> str:
    """The bearer token in the file at `path`, read as the reconciler reads it (sentinel.tokens: one word, a
    regular file open to its owner only); BadRemote, one line naming the file, when it is refused."""
    from pathlib import Path

    from sentinel import tokens
    from sentinel.errors import TokenFileError

    where = Path(os.path.expanduser(path))
    try:
        return tokens.read_token(where)
    except FileNotFoundError:
        raise BadRemote(f"token file {where}: No such file or directory") from None
    except TokenFileError as err:
        raise BadRemote(str(err)) from None
