"""Paging for every list route of the API (docs/api.md#paging): `?limit=N` (1 to MAX_LIMIT) and one
cursor, `?after=KEY` (the page after that key) or `?before=KEY` (the page before it), and the answer's
`next`, the URL of the following page in the same direction (None when nothing lies past this one).

A list is sorted by its key (a process or group name; an event id or a run number). Without a cursor a
page starts at the list's head (processes, groups) or ends at its tail (events and runs: the newest,
newest last, as `sentinel events` shows them). `Page.window` cuts a page out of a list held in memory;
lists in state.db are cut by the store (it is given `cursor`s and `probe` rows: one past the page, to
tell whether more lie there), then `Page.trim` drops that extra row. A bad value is a 422 naming the
parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlencode

from starlette.requests import Request

from sentinel.api.answers import ApiError

MAX_LIMIT = 10_000  # also the default of processes and groups: all of them, in practice
RECENT = 20  # the default of events and runs: the newest 20, as `sentinel events` shows
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page:
    """One page asked for: how many, after or before which key, and where it starts without a cursor."""

    limit: int
    after: str | None = None
    before: str | None = None
    from_tail: bool = False  # without a cursor: the last `limit` items (events, runs), else the first

    @property
    def forward(self) -> bool:
        """Whether the page reads towards the list's tail (`after`, or from the head)."""
        return self.after is not None or (self.before is None and not self.from_tail)

    @property
    def probe(self) -> int:
        """How many rows to read: the page and one more, which tells whether more lie past it."""
        return self.limit + 1

    def int_cursor(self) -> tuple[int | None, int | None]:
        """(after, before) as whole numbers, for a list keyed by an id; 422 naming the one that is not."""
        return _whole(self.after, "after"), _whole(self.before, "before")

    def trim(self, items: Sequence[T]) -> tuple[list[T], bool]:
        """`items` (at most `probe` of them, in list order, nearest the cursor first when forward, else last)
        cut to the page, and whether more lie past it."""
        more = len(items) > self.limit
        if not more:
            return list(items), False
        return (list(items[:self.limit]), True) if self.forward else (list(items[-self.limit:]), True)

    def window(self, items: Sequence[T], key: Callable[[T], str]) -> tuple[list[T], bool]:
        """The page of `items` (sorted by `key`), and whether more lie past it."""
        if self.after is not None:
            after = self.after
            items = [item for item in items if key(item) > after]
        if self.before is not None:
            before = self.before
            items = [item for item in items if key(item) < before]
        return self.trim(items[:self.probe] if self.forward else items[-self.probe:])

    def next_url(self, request: Request, items: Sequence[T], key: Callable[[T], object], more: bool) -> str | None:
        """The URL of the page past this one (same query, the cursor moved), or None when there is none."""
        if not more or not items:
            return None
        cursor = ("after", key(items[-1])) if self.forward else ("before", key(items[0]))
        kept = [(name, value) for name, value in request.query_params.multi_items() if name not in ("after", "before")]
        return f"{request.url.path}?{urlencode([*kept, cursor])}"


def page_of(request: Request, *, default: int, from_tail: bool = False) -> Page:
    """The page the request asks for: `limit` (default `default`), and `after` or `before` (not both)."""
    query = request.query_params
    raw = query.get("limit")
    limit = default if raw is None else _whole(raw, "limit")
    if limit is None or not 1 <= limit <= MAX_LIMIT:
        raise _bad("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
    after, before = query.get("after"), query.get("before")
    if after is not None and before is not None:
        raise _bad("before", "cannot be given with after")
    return Page(limit=limit, after=after, before=before, from_tail=from_tail)


def _whole(raw: str | None, name: str) -> int | None:
    if raw is None:
        return None
    if not raw.isascii() or not raw.lstrip("-").isdigit() or len(raw) > 18:
        raise _bad(name, "must be a whole number")
    return int(raw)


def _bad(name: str, message: str) -> ApiError:
    return ApiError(422, "invalid_query", f"{name}: {message}", field=name)
