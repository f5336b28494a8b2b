"""The tables of state.db (name, columns, row type) and how values are encoded in their columns.

Used only by `sentinel.state.store`. The schema itself is created by the migrations
(`sentinel.state.migrations`); the descriptions here must match the latest one
(tests/integration/state check that). A `Table` builds the SELECT and INSERT statements of its
table and turns a fetched tuple into its row type, each value converted by its column (text,
integer, real or boolean; NULL stays None, and a value that does not convert is kept as it is,
for the decoder to refuse).

Encodings: times are UTC text `YYYY-MM-DDTHH:MM:SS.ffffffZ` (fixed width, so text order is
time order, and readable with the sqlite3 shell); mappings and lists are compact JSON text
with sorted keys; booleans are 0/1.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, NamedTuple, TypeVar

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def _text(value: object) -> object:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return value if isinstance(value, str) else str(value)


def _integer(value: Any) -> object:
    try:
        return int(value)
    except (ValueError, TypeError):
        return value


def _real(value: Any) -> object:
    try:
        return float(value)
    except (ValueError, TypeError):
        return value


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its name, how a value is converted going in and coming out, NOT NULL, key."""

    name: str
    convert: Callable[[Any], object]
    null: bool = False
    primary_key: bool = False
    auto: bool = False  # INTEGER PRIMARY KEY AUTOINCREMENT: SQLite assigns it

    def value(self, value: object) -> object:
        return None if value is None else self.convert(value)


_R = TypeVar("_R", bound=NamedTuple)


@dataclass(frozen=True, slots=True)
class Table(Generic[_R]):
    """A table: its name, its columns in schema order, and the row type holding one row of them."""

    name: str
    row: type[_R]
    columns: tuple[Column, ...]

    def __post_init__(self) -> None:
        if tuple(column.name for column in self.columns) != self.row._fields:
            raise AssertionError(f"{self.name}: the columns and the fields of {self.row.__name__} differ")

    @property
    def select(self) -> str:
        """`SELECT <every column> FROM <table>`, for the caller to complete."""
        return f"SELECT {', '.join(column.name for column in self.columns)} FROM {self.name}"

    def decode(self, values: Sequence[object]) -> _R:
        """A fetched tuple (every column, in order) as a row, each value converted by its column."""
        return self.row._make(column.value(value) for column, value in zip(self.columns, values, strict=True))

    def insert(self, rows: Sequence[Mapping[str, object]], *, replace: bool = False) -> tuple[str, list[object]]:
        """`INSERT [OR REPLACE] … VALUES (…), (…)` of `rows` (which all name the same columns), and its parameters."""
        names = list(rows[0])
        columns = [column for name in names for column in self.columns if column.name == name]
        if len(columns) != len(names):
            raise ValueError(f"{self.name} has no column among {names}")
        marks = f"({', '.join('?' * len(names))})"
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        sql = f"{verb} INTO {self.name} ({', '.join(names)}) VALUES {', '.join([marks] * len(rows))}"
        return sql, [column.value(row[column.name]) for row in rows for column in columns]


class ProcessRow(NamedTuple):
    """What the reconciler remembers about one process instance (one row per name)."""

    name: str
    state: str
    spec_hash: str
    digests: str  # JSON object str → str
    failures: int
    restarts: int
    exit_code: int | None
    exit_signal: int | None
    pid: int | None
    create_time: float | None
    pgid: int | None
    started_at: str | None  # UTC time text
    retry_at: str | None  # UTC time text
    held: bool
    restart_requested: bool
    reason: str
    updated_at: str  # UTC time text


class EventRow(NamedTuple):
    """One thing the reconciler did or noticed, and why."""

    id: int
    at: str  # UTC time text
    process: str | None  # None: about the reconciler or the config
    kind: str
    message: str


class RevisionRow(NamedTuple):
    """One resolved config the reconciler accepted as its desired state."""

    id: int
    at: str  # UTC time text
    path: str
    environment: str | None
    digest: str
    config: str  # JSON of the resolved config, as given
    files: str  # JSON list of the files it was read from


class RunRow(NamedTuple):
    """One run of a scheduled job, or one trigger that was skipped."""

    id: int
    job: str
    scheduled_for: str | None  # UTC time text of the trigger slot; None: not from a slot (a manual run)
    started_at: str | None  # UTC time text
    ended_at: str | None  # UTC time text; None while running
    exit_code: int | None
    exit_signal: int | None
    outcome: str  # one of values.RUN_OUTCOMES
    trigger: str  # one of values.RUN_TRIGGERS
    instance: str | None  # the instance it ran as; None: the job's own name


_ID = Column("id", _integer, primary_key=True, auto=True)
PROCESS = Table(
    "process_record",
    ProcessRow,
    (
        Column("name", _text, primary_key=True),
        Column("state", _text),
        Column("spec_hash", _text),
        Column("digests", _text),
        Column("failures", _integer),
        Column("restarts", _integer),
        Column("exit_code", _integer, null=True),
        Column("exit_signal", _integer, null=True),
        Column("pid", _integer, null=True),
        Column("create_time", _real, null=True),
        Column("pgid", _integer, null=True),
        Column("started_at", _text, null=True),
        Column("retry_at", _text, null=True),
        Column("held", bool),
        Column("restart_requested", bool),
        Column("reason", _text),
        Column("updated_at", _text),
    ),
)
EVENT = Table(
    "event",
    EventRow,
    (_ID, Column("at", _text), Column("process", _text, null=True), Column("kind", _text), Column("message", _text)),
)
REVISION = Table(
    "config_revision",
    RevisionRow,
    (
        _ID,
        Column("at", _text),
        Column("path", _text),
        Column("environment", _text, null=True),
        Column("digest", _text),
        Column("config", _text),
        Column("files", _text),
    ),
)
RUNS = Table(
    "runs",
    RunRow,
    (
        _ID,
        Column("job", _text),
        Column("scheduled_for", _text, null=True),
        Column("started_at", _text, null=True),
        Column("ended_at", _text, null=True),
        Column("exit_code", _integer, null=True),
        Column("exit_signal", _integer, null=True),
        Column("outcome", _text),
        Column("trigger", _text),
        Column("instance", _text, null=True),
    ),
)
TABLES: tuple[Table[Any], ...] = (PROCESS, EVENT, REVISION, RUNS)


def encode_time(value: datetime) -> str:
    """A timezone-aware datetime as fixed-width UTC text. Naive datetimes are refused (ValueError)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is required, got naive {value.isoformat()}")
    return value.astimezone(UTC).strftime(_TIME_FORMAT)


def encode_optional_time(value: datetime | None) -> str | None:
    return None if value is None else encode_time(value)


def decode_time(text: str) -> datetime:
    return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=UTC)


def decode_optional_time(text: str | None) -> datetime | None:
    return None if text is None else decode_time(text)


def encode_json(value: Mapping[str, str] | Sequence[str]) -> str:
    plain: object = dict(value) if isinstance(value, Mapping) else list(value)
    return json.dumps(plain, sort_keys=True, separators=(",", ":"))


def decode_mapping(text: str) -> dict[str, str]:
    """A JSON object of strings; anything else is a ValueError (a damaged row)."""
    value = json.loads(text)
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError(f"expected a JSON object of strings, got {text[:60]!r}")
    return value


def decode_strings(text: str) -> tuple[str, ...]:
    """A JSON list of strings; anything else is a ValueError (a damaged row)."""
    value = json.loads(text)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"expected a JSON list of strings, got {text[:60]!r}")
    return tuple(value)
