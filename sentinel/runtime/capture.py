"""Reading one instance's named pipe into its log file, so that output survives the reconciler.

Used by `manager.Runtime`; `spawn` uses `ensure_fifo`. The child holds the FIFO open read-write
as stdout and stderr (docs/conventions.md#output-outlives-the-reconciler): while no reconciler reads, its writes block
once the pipe is full; the next reconciler opens the same FIFO and goes on reading.

We open the FIFO `O_RDWR | O_NONBLOCK` (we count as a writer too, so there is never an EOF to
spin on) and read it from the event loop, up to 64 KiB per callback.

Nothing read is lost to a SIGKILL of the reconciler (Linux): each chunk is moved from the pipe
into a spool file next to the FIFO with one `splice()` (bytes are either still in the pipe or in
the spool), then stamped into the log, then the spool is emptied. The spool starts with the log
size before the chunk; a new reader that finds a non-empty spool cuts the log back to that size
and writes the chunk again, so a chunk is never lost nor doubled. Where `splice()` is missing
(macOS) or fails, chunks are read and written at once, and a kill between the two loses one chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import struct
from pathlib import Path

from sentinel.log import Burst, get_logger
from sentinel.paths import open_private
from sentinel.runtime.logfile import LogWriter

log = get_logger(__name__)

CHUNK = 64 * 1024
_DRAIN_LIMIT = 256  # chunks per drain(): a tree that keeps writing cannot hold the loop forever
_HEADER = struct.Struct("<Q")  # log size before the spooled chunk


def ensure_fifo(path: Path) -> None:
    """Create the named pipe (mode 0600) unless it exists; anything else at that path is replaced."""
    try:
        if stat.S_ISFIFO(os.lstat(path).st_mode):
            return
        os.unlink(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.mkfifo(path, 0o600)


def spool_path(fifo: Path) -> Path:
    return fifo.with_name(fifo.name.removesuffix(".fifo") + ".spool")


def remove_pipe(fifo: Path) -> None:
    """Unlink an instance's FIFO and spool (the instance is gone for good)."""
    for path in (fifo, spool_path(fifo)):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


class Capture:
    """Moves everything written to `fifo` into `writer`; `start` reads as data arrives."""

    def __init__(self, fifo: Path, writer: LogWriter, label: bytes = b"") -> None:
        ensure_fifo(fifo)
        self.fifo = fifo
        self.label = label  # put before each line (a job's run: `#42 `)
        self.dropped = 0  # bytes read but not written (log file not writable)
        self._writer = writer
        self._log = log.bind(fifo=str(fifo))
        self._write_failures = Burst(self._log, "log_write_failed")  # logged once per outage, with a count
        self._rotation_failures = Burst(self._log, "log_rotation_failed")
        self._write_error: OSError | None = None  # why the last write failed, until one works
        self._loop: asyncio.AbstractEventLoop | None = None
        self._fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW)
        self._spool = -1
        if hasattr(os, "splice"):
            try:
                self._spool = open_private(spool_path(fifo), os.O_RDWR | os.O_CREAT)
                self._recover()
            except OSError as err:
                self._no_spool(err)

    @property
    def writer(self) -> LogWriter:
        """The log this capture writes to (shared by the overlapping runs of a job)."""
        return self._writer

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Read from now on whenever the pipe has data."""
        self._loop = loop
        loop.add_reader(self._fd, self._on_readable)

    def note(self, line: str) -> None:
        """A line of our own in the log, after all the output written so far."""
        self.drain()
        try:
            self._writer.note(line.encode(errors="replace"), self.label)
        except OSError as err:
            self._failing(err)

    def drain(self) -> int:
        """Read until the pipe is empty (bounded); returns the bytes moved. Called before an exit is reported."""
        total = 0
        for _ in range(_DRAIN_LIMIT):
            moved = self._pump_safely()
            if not moved:
                break
            total += moved
        return total

    def close(self) -> None:
        """Stop reading and close our descriptors and our use of the log; the FIFO stays for the next reader."""
        if self._loop is not None:
            self._loop.remove_reader(self._fd)
            self._loop = None
        for fd in (self._fd, self._spool):
            if fd >= 0:
                os.close(fd)
        self._fd = self._spool = -1
        self._writer.close()

    def _on_readable(self) -> None:
        self._pump_safely()

    def _pump_safely(self) -> int:
        if self._fd < 0:
            return 0
        try:
            return self._pump()
        except OSError:
            self._log.exception("capture_failed")
            self.close()
            return 0

    def _pump(self) -> int:
        if self._spool >= 0:
            try:
                return self._pump_spliced()
            except OSError as err:
                self._no_spool(err)
        try:
            data = os.read(self._fd, CHUNK)
        except BlockingIOError:
            return 0
        self._deliver(data)
        return len(data)

    def _pump_spliced(self) -> int:
        self._prepare()
        os.pwrite(self._spool, _HEADER.pack(self._writer.size), 0)
        try:
            moved = os.splice(self._fd, self._spool, CHUNK, offset_dst=_HEADER.size, flags=os.SPLICE_F_NONBLOCK)
        except BlockingIOError:
            return 0
        if moved:
            self._write(os.pread(self._spool, moved, _HEADER.size))
            os.ftruncate(self._spool, 0)
        return moved

    def _recover(self) -> None:
        """Finish the chunk a killed reader had taken from the pipe (see the module docstring)."""
        size = os.fstat(self._spool).st_size
        if size > _HEADER.size:
            (before,) = _HEADER.unpack(os.pread(self._spool, _HEADER.size, 0))
            data = os.pread(self._spool, size - _HEADER.size, _HEADER.size)
            if before <= self._writer.size:
                self._writer.truncate(before)
            self._write(data)
            self._log.info("capture_recovered", bytes=len(data))
        if size:  # an empty spool (nearly always) stays as it is: under load a truncate took a spawn ~1 ms
            os.ftruncate(self._spool, 0)

    def _deliver(self, data: bytes) -> None:
        self._prepare()
        self._write(data)

    def _prepare(self) -> None:
        try:
            self._writer.prepare()
        except OSError as err:
            self._failing(err)
        rotation_error = self._writer.rotation_error
        if rotation_error is not None:
            self._rotation_failures.failed(path=str(self._writer.path), error=str(rotation_error),
                                           reason="the log grows past logs.max_size until it can be rotated")
        elif self._rotation_failures.active:
            self._rotation_failures.ended("log_rotated_again", path=str(self._writer.path))

    @property
    def log_error(self) -> tuple[str, OSError] | None:
        """What goes wrong with the log now: ("written", error) or ("rotated", error); None when nothing does."""
        if self._write_error is not None:
            return ("written", self._write_error)
        if self._writer.rotation_error is not None:
            return ("rotated", self._writer.rotation_error)
        return None

    def _write(self, data: bytes) -> None:
        """Append to the log; when it cannot be written the chunk is dropped, so the child never blocks
        on a full pipe because of us (docs/reliability.md#f23-a-full-output-pipe)."""
        try:
            self._writer.append(data, self.label)
        except OSError as err:
            self._failing(err)
            self.dropped += len(data)
            return
        self._write_error = None
        if self._write_failures.active:
            self._write_failures.ended("log_writable_again", path=str(self._writer.path), dropped_bytes=self.dropped)

    def _failing(self, err: OSError) -> None:
        self._write_error = err
        self._write_failures.failed(path=str(self._writer.path), error=str(err), reason="output dropped until it works")

    def _no_spool(self, err: OSError) -> None:
        self._log.warning("capture_spool_unavailable", error=str(err), reason="reading without a spool")
        if self._spool >= 0:
            os.close(self._spool)
        self._spool = -1
