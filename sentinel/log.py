"""The reconciler's own log, on structlog: this module configures it; the rest asks it for a logger.

Every line is an event name and its fields, never a sentence with values formatted into it:
`log.info("spawned", process="web", pid=4242)`. Fields that hold for a stretch of work are
bound once (`bound(pass_id=12)` around a reconcile pass, `bound(process="web")` around a stop)
and land on every line logged inside it, also from tasks started there.

Three renderings (`sentinel up --log-format`, or `log: {format: …}` in the file):

- `console`: aligned columns for a person at a terminal, coloured when it is a TTY;
- `logfmt`: `timestamp=… level=info event=spawned process=web pid=4242`, one line per event;
- `json`: one JSON object per line, for log shippers (Vector, Fluent Bit, Loki).

`auto` (the default) is `console` on a terminal and `logfmt` everywhere else (`sentinel.log`,
journald, a pipe). An exception is one line, `error="TypeError: message"`: the traceback
only at `level: debug`, or as the `exception` field in JSON. A detached reconciler writes
`sentinel.log` itself, rotated by size and count like a process's log (`max_size`, `keep`).

`Burst` logs a failure that repeats (an accept that keeps failing, a log that cannot be
written) once, then counts it, instead of one line per occurrence.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import logging.handlers
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from sentinel.logsettings import LogFormat, LogLevel
from sentinel.terminal import colour_wanted

# structlog's console renderer imports rich and better_exceptions whenever they are installed, for
# tracebacks we never draw (an exception is one line here): rich alone is 5 MB of the reconciler's
# memory, in any environment that happens to have it. None in sys.modules makes their import fail.
for _optional in ("rich", "better_exceptions"):
    sys.modules.setdefault(_optional, None)  # type: ignore[arg-type]

import structlog  # noqa: E402 (after the guard above)
from structlog.typing import EventDict, Processor, WrappedLogger  # noqa: E402

Logger = structlog.stdlib.BoundLogger
_ORDER = ["timestamp", "level", "event"]
_OURS = "sentinel"  # the stdlib logger our structlog loggers write through


def get_logger(name: str = _OURS, **fields: Any) -> Logger:
    """A logger for one module (`get_logger(__name__)`), with `fields` bound on every line it writes."""
    logger: Logger = structlog.stdlib.get_logger(name, **fields)
    return logger


@contextlib.contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Every line logged inside (in this task, and in tasks it starts) carries `fields`."""
    with structlog.contextvars.bound_contextvars(**fields):
        yield


def unbound(work: Callable[[], None]) -> None:
    """Run `work` with no bound fields, so that the callbacks it registers do not carry them."""
    contextvars.Context().run(work)


def _exc_info_resolved(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """`exc_info=True` (what `log.exception` passes) becomes the exception itself, while it is known."""
    if event_dict.get("exc_info") is True:
        event_dict["exc_info"] = sys.exc_info()
    return event_dict


def _error_line(keep_traceback: bool) -> Processor:
    """An exception becomes `error="Type: message"`; its traceback stays only if `keep_traceback`."""

    def processor(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        exc_info = event_dict.pop("exc_info", None)
        if isinstance(exc_info, BaseException):
            exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
        if isinstance(exc_info, tuple) and exc_info[1] is not None:
            event_dict.setdefault("error", f"{type(exc_info[1]).__name__}: {exc_info[1]}")
            if keep_traceback:
                event_dict["exc_info"] = exc_info
        return event_dict

    return processor


def _renderer(chosen: LogFormat, stream: TextIO | None, keep_traceback: bool) -> list[Processor]:
    """The processors that end a line, by format; `stream` is None for the file."""
    if chosen == "auto":
        chosen = "console" if stream is not None and stream.isatty() else "logfmt"
    if chosen == "json":
        # Frames without their local variables: those can hold secrets (a process's environment).
        tracebacks = structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        return [_error_line(keep_traceback=True), structlog.processors.ExceptionRenderer(tracebacks),
                structlog.processors.JSONRenderer(sort_keys=False)]
    tail: list[Processor] = [_error_line(keep_traceback)]
    if keep_traceback:
        tail.append(structlog.processors.format_exc_info)
    if chosen == "console":
        colors = colour_wanted(stream)
        return [*tail, structlog.dev.ConsoleRenderer(colors=colors, exception_formatter=structlog.dev.plain_traceback)]
    return [*tail, structlog.processors.LogfmtRenderer(key_order=_ORDER, bool_as_flag=False)]


_SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def _formatter(chosen: LogFormat, stream: TextIO | None, keep_traceback: bool) -> logging.Formatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,  # lines of other libraries (asyncio's) get the same fields
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    *_renderer(chosen, stream, keep_traceback)],
    )


class _RotatingLog(logging.handlers.RotatingFileHandler):
    """`sentinel.log`, rotated at `max_size` keeping `keep` old files; standard error follows it, so
    that whatever the interpreter itself prints (a crash) lands in the current file too."""

    def __init__(self, path: Path, *, max_size: int, keep: int, take_stderr: bool) -> None:
        self._take_stderr = take_stderr
        old_umask = os.umask(0o077)  # 0600, like every file of the state directory
        try:
            super().__init__(path, maxBytes=max_size, backupCount=keep, encoding="utf-8")
        finally:
            os.umask(old_umask)
        self._follow()

    def doRollover(self) -> None:  # the stdlib's name
        old_umask = os.umask(0o077)
        try:
            super().doRollover()
        finally:
            os.umask(old_umask)
        self._follow()

    def _follow(self) -> None:
        if self._take_stderr and self.stream is not None:
            sys.stderr.flush()
            os.dup2(self.stream.fileno(), sys.stderr.fileno())


class _Ours(logging.Filter):
    """Marks the handler `configure` installed, so that configuring again replaces it and nothing else."""


def configure(chosen: LogFormat = "auto", *, level: LogLevel = "info", file: Path | None = None,
              max_size: int = 10_000_000, keep: int = 5, take_stderr: bool = False) -> None:
    """Send the reconciler's log to standard error, or to `file` (rotated) when it runs detached;
    `take_stderr` points standard error at that file too (and at each new one after a rotation)."""
    keep_traceback = level == "debug"
    if file is None:
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_formatter(chosen, sys.stderr, keep_traceback))
    else:
        handler = _RotatingLog(file, max_size=max_size, keep=keep, take_stderr=take_stderr)
        handler.setFormatter(_formatter(chosen, None, keep_traceback))
    root = logging.getLogger()
    for old in [each for each in root.handlers if any(isinstance(f, _Ours) for f in each.filters)]:
        root.removeHandler(old)
        old.close()
    handler.addFilter(_Ours())
    root.addHandler(handler)
    root.setLevel(logging.WARNING)  # other libraries: their warnings and errors only
    logging.getLogger(_OURS).setLevel(level.upper())


structlog.configure(
    processors=[structlog.stdlib.filter_by_level, *_SHARED, _exc_info_resolved,
                structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
    logger_factory=structlog.stdlib.LoggerFactory(),
    wrapper_class=structlog.stdlib.BoundLogger,
    cache_logger_on_first_use=True,
)


class Burst:
    """A failure that may repeat many times in a row, logged once per burst with a count.

    The first `failed()` logs `event` at once; later ones are counted, and logged again with
    `repeated=N` at most every `every` seconds while the burst lasts. `ended()` closes the
    burst with one line carrying `failures=N` (nothing if there was none).
    """

    def __init__(self, logger: Logger, event: str, *, every: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._logger, self._event, self._every, self._clock = logger, event, every, clock
        self.count = 0
        self._unreported = 0
        self._reported_at = 0.0

    @property
    def active(self) -> bool:
        return self.count > 0

    def failed(self, **fields: Any) -> None:
        now = self._clock()
        self.count += 1
        if self.count == 1:
            self._logger.warning(self._event, **fields)
            self._reported_at = now
            return
        self._unreported += 1
        if now - self._reported_at >= self._every:
            self._logger.warning(self._event, repeated=self._unreported, **fields)
            self._unreported, self._reported_at = 0, now

    def ended(self, event: str, **fields: Any) -> None:
        if self.count:
            self._logger.info(event, failures=self.count, **fields)
        self.count = self._unreported = 0
