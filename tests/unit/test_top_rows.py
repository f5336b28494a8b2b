"""What `sentinel top` shows, decided without a terminal (sentinel/cli/top_rows.py): filter, order, cells."""

from __future__ import annotations

from typing import Any

from sentinel.cli.top_rows import TOP_COLUMNS, matching, next_column, ordered, top_cells

ROWS: list[dict[str, Any]] = [
    {"name": "web.1", "group": "front", "state": "running", "pid": 300, "cpu_percent": 2.5, "memory_rss": 2048},
    {"name": "web.0", "group": "front", "state": "running", "pid": 100, "cpu_percent": 2.5, "memory_rss": 4096},
    {"name": "worker", "group": "back", "state": "stopped", "pid": None, "cpu_percent": None, "memory_rss": None},
    {"name": "nightly", "group": None, "state": "scheduled", "pid": None, "next_run": "2030-01-01T00:00:00Z"},
]


def names(rows: list[dict[str, Any]]) -> list[str]:
    return [row["name"] for row in rows]


def test_the_filter_matches_a_part_of_the_name_or_of_the_group_in_any_case() -> None:
    assert names(matching(ROWS, "WEB")) == ["web.1", "web.0"]
    assert names(matching(ROWS, "ack")) == ["worker"]
    assert names(matching(ROWS, "  ")) == names(ROWS)
    assert matching(ROWS, "nothing") == []


def test_rows_sort_by_the_column_s_value_ties_by_name_and_those_without_one_last() -> None:
    assert names(ordered(ROWS, "NAME")) == ["nightly", "web.0", "web.1", "worker"]
    assert names(ordered(ROWS, "NAME", descending=True)) == ["worker", "web.1", "web.0", "nightly"]
    assert names(ordered(ROWS, "PID", descending=True)) == ["web.1", "web.0", "nightly", "worker"]
    assert names(ordered(ROWS, "CPU", descending=True)) == ["web.0", "web.1", "nightly", "worker"]  # a tie: by name
    assert names(ordered(ROWS, "MEM")) == ["web.1", "web.0", "nightly", "worker"]
    assert names(ordered(ROWS, "GROUP")) == ["worker", "web.0", "web.1", "nightly"]


def test_every_column_sorts_and_the_sort_key_cycles_through_them_all() -> None:
    column, seen = TOP_COLUMNS[0], []
    for _ in TOP_COLUMNS:
        seen.append(column)
        assert len(ordered(ROWS, column)) == len(ROWS)
        column = next_column(column)
    assert column == TOP_COLUMNS[0] and seen == list(TOP_COLUMNS)


def test_a_row_has_the_status_table_s_cells_with_its_group_after_its_name() -> None:
    cells = top_cells(ROWS[0])
    assert len(cells) == len(TOP_COLUMNS)
    assert dict(zip(TOP_COLUMNS, cells, strict=True)) | {"UPTIME": "-"} == {
        "NAME": "web.1", "GROUP": "front", "STATE": "running", "HEALTH": "none", "PID": "300", "UPTIME": "-",
        "RESTARTS": "0", "CPU": "2.5%", "MEM": "2.0KiB", "NEXT RUN": "-", "REASON": ""}
    assert top_cells(ROWS[3])[1] == "-"
