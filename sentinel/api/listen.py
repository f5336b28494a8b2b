"""Before anything starts (`sentinel up`), the TCP listener's socket is bound and its TLS files are checked, without
loading the web modules (docs/contract.md#performance-budgets: the first pass runs before they are imported)."""

from __future__ import annotations

import socket

from sentinel.errors import ApiTlsError


def bind(address: str, backlog: int) -> socket.socket:
    """A listening, non-blocking TCP socket on `host:port` (as `api.listen` holds it); OSError if it cannot be."""
    host, _, port = address.rpartition(":")
    family, kind, protocol, _, where = socket.getaddrinfo(host.strip("[]"), int(port), type=socket.SOCK_STREAM,
                                                          flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, protocol)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port in TIME_WAIT from our last run
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(where)
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def check_tls(cert: str, key: str) -> None:
    """ApiTlsError, one line, when the certificate and key would not serve TLS: unreadable, not PEM, not a pair."""
    import ssl

    for what, path in (("certificate", cert), ("key", key)):
        try:
            with open(path, "rb"):
                pass
        except OSError as err:
            raise ApiTlsError(f"api.tls: cannot read the {what} {path}: {err.strerror}") from None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key, password=lambda: b"")  # an encrypted key fails, never prompts
    except ssl.SSLError as err:
        if err.reason == "KEY_VALUES_MISMATCH":
            raise ApiTlsError(f"api.tls: the key {key} does not belong to the certificate {cert}") from None
        raise ApiTlsError(f"api.tls: {cert} and {key} are not a PEM certificate and key") from None
