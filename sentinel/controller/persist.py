"""Writing the reconciler's records and events to state.db without ever holding up supervision.

docs/reliability.md#f32-a-locked-state-database: another program (a backup, `sqlite3` in a shell) can hold state.db's
write lock for seconds. The reconciler's store waits only a moment for it (`BUSY_TIMEOUT`); a write that still
finds it locked is kept, with every write after it, in order, and tried again every `RETRY`
seconds until all have gone through. Meanwhile processes are restarted on time and the API
answers from memory. docs/reliability.md#f34-disk-full: a write that fails for lack of space is kept the same way
and written when space returns; the outage is logged once when it starts (again with a count every minute
while it lasts, `log.Burst`) and once when it ends, and `problem` says so for `status` and `/healthz`. At most
`MAX_KEPT` writes are kept: past that the oldest are dropped (and counted). Any other failure (read-only,
corrupt) is logged and the write dropped, as waiting would not help. A pass's writes go in one transaction
(`batch`); if that transaction cannot be committed, or SQLite rolls it back (as it does when the disk is full),
its writes are kept the same way. Used by the controller (`Controller.write_safely`) and the daemon (draining
at shutdown).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Iterator
from functools import partial

from sentinel.errors import StateError
from sentinel.log import Burst, get_logger
from sentinel.state.store import Store

log = get_logger(__name__)

BUSY_TIMEOUT = 0.1  # seconds a write waits for another connection's lock before it is kept for later
RETRY = 0.25  # seconds between tries while writes are kept
MAX_KEPT = 100_000  # writes kept at most while state.db cannot be written (a few hundred bytes each)
LOCKED, FULL = "locked", "full"
_WAIT_FOR = {"SQLITE_BUSY": LOCKED, "SQLITE_LOCKED": LOCKED, "SQLITE_FULL": FULL}  # failures worth waiting out

Write = Callable[[], object]


class StateWriter:
    """Writes to one store, in order, kept while the database is locked."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: deque[Write] = deque()
        self._batch: list[Write] | None = None  # the writes of the open batch, should it fail to commit
        self._batch_lost: StateError | None = None  # why SQLite rolled the open batch back (kept meanwhile)
        self._retry: asyncio.TimerHandle | None = None
        self._full = Burst(log, "state_db_full")  # no space left: once per outage, with a count
        self.waiting_for: str | None = None  # LOCKED or FULL while writes are kept
        self.dropped = 0  # writes given up (read-only, corrupt, or past MAX_KEPT)

    @property
    def problem(self) -> str | None:
        """Why writes wait, for `status` and `/healthz` ("no space left for state.db (12 writes waiting)")."""
        if not self._pending or self.waiting_for is None:
            return None
        why = "no space left for state.db" if self.waiting_for == FULL else "state.db is locked by another program"
        return f"{why} ({len(self._pending)} writes waiting)"

    @property
    def pending(self) -> int:
        """Writes waiting for the lock."""
        return len(self._pending)

    def write(self, method: Callable[..., object], *args: object, **kwargs: object) -> None:
        """`method(*args, **kwargs)` now, or after the writes already waiting."""
        write = partial(method, *args, **kwargs)
        if self._pending:
            self._keep([write])
            return
        try:
            write()
        except StateError as err:
            if self._batch is not None and err.sqlite_error == "SQLITE_FULL":  # SQLite rolled the batch back
                self._batch_lost = err
                self._failed([*self._batch, write], err)
                self._batch.clear()
                return
            self._failed([write], err)
            return
        if self._batch is not None:
            self._batch.append(write)

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction for the writes inside, when the lock can be had and nothing waits for it."""
        if self._pending or self._batch is not None:
            yield
            return
        try:
            transaction = self._store.batch()
            transaction.__enter__()
        except StateError as err:
            log.warning("state_batch_unavailable", error=str(err))
            yield  # no transaction: each write is tried (and kept) on its own
            return
        self._batch = []
        try:
            yield
        except BaseException as exc:
            transaction.__exit__(type(exc), exc, exc.__traceback__)
            raise
        else:
            if self._batch_lost is not None:  # rolled back by SQLite already: end it without a commit
                transaction.__exit__(type(self._batch_lost), self._batch_lost, None)
                return
            try:
                transaction.__exit__(None, None, None)
            except StateError as err:  # nothing inside was written
                self._failed(self._batch, err, first=True)
        finally:
            self._batch, self._batch_lost = None, None

    async def drain(self, timeout: float) -> bool:
        """At shutdown: try the kept writes until they are all written or `timeout` passes; True if all were."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._pending and loop.time() < deadline:
            self._flush()
            if self._pending:
                await asyncio.sleep(RETRY)
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        if self._pending:
            reason = "no space left for state.db" if self.waiting_for == FULL else "state.db stayed locked"
            log.error("state_writes_lost", count=len(self._pending), reason=reason)
        return not self._pending

    def _failed(self, writes: list[Write], err: StateError, *, first: bool = False) -> None:
        waiting_for = _WAIT_FOR.get(err.sqlite_error or "")
        if waiting_for is None:
            self.dropped += len(writes)
            log.warning("state_write_failed", error=str(err), dropped=len(writes))
            return
        self._waiting(waiting_for, err)
        self._keep(writes, first=first)

    def _keep(self, writes: list[Write], *, first: bool = False) -> None:
        """Queue `writes` (before those waiting when `first`), at most MAX_KEPT in all, and try again later."""
        if first:
            self._pending.extendleft(reversed(writes))
        else:
            self._pending.extend(writes)
        excess = len(self._pending) - MAX_KEPT
        if excess > 0:
            for _ in range(excess):
                self._pending.popleft()
            self.dropped += excess
        self._schedule()

    def _waiting(self, waiting_for: str, err: StateError) -> None:
        """Say once that writes wait (for the lock), or count one more failure of the outage (no space)."""
        if waiting_for == FULL:
            self._full.failed(error=str(err), reason="no space left for state.db: writes wait for space",
                              waiting=len(self._pending))
        elif not self._pending:
            log.warning("state_db_locked", error=str(err), reason="writes wait for the lock")
        self.waiting_for = waiting_for

    def _flush(self) -> None:
        """Write what waits, in order, until the lock (or the lack of space) is in the way again."""
        self._retry = None
        while self._pending:
            try:
                self._pending[0]()
            except StateError as err:
                waiting_for = _WAIT_FOR.get(err.sqlite_error or "")
                if waiting_for is not None:
                    self._waiting(waiting_for, err)
                    self._schedule()
                    return
                self.dropped += 1
                log.warning("state_write_failed", error=str(err), dropped=1)
            self._pending.popleft()
        if self._full.active:
            self._full.ended("state_db_space_again", reason="every kept write is written", dropped=self.dropped)
        else:
            log.info("state_db_unlocked", reason="every kept write is written")
        self.waiting_for = None

    def _schedule(self) -> None:
        if self._retry is not None:
            return
        with contextlib.suppress(RuntimeError):  # no loop (start-up code, tests): the next write or `drain` tries
            self._retry = asyncio.get_running_loop().call_later(RETRY, self._flush)
