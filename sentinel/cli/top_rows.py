"""What `sentinel top` shows, decided without a terminal: which status rows match the filter, in which order, and
the cells of each (the `status` table's, with the group after the name)."""

from __future__ import annotations

from typing import Any

from sentinel.cli.table import COLUMNS, row_cells

# The columns of `top`: those of `status`, with GROUP after NAME (top filters by group as well as by name).
TOP_COLUMNS = (COLUMNS[0], "GROUP", *COLUMNS[1:])
# The row field each column sorts by: its raw value (a number for PID, UPTIME, CPU, MEM), never its text.
SORT_FIELDS = {
    "NAME": "name", "GROUP": "group", "STATE": "state", "HEALTH": "health", "PID": "pid", "UPTIME": "uptime_s",
    "RESTARTS": "restarts", "CPU": "cpu_percent", "MEM": "memory_rss", "NEXT RUN": "next_run", "REASON": "reason",
}


def top_cells(row: dict[str, Any]) -> tuple[str, ...]:
    """One row's cells, one per column of TOP_COLUMNS."""
    cells = row_cells(row)
    return (cells[0], str(row.get("group") or "-"), *cells[1:])


def matching(rows: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """The rows whose name or group contains `text` (case-insensitively); all of them for an empty text."""
    wanted = text.strip().lower()
    if not wanted:
        return list(rows)
    return [row for row in rows if wanted in str(row["name"]).lower() or wanted in str(row.get("group") or "").lower()]


def ordered(rows: list[dict[str, Any]], column: str, *, descending: bool = False) -> list[dict[str, Any]]:
    """The rows sorted by `column` (one of TOP_COLUMNS), ties by name; the rows without a value for it (no pid,
    no next run) come last whichever the direction."""
    field = SORT_FIELDS[column]
    by_name = sorted(rows, key=lambda row: str(row["name"]))
    present = [row for row in by_name if row.get(field) is not None]
    missing = [row for row in by_name if row.get(field) is None]
    present.sort(key=lambda row: row[field], reverse=descending)  # stable: equal values stay in name order
    return present + missing


def next_column(column: str) -> str:
    """The column after `column` in TOP_COLUMNS, the first after the last: the `o` key's cycle."""
    return TOP_COLUMNS[(TOP_COLUMNS.index(column) + 1) % len(TOP_COLUMNS)]
