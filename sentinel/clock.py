"""The Clock port: monotonic time for durations, UTC wall time for display and persistence; the
machine's time zone.

Passed in to whatever needs time (docs/conventions.md#injected-clock); tests pass a fake. No globals.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import zoneinfo
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def now_utc(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now_utc(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def system_zone(environ: Mapping[str, str], localtime: Path = Path("/etc/localtime")) -> tzinfo:
    """The machine's time zone with its daylight-saving rules, for schedules that name none.

    `TZ` if it names a zone (`Europe/Paris`, `:Europe/Paris`), else the zone `/etc/localtime` links to
    (Linux and macOS both link into a `zoneinfo` directory), else that file's rules, else UTC. Never
    the fixed offset of the moment (`datetime.now().astimezone()`), which would keep winter time all
    summer for a reconciler started in winter.
    """
    name = environ.get("TZ", "").removeprefix(":")
    if name:
        zone = _zone(name)
        if zone is not None:
            return zone
    with contextlib.suppress(OSError):
        target = os.path.realpath(localtime)
        _, found, key = target.rpartition(f"zoneinfo{os.sep}")
        zone = _zone(key) if found else None
        if zone is not None:
            return zone
        with open(localtime, "rb") as file:
            return zoneinfo.ZoneInfo.from_file(file, key="localtime")
    return UTC


def _zone(name: str) -> tzinfo | None:
    try:
        return zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError, OSError):
        return None
