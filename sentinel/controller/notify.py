"""Sending notifications (README.md#notifications): one bounded queue per target, drained by its own thread, so a
slow, failing or hanging webhook never holds up supervision.

What to send where, how it is signed and when to try again are decided in `sentinel.reconcile.notify`;
the request itself is `sentinel.webhook.post`. A full queue drops its oldest notification (counted).
A target whose notifications fail is said once per burst, as an event (`notify_failed`, then
`notify_delivered` when one gets through); every outcome is counted for /metrics. Notifications still
queued when the reconciler exits are not sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sentinel.config.models import NotifyTarget
from sentinel.controller.counters import Counters
from sentinel.errors import SentinelError
from sentinel.log import get_logger
from sentinel.reconcile.notify import (
    Notice,
    Troubled,
    body_of,
    burst_line,
    deliveries,
    headers_for,
    next_attempt,
    notice_of,
    target_label,
    target_shown,
)

if TYPE_CHECKING:
    from sentinel.webhook import Answer

QUEUE_MAX = 100  # notifications waiting per target; beyond, the oldest is dropped
log = get_logger(__name__)

Report = Callable[[str, str], None]  # (event kind, message), called on the event loop's thread


class Outbox:
    """One target: its queue and the thread that sends from it, retrying each notification as
    `next_attempt` says."""

    def __init__(self, index: int, target: NotifyTarget, *, report: Report, counters: Counters,
                 monotonic: Callable[[], float]) -> None:
        self.target, self.label, self.shown = target, target_label(index, target), target_shown(index, target)
        self._secret: bytes | None = None
        self._secret_problem: str | None = None
        self._report, self._counters, self._monotonic = report, counters, monotonic
        self._queue: deque[bytes] = deque()
        self._ready = threading.Condition()
        self._closed = False
        self._failures = 0  # failed notifications since the last delivered one (the thread's own)
        self._thread = threading.Thread(target=self._drain, name=f"notify {self.label}", daemon=True)
        self._thread.start()

    def put(self, body: bytes) -> None:
        with self._ready:
            if len(self._queue) >= QUEUE_MAX:
                self._queue.popleft()
                self._counters.notification(self.label, "dropped")
            self._queue.append(body)
            self._ready.notify()

    def sign_with(self, secret: bytes | None, secret_problem: str | None) -> None:
        """The secret (re-read at each config apply) for the requests from now on."""
        self._secret, self._secret_problem = secret, secret_problem

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    def _drain(self) -> None:
        while True:
            with self._ready:
                self._ready.wait_for(lambda: self._queue or self._closed)
                if self._closed:
                    return
                body = self._queue.popleft()
            self._deliver(body)

    def _deliver(self, body: bytes) -> None:
        first_at = self._monotonic()
        attempts = 0
        while True:
            attempts += 1
            answer = self._send(body)
            if answer.ok:
                self._counters.notification(self.label, "delivered")
                self._said(delivered=True, why="")
                self._failures = 0
                return
            at = next_attempt(attempts=attempts, first_at=first_at, now=self._monotonic(),
                              retry_for=self.target.retry_for)
            if at is None:
                self._counters.notification(self.label, "failed")
                self._said(delivered=False, why=f"{answer} (tried {'once' if attempts == 1 else f'{attempts} times'})")
                self._failures += 1
                return
            self._counters.notification(self.label, "retried")
            with self._ready:
                if self._ready.wait_for(lambda: self._closed, timeout=max(0.0, at - self._monotonic())):
                    return

    def _send(self, body: bytes) -> Answer:
        from sentinel.webhook import Answer, post  # loaded by the first target: a reconciler without one never does

        if self._secret_problem is not None:
            return Answer(None, self._secret_problem)
        return post(self.target.url, body, headers_for(body, self._secret), timeout=self.target.timeout)

    def _said(self, *, delivered: bool, why: str) -> None:
        line = burst_line(self.shown, failures_before=self._failures, delivered=delivered, why=why)
        if line is not None:
            self._report(*line)


class Notifier:
    """The targets of the config in force: a notice for each event that makes one (`notice_of`), put in the
    queue of each target that wants it (`deliveries`)."""

    def __init__(self, *, counters: Counters, monotonic: Callable[[], float]) -> None:
        self._counters, self._monotonic = counters, monotonic
        self._targets: tuple[NotifyTarget, ...] = ()
        self._path = ""
        self._outboxes: list[Outbox] = []
        self._troubled: Troubled = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._report_to: Report | None = None
        self.host = socket.gethostname()
        self.revision: str | None = None  # the applied revision, once the config comes from a git source

    def configure(self, targets: Sequence[NotifyTarget], config_path: str, report: Report) -> None:
        """Make `targets` those in force (unchanged targets keep their queues, and take their secret files
        again); `report` says a failing target (on the event loop's thread)."""
        self._report_to = report
        with contextlib.suppress(RuntimeError):
            self._loop = asyncio.get_running_loop()
        if tuple(targets) == self._targets and config_path == self._path:
            for outbox in self._outboxes:
                outbox.sign_with(*self._secret_of(outbox.target))
            return
        self.close()
        self._targets, self._path = tuple(targets), config_path
        self._outboxes = [Outbox(index, target, report=self._report, counters=self._counters,
                                 monotonic=self._monotonic) for index, target in enumerate(targets)]
        for outbox in self._outboxes:
            outbox.sign_with(*self._secret_of(outbox.target))

    def _secret_of(self, target: NotifyTarget) -> tuple[bytes | None, str | None]:
        """(the secret that signs the target's requests, or why there is none when it should have one)."""
        if target.secret_file is None:
            return None, None
        try:
            from sentinel.webhook import read_secret

            return read_secret(target.secret_file, self._path), None
        except SentinelError as err:
            return None, f"cannot sign: {err}"

    def _report(self, kind: str, message: str) -> None:
        """From a sender's thread: the event, on the loop's thread (only logged once the loop is gone)."""
        loop, report = self._loop, self._report_to
        if loop is not None and report is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(report, kind, message)
                return
        log.warning(kind, message=message)

    def offer(self, kind: str, *, process: str | None, name: str | None, group: str | None, reason: str,
              exit_code: int | None, at: str) -> None:
        """An event happened: queue the notice it makes, if any, for each target that wants it."""
        if not self._targets:
            return
        notice, self._troubled = notice_of(kind, process=process, name=name, group=group, reason=reason,
                                           exit_code=exit_code, at=at, troubled=self._troubled)
        if notice is not None:
            self.send(notice)

    def send(self, notice: Notice) -> None:
        for index in deliveries(notice, self._targets):
            outbox = self._outboxes[index]
            outbox.put(body_of(notice, outbox.target, host=self.host, revision=self.revision))

    def close(self) -> None:
        """Stop every sender: what is queued is not sent; a request in flight ends by its timeout, on its
        thread, which is not waited for."""
        outboxes, self._outboxes, self._targets = self._outboxes, [], ()
        for outbox in outboxes:
            outbox.close()
