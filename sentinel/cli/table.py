"""The `status` table: fixed columns, sizes and durations in short human units."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sentinel.cli import colour as colours

COLUMNS = ("NAME", "STATE", "HEALTH", "PID", "UPTIME", "RESTARTS", "CPU", "MEM", "NEXT RUN", "REASON")


STATE, HEALTH = COLUMNS.index("STATE"), COLUMNS.index("HEALTH")


def status_table(rows: list[dict[str, Any]], *, colour: bool = False) -> str:
    """The table; with `colour`, the state and health of each row in theirs (`sentinel.cli.colour`)."""
    cells = [COLUMNS] + [row_cells(row) for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS) - 1)]
    out = []
    for number, row in enumerate(cells):
        padded = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        if colour and number > 0:
            padded[STATE] = _painted(padded[STATE], colours.STATES)
            padded[HEALTH] = _painted(padded[HEALTH], colours.HEALTH)
        out.append(f"{'  '.join(padded)}  {row[-1]}".rstrip())
    return "\n".join(out) + "\n"


def _painted(padded: str, by_value: Mapping[str, str]) -> str:
    """A padded cell with its value coloured (the padding is not: the columns stay aligned)."""
    value = padded.rstrip()
    return colours.paint(value, by_value.get(value)) + padded[len(value):]


def row_cells(row: dict[str, Any]) -> tuple[str, ...]:
    """A status row's cells, one per column of COLUMNS (`status`, `top`)."""
    cpu = row.get("cpu_percent")
    state = str(row["state"])
    reason = row.get("reason") or ""
    return (
        str(row["name"]),
        state,
        str(row.get("health") or "none"),
        str(row["pid"]) if row.get("pid") else "-",
        duration(row.get("uptime_s")),
        str(row.get("restarts", 0)),
        f"{cpu:.1f}%" if cpu is not None else "-",
        size(row.get("memory_rss")),
        str(row.get("next_run") or "-"),
        reason if state not in ("running",) else "",
    )


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def size(value: int | None) -> str:
    if value is None:
        return "-"
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{amount:.0f}{unit}" if unit == "B" else f"{amount:.1f}{unit}"
        amount /= 1024
    return f"{amount:.1f}GiB"
