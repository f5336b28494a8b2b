"""Durations, sizes and percentages: parsing the config's spellings and printing them back.

Pure functions used by the field types in `sentinel.config.fields`. Each parser raises
ValueError with a message a user can act on; each formatter returns a spelling its parser
reads back to the same value, so `sentinel config` output round-trips.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_DURATION_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
DURATION_PATTERN = r"^\s*((\d+(\.\d+)?)(ms|h|m|s))+\s*$|^\s*\d+(\.\d+)?\s*$"

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")
_SIZE_UNITS: dict[str, int] = {
    "": 1,
    "B": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "KIB": 1024,
    "MIB": 1024**2,
    "GIB": 1024**3,
    "TIB": 1024**4,
}
SIZE_PATTERN = r"^\s*\d+(\.\d+)?\s*([KMGTkmgt][iI]?[Bb]|[Bb])?\s*$"
_SIZE_FORMATS = (("TiB", 1024**4), ("TB", 1000**4), ("GiB", 1024**3), ("GB", 1000**3),
                 ("MiB", 1024**2), ("MB", 1000**2), ("KiB", 1024), ("KB", 1000))

PERCENT_PATTERN = r"^\s*\d+(\.\d+)?\s*%\s*$"

# The ranges every value must lie in (docs/limitations.md): beyond them a value cannot run, or is a typo.
MAX_DURATION = 365 * 24 * 3600.0  # one year, in seconds
MIN_POSITIVE_DURATION = 0.001  # a duration that must be above zero is at least 1ms
MAX_SIZE = 1024**5  # 1024TiB
MAX_PERCENT = 100_000.0  # a thousand cores


def parse_duration(value: object) -> float:
    """Seconds from a number (seconds) or a string such as `500ms`, `10s`, `5m`, `1h30m`."""
    if isinstance(value, bool):
        raise ValueError("must be a duration such as 10s, 5m or 1h30m")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = _parse_duration_text(value)
    else:
        raise ValueError("must be a duration such as 10s, 5m or 1h30m")
    if not math.isfinite(seconds):
        raise ValueError("must be a finite duration such as 10s, 5m or 1h30m")
    if seconds < 0:
        raise ValueError("must be a duration of zero or more")
    if seconds > MAX_DURATION:
        raise ValueError(f"must be at most {format_duration(MAX_DURATION)} (365 days)")
    return seconds


def _parse_duration_text(text: str) -> float:
    stripped = text.strip()
    try:
        return float(stripped)
    except ValueError:
        pass
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(stripped):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(stripped) or not stripped:
        raise ValueError("must be a duration such as 500ms, 10s, 5m or 1h30m (units: ms, s, m, h)")
    return total


def format_duration(seconds: float) -> str:
    """The shortest unit spelling of `seconds`: 5400 → `1h30m`, 0.5 → `500ms`, 0 → `0s`."""
    millis = round(seconds * 1000)
    if millis / 1000 != seconds:  # not a whole number of milliseconds: print it exactly
        return format(Decimal(repr(float(seconds))), "f") + "s"  # exact, and never 1e-06 (which reads back badly)
    if millis == 0:
        return "0s"
    parts = []
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, millis = divmod(millis, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def parse_size(value: object) -> int:
    """Bytes from a number or a string such as `512MB` (10^6) or `1GiB` (2^30)."""
    if isinstance(value, bool):
        raise ValueError("must be a size such as 512MB or 1GiB")
    if isinstance(value, int):
        size = value
    elif isinstance(value, float) and value.is_integer():
        size = int(value)
    elif isinstance(value, str):
        size = _parse_size_text(value)
    else:
        raise ValueError("must be a size such as 512MB or 1GiB")
    if size < 0:
        raise ValueError("must be a size of zero or more")
    if size > MAX_SIZE:
        raise ValueError(f"must be at most {format_size(MAX_SIZE)}")
    return size


def _parse_size_text(text: str) -> int:
    match = _SIZE.match(text)
    unit = match.group(2).upper() if match else ""
    if match is None or unit not in _SIZE_UNITS:
        hint = " (use MB for 10^6 bytes or MiB for 2^20)" if unit in {"K", "M", "G", "T"} else ""
        raise ValueError(f"must be a size such as 512MB or 1GiB{hint}")
    return round(float(match.group(1)) * _SIZE_UNITS[unit])


def format_size(size: int) -> str:
    """The largest exact unit: 536870912 → `512MiB`, 10_000_000 → `10MB`, 1500 → `1500`."""
    for unit, factor in _SIZE_FORMATS:
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


def parse_percent(value: object) -> float:
    """A percentage from `90%` or a bare number (90). Above 100 means more than one core."""
    if isinstance(value, bool):
        raise ValueError("must be a percentage such as 90%")
    if isinstance(value, int | float):
        percent = float(value)
    elif isinstance(value, str) and re.match(PERCENT_PATTERN, value):
        percent = float(value.strip().rstrip("%").strip())
    else:
        raise ValueError("must be a percentage such as 90%")
    if not math.isfinite(percent) or percent <= 0:
        raise ValueError("must be a percentage above 0%")
    if percent > MAX_PERCENT:
        raise ValueError(f"must be at most {format_percent(MAX_PERCENT)}")
    return percent


def format_percent(percent: float) -> str:
    """`90%`, or `12.5%` when the value has a fraction."""
    return f"{int(percent)}%" if float(percent).is_integer() else f"{percent!r}%"
