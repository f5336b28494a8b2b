"""The tables of state.db as Peewee models, and how values are encoded in their columns.

Used only by `sentinel.state.store`. The models here are unbound (no module-level database):
`bind_tables(db)` returns subclasses bound to one database, so two Stores on two files live
side by side in one process without rebinding anything global. The schema itself is created
by the migrations (`sentinel.state.migrations`); these models must match the latest one
(tests/integration/state check that).

Encodings: times are UTC text `YYYY-MM-DDTHH:MM:SS.ffffffZ` (fixed width, so text order is
time order, and readable with the sqlite3 shell); mappings and lists are compact JSON text
with sorted keys; booleans are 0/1.
"""

from __future__ import annotations

import json
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar, cast

import peewee as pw

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class _Table(pw.Model):
    class Meta:
        database = None  # bound per Store by bind_tables()
        legacy_table_names = False


class ProcessRow(_Table):
    """What the reconciler remembers about one process instance (one row per name)."""

    name = pw.TextField(primary_key=True)
    state = pw.TextField()
    spec_hash = pw.TextField()
    digests = pw.TextField()  # JSON object str → str
    failures = pw.IntegerField()
    restarts = pw.IntegerField()
    exit_code = pw.IntegerField(null=True)
    exit_signal = pw.IntegerField(null=True)
    pid = pw.IntegerField(null=True)
    create_time = pw.FloatField(null=True)
    pgid = pw.IntegerField(null=True)
    started_at = pw.TextField(null=True)  # UTC time text
    retry_at = pw.TextField(null=True)  # UTC time text
    held = pw.BooleanField()
    restart_requested = pw.BooleanField()
    reason = pw.TextField()
    updated_at = pw.TextField()  # UTC time text

    class Meta:
        table_name = "process_record"


class EventRow(_Table):
    """One thing the reconciler did or noticed, and why."""

    id = pw.AutoField()
    at = pw.TextField()  # UTC time text
    process = pw.TextField(null=True)  # None: about the reconciler or the config
    kind = pw.TextField()
    message = pw.TextField()

    class Meta:
        table_name = "event"


class RevisionRow(_Table):
    """One resolved config the reconciler accepted as its desired state."""

    id = pw.AutoField()
    at = pw.TextField()  # UTC time text
    path = pw.TextField()
    environment = pw.TextField(null=True)
    digest = pw.TextField()
    config = pw.TextField()  # JSON of the resolved config, as given
    files = pw.TextField()  # JSON list of the files it was read from

    class Meta:
        table_name = "config_revision"


MODELS: tuple[type[_Table], ...] = (ProcessRow, EventRow, RevisionRow)

_M = TypeVar("_M", bound=_Table)


@dataclass(frozen=True, slots=True)
class Tables:
    """The models bound to one database."""

    process: type[ProcessRow]
    event: type[EventRow]
    revision: type[RevisionRow]


def bind_tables(db: pw.Database) -> Tables:
    """Subclasses of the models bound to `db` (same tables, same fields, their own database)."""
    return Tables(_bound(ProcessRow, db), _bound(EventRow, db), _bound(RevisionRow, db))


def _bound(model: type[_M], db: pw.Database) -> type[_M]:
    meta = type("Meta", (), {"database": db, "table_name": model._meta.table_name})

    def body(namespace: dict[str, object]) -> None:
        namespace.update(Meta=meta, __module__=__name__, __qualname__=model.__qualname__)

    return cast("type[_M]", types.new_class(model.__name__, (model,), {}, body))


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
