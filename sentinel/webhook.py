"""One webhook request: POST a body to a URL with http.client, and what the server answered (README.md#notifications).

The reconciler's notification senders (`sentinel.controller.notify`, each on its own thread) and
`sentinel notify test` both send through `post`; the secret that signs a body is read by
`read_secret`, which `validate` uses too. The URL may hold a token: nothing here puts it in a
message (an error names what failed, never where).
"""

from __future__ import annotations

import http.client
import os
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from sentinel.errors import SentinelError

ANSWER_TEXT_MAX = 200  # characters of the server's answer kept, to show
SECRET_MAX_BYTES = 4096


@dataclass(frozen=True, slots=True)
class Answer:
    """What a request came to: the HTTP status (None when no answer came) and a short text (the start of the
    answer's body, or what went wrong)."""

    status: int | None
    text: str

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def __str__(self) -> str:
        if self.status is None:
            return self.text
        return f"HTTP {self.status}{': ' + self.text if self.text else ''}"


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> Answer:
    """POST `body` to `url` within `timeout` seconds per socket operation; never raises for a network failure."""
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=timeout,
                                                 context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        connection.request("POST", target, body=body, headers={"Content-Type": "application/json", **headers})
        response = connection.getresponse()
        text = response.read(ANSWER_TEXT_MAX * 4).decode("utf-8", "replace")
        return Answer(response.status, " ".join(text.split())[:ANSWER_TEXT_MAX])
    except TimeoutError:
        return Answer(None, f"no answer within {timeout:g}s")
    except ssl.SSLError as error:
        return Answer(None, f"TLS failed: {error.reason or type(error).__name__}")
    except (OSError, http.client.HTTPException) as error:
        return Answer(None, _network_error(error))
    finally:
        connection.close()


def _network_error(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return f"{type(error).__name__}{': ' + str(error) if str(error) else ''}"


def secret_path(secret_file: str, config_path: str) -> str:
    """Where a `secret_file` is: relative to the config file that names it."""
    return os.path.join(os.path.dirname(os.path.abspath(config_path)), os.path.expanduser(secret_file))


def read_secret(secret_file: str, config_path: str) -> bytes:
    """The signing key in `secret_file`: its content, one final newline removed; SentinelError if it cannot be
    read or is empty."""
    path = secret_path(secret_file, config_path)
    try:
        with open(path, "rb") as handle:
            secret = handle.read(SECRET_MAX_BYTES + 1)
    except OSError as error:
        raise SentinelError(f"secret_file {secret_file!r}: {(error.strerror or str(error)).lower()}") from None
    if len(secret) > SECRET_MAX_BYTES:
        raise SentinelError(f"secret_file {secret_file!r}: longer than {SECRET_MAX_BYTES} bytes")
    secret = secret.removesuffix(b"\n").removesuffix(b"\r")
    if not secret:
        raise SentinelError(f"secret_file {secret_file!r}: is empty")
    return secret
