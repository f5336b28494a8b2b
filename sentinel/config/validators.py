"""Checks of single values that need more than a type: cron expressions, time zones, URLs, addresses.

Each takes the user's string and returns it unchanged or raises ValueError with a message
that says what is wrong. Called from the field validators in `sentinel.config.models`.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

CRON_MACROS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})


def check_cron(expression: str) -> str:
    """5 fields (minute hour day month weekday), 6 with seconds first, or a macro like @daily."""
    text = " ".join(expression.split())
    if text.lower() in CRON_MACROS:
        return text
    if text.startswith("@"):
        raise ValueError(f"unknown cron macro; use one of {', '.join(sorted(CRON_MACROS))}, or 5 fields")
    fields = text.split(" ")
    if len(fields) not in (5, 6):
        raise ValueError(f"has {len(fields)} fields; a cron expression has 5, or 6 with seconds first")
    from croniter import croniter

    if not croniter.is_valid(text, second_at_beginning=len(fields) == 6):
        raise ValueError("is not a valid cron expression")
    return text


def check_timezone(name: str) -> str:
    """An IANA time zone name such as Europe/Paris or UTC."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError("is not a known time zone (use an IANA name such as Europe/Paris or UTC)") from None
    return name


AT_EARLIEST = dt.datetime(1970, 1, 1)
AT_LATEST = dt.datetime(9998, 12, 31, 23, 59, 59)


def check_at(moment: dt.datetime) -> dt.datetime:
    """A time from 1970-01-01 to 9998-12-31, as written (any offset or time zone then stays representable)."""
    if not AT_EARLIEST <= moment.replace(tzinfo=None) <= AT_LATEST:
        raise ValueError(f"must be from {AT_EARLIEST:%Y-%m-%d} to {AT_LATEST:%Y-%m-%d}")
    return moment


def check_http_url(url: str) -> str:
    """An http:// or https:// URL with a host, and a valid port if it names one."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    if not parts.hostname:
        raise ValueError("must name a host")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        raise ValueError("has a port out of range (1-65535)")
    return url


def check_host_port(address: str) -> str:
    """`host:port` (or `[v6addr]:port`) with a port from 1 to 65535."""
    host, sep, port = address.rpartition(":")
    if not sep or not host:
        raise ValueError("must be host:port, such as 127.0.0.1:5432")
    bracketed = host.startswith("[") and host.endswith("]")
    if host.startswith("[") != host.endswith("]") or (":" in host and not bracketed):
        raise ValueError("must be host:port; write IPv6 addresses as [::1]:port")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError("has a port out of range (1-65535)")
    return address


def is_loopback(address: str) -> bool:
    """Whether `host:port` (checked by `check_host_port`) listens on this machine only: `localhost` or a
    loopback address (127.0.0.0/8, ::1); a name other than localhost could be anything."""
    import ipaddress

    host = address.rpartition(":")[0].strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
