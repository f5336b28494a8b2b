"""The tables of state.db as Peewee models: the one definition of the latest schema.

Used by `sentinel.state.store` (queries), `sentinel.state.migrations` (a new file's tables
are created from these models; older files are brought to the same schema step by step) and
`sentinel.state.db` (`execute`, for the few raw statements: PRAGMAs, frozen DDL).
The models are unbound: `bind_tables(db)` gives subclasses bound to one database, so two
Stores on two files live side by side in one process without rebinding anything global.

Encodings, done by the fields below on the way in and out: times are UTC text
`YYYY-MM-DDTHH:MM:SS.ffffffZ` (fixed width, so text order is time order, and readable with the
sqlite3 shell; a naive datetime is refused with ValueError); mappings and lists are compact
JSON text with sorted keys; booleans are 0/1; a process state is its value text. A stored value
that does not decode raises ValueError (a damaged row, reported by the Store).
SQL defaults (`DEFAULT ''`) are part of the schema, so that a row inserted by hand with only
the required columns reads back.
"""

from __future__ import annotations

import json
import re
import sqlite3
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import peewee as pw

from sentinel.states import ProcessState

_STORED_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")


def encode_time(value: datetime) -> str:
    """A timezone-aware datetime as fixed-width UTC text. Naive datetimes are refused (ValueError)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is required, got naive {value.isoformat()}")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def decode_time(text: str) -> datetime:
    """The datetime `encode_time` wrote as `text`; ValueError for any other text (a damaged row). Not strptime,
    which is ten times slower and whose module the reconciler would hold only for this."""
    if not _STORED_TIME.fullmatch(text):
        raise ValueError(f"not a stored time (YYYY-MM-DDTHH:MM:SS.ffffffZ): {text[:40]!r}")
    return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)


def as_stored(value: datetime) -> datetime:
    """`value` as it reads back from the database: UTC, to the microsecond."""
    return decode_time(encode_time(value))


class AutoIncrementField(pw.AutoField):
    """An integer primary key declared `AUTOINCREMENT`: SQLite never hands out an id again, even after the row
    with the highest one is deleted. playhouse.sqlite_ext's field of that name, which is these lines; importing
    that module for it held 0.23 MB of the reconciler's memory (FTS, JSON and virtual-table classes we never use).
    """

    def ddl(self, ctx: pw.Context) -> pw.NodeList:
        return pw.NodeList((super().ddl(ctx), pw.SQL("AUTOINCREMENT")))


class TimeField(pw.TextField):
    """A timezone-aware datetime, stored as fixed-width UTC text."""

    def db_value(self, value: datetime | None) -> str | None:
        return None if value is None else encode_time(value)

    def python_value(self, value: str | None) -> datetime | None:
        return None if value is None else decode_time(value)


class MappingField(pw.TextField):
    """A mapping of strings, stored as a compact JSON object with sorted keys."""

    def db_value(self, value: Mapping[str, str]) -> str:
        return json.dumps(dict(value), sort_keys=True, separators=(",", ":"))

    def python_value(self, value: str) -> dict[str, str]:
        decoded = json.loads(value)
        if not isinstance(decoded, dict) or not all(
            isinstance(key, str) and isinstance(item, str) for key, item in decoded.items()
        ):
            raise ValueError(f"expected a JSON object of strings, got {value[:60]!r}")
        return decoded


class StringsField(pw.TextField):
    """A sequence of strings, stored as a compact JSON list."""

    def db_value(self, value: Sequence[str]) -> str:
        return json.dumps(list(value), separators=(",", ":"))

    def python_value(self, value: str) -> tuple[str, ...]:
        decoded = json.loads(value)
        if not isinstance(decoded, list) or not all(isinstance(item, str) for item in decoded):
            raise ValueError(f"expected a JSON list of strings, got {value[:60]!r}")
        return tuple(decoded)


class StateField(pw.TextField):
    """A ProcessState, stored as its value ("running")."""

    def db_value(self, value: ProcessState | str) -> str:
        return ProcessState(value).value

    def python_value(self, value: str) -> ProcessState:
        return ProcessState(value)


def _default(sql: str) -> list[pw.Node]:
    return [pw.SQL(f"DEFAULT {sql}")]


def execute(db: pw.Database, sql: str) -> sqlite3.Cursor:
    """Run one raw statement (a PRAGMA, a migration's frozen DDL): Peewee's `execute_sql`, typed."""
    cursor: sqlite3.Cursor = db.execute_sql(sql)  # type: ignore[no-untyped-call]
    return cursor


class _Table(pw.Model):
    class Meta:
        database = None  # bound per Store by bind_tables()
        legacy_table_names = False


class ProcessRow(_Table):
    """What the reconciler remembers about one process instance (one row per name)."""

    name = pw.TextField(primary_key=True)
    state = StateField()
    spec_hash = pw.TextField(constraints=_default("''"))
    digests = MappingField(constraints=_default("'{}'"))
    failures = pw.IntegerField(constraints=_default("0"))
    restarts = pw.IntegerField(constraints=_default("0"))
    exit_code = pw.IntegerField(null=True)
    exit_signal = pw.IntegerField(null=True)
    pid = pw.IntegerField(null=True)
    create_time = pw.FloatField(null=True)
    pgid = pw.IntegerField(null=True)
    started_at = TimeField(null=True)
    retry_at = TimeField(null=True)
    held = pw.BooleanField(constraints=_default("0"))
    restart_requested = pw.BooleanField(constraints=_default("0"))
    reason = pw.TextField(constraints=_default("''"))
    updated_at = TimeField()

    class Meta:
        table_name = "process_record"


class EventRow(_Table):
    """One thing the reconciler did or noticed, and why. Ids only grow (AUTOINCREMENT)."""

    id = AutoIncrementField()
    at = TimeField()
    process = pw.TextField(null=True)  # None: about the reconciler or the config
    kind = pw.TextField()
    message = pw.TextField()
    revision = pw.TextField(null=True)  # the git source's commit in force (short hash); None: no source

    class Meta:
        table_name = "event"
        indexes = ((("process", "id"), False),)


class RevisionRow(_Table):
    """One resolved config the reconciler accepted as its desired state. Ids only grow."""

    id = AutoIncrementField()
    at = TimeField()
    path = pw.TextField()
    environment = pw.TextField(null=True)
    digest = pw.TextField()
    config = pw.TextField()  # JSON of the resolved config, as given
    files = StringsField(constraints=_default("'[]'"))
    revision = pw.TextField(null=True)  # the git source's commit (full hash); None: a file on this host
    subject = pw.TextField(null=True)  # the first line of its message
    changes = StringsField(constraints=_default("'[]'"))  # what applying it changed, as `diff` lines

    class Meta:
        table_name = "config_revision"


class SourceRow(_Table):
    """The git source's state that outlives the reconciler (one row, id 1): the commit applied last, and since
    when pulling is suspended (None: it is not)."""

    id = pw.IntegerField(primary_key=True)
    applied = pw.TextField(null=True)
    subject = pw.TextField(null=True)
    suspended_at = TimeField(null=True)

    class Meta:
        table_name = "source_state"


class RunRow(_Table):
    """One run of a scheduled job, or one trigger that was skipped; `number` counts the runs of its job."""

    id = AutoIncrementField()
    job = pw.TextField()
    scheduled_for = TimeField(null=True)  # the trigger slot; None: not from a slot (a manual run)
    started_at = TimeField(null=True)
    ended_at = TimeField(null=True)  # None while running
    exit_code = pw.IntegerField(null=True)
    exit_signal = pw.IntegerField(null=True)
    outcome = pw.TextField()  # one of values.RUN_OUTCOMES
    trigger = pw.TextField()  # one of values.RUN_TRIGGERS
    instance = pw.TextField(null=True)  # the instance it ran as; None: the job's own name
    number = pw.IntegerField()  # 1, 2, 3 … per job

    class Meta:
        table_name = "runs"
        indexes = ((("job", "number"), True),)


MODELS: tuple[type[_Table], ...] = (ProcessRow, EventRow, RevisionRow, RunRow, SourceRow)

_M = TypeVar("_M", bound=_Table)


@dataclass(frozen=True, slots=True)
class Tables:
    """The models bound to one database."""

    process: type[ProcessRow]
    event: type[EventRow]
    revision: type[RevisionRow]
    run: type[RunRow]
    source: type[SourceRow]

    @property
    def all(self) -> tuple[type[_Table], ...]:
        return (self.process, self.event, self.revision, self.run, self.source)


def bind_tables(db: pw.Database) -> Tables:
    """Subclasses of the models bound to `db` (same tables, same fields, their own database)."""
    return Tables(_bound(ProcessRow, db), _bound(EventRow, db), _bound(RevisionRow, db), _bound(RunRow, db),
                  _bound(SourceRow, db))


def _bound(model: type[_M], db: pw.Database) -> type[_M]:
    meta = type("Meta", (), {"database": db, "table_name": model._meta.table_name})

    def body(namespace: dict[str, Any]) -> None:
        namespace.update(Meta=meta, __module__=__name__, __qualname__=model.__qualname__)

    return cast("type[_M]", types.new_class(model.__name__, (model,), {}, body))
