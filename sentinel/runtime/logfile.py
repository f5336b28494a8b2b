"""One process's log file: time-stamped lines, partial lines kept on disk, rotation by size.

Written by `capture.Capture` as output arrives; read by `sentinel logs` (through the API).
Each line is `<UTC time with milliseconds>Z <text>\\n`, e.g. `2026-11-26T02:35:57.123Z hello`;
a job's lines carry their run after the time, `2026-11-26T03:00:00.010Z #42 hello` (a label).

- Several writers of one file (the runs of a job that overlap, `concurrency: allow`) share one
  `LogWriter` (`open_count`); a line one of them left unfinished is ended before another's
  label starts a line, so lines of different runs never run together.

- A chunk ending without a newline is written at once (nothing is held in memory); the bytes
  that follow continue that line without a new stamp. On opening an existing file, its last
  byte says whether it ends mid-line, so a reconciler killed mid-line continues correctly.
- Bytes are written as they came: invalid UTF-8 passes through unchanged (readers decode
  with `errors="replace"`). Only `\\n` ends a line (a `\\r` or U+2028 is text within one).
- The reconciler's own lines start with `──` (`OWN_MARK`); a line longer than `LINE_MAX` bytes
  is cut there and goes on in a line starting `↪ ` (`CONTINUED`). A child's line that starts
  with `─`, `↪` or `\\` gets a `\\` before it, so no child can write a line that looks like
  one of ours (docs/security.md).
- Rotation: once the file has reached `max_size`, NAME.log becomes NAME.log.1 (NAME.log.1 → .2
  … up to .{keep}, the oldest dropped) and a new NAME.log starts; a line being written is cut
  and continued (`↪ `) in the new file. A file can exceed `max_size` by one chunk. `keep=0`
  keeps no old files. The cost of a rotation grows with the files that exist, not with `keep`.
  A rotation that cannot rename the files leaves the log growing past `max_size` and says why
  (`rotation_error`, reported by the capture); it is tried again at the next chunk.
- A log file removed or renamed by someone else (logrotate) is noticed at the next chunk and
  a new one is created (docs/reliability.md#f25-log-rotation); a file truncated in place (copytruncate) is followed.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sentinel.loglines import OWN_MARK, STAMPED
from sentinel.paths import open_private

_LABEL = re.compile(STAMPED.pattern + rb"(#\d+ )")
LINE_MAX = 64 * 1024  # bytes of a child's line; the rest goes on in a continued line
CONTINUED = "↪ ".encode()  # starts the continuation of a line cut at LINE_MAX or by a rotation
_ESCAPE = b"\\"
_RESERVED = (_ESCAPE, OWN_MARK[0].encode(), CONTINUED[:3])  # a child's line starting so is escaped


def stamp(when: datetime) -> bytes:
    """`2026-11-26T02:35:57.123Z ` (with the separating space)."""
    utc = when.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z ".encode()


class LogWriter:
    """Appends output chunks to `path`, stamping each line; see the module docstring for the format."""

    def __init__(self, path: Path, max_size: int, keep: int, clock_utc: Callable[[], datetime],
                 tap: Callable[[bytes], None] | None = None) -> None:
        """`tap` is given each piece appended, once written (`streams.LogLines`: the API's live readers)."""
        self.path = path
        self._tap = tap
        self._max_size = max_size
        self._keep = max(keep, 0)
        self._clock = clock_utc
        self._fd = -1
        self._inode = (0, 0)
        self._size = 0
        self._mid_line = False
        self._label = b""  # of the line the file ends in
        self._line_length = 0  # bytes of the child's line being written
        self._continues: bytes | None = None  # the label of a line cut at its end: the next line continues it
        self.open_count = 1  # its users; `close` closes the file when the last one is done
        self.rotation_error: OSError | None = None  # why the last rotation could not rename the files
        self._open()

    @property
    def size(self) -> int:
        """Bytes in the current file, as far as this writer knows."""
        return self._size

    @property
    def mid_line(self) -> bool:
        """The file ends inside a line: the next bytes continue it without a stamp."""
        return self._mid_line

    def write(self, chunk: bytes, label: bytes = b"") -> None:
        """Append a chunk of output (any bytes, any number of lines, maybe a partial one)."""
        self.prepare()
        self.append(chunk, label)

    def note(self, line: bytes, label: bytes = b"") -> None:
        """Write a line of our own (a job run's start or end, `OWN_MARK` first) on a line of its own."""
        self.prepare()
        if self._mid_line:
            self._write(b"\n")
        own = line.replace(b"\n", b" ")  # one line, whatever it says
        self._write(stamp(self._clock()) + label + OWN_MARK.encode() + b" " + own + b"\n")
        self._mid_line, self._label, self._continues = False, label, None

    def prepare(self) -> None:
        """Before a chunk: follow a file removed, renamed or truncated by others, then rotate if full
        (a line being written is cut, and continued in the new file)."""
        self._follow()
        if self._size >= self._max_size:
            if self._mid_line:
                self._write(b"\n")
                self._continues = self._label
            self.rotate()

    def append(self, chunk: bytes, label: bytes = b"") -> None:
        """Stamp and write a child's `chunk` now, each line labelled `label` (`b"#42 "`), lines cut at
        `LINE_MAX`, reserved line starts escaped; no rotation, no checks (`capture` calls `prepare` first)."""
        if not chunk:
            return
        mark = stamp(self._clock()) + label
        out = bytearray()
        within = self._mid_line and label == self._label
        if self._mid_line and not within:
            out += b"\n"  # another writer's unfinished line ends here
        position = 0
        while position < len(chunk):
            if not within:
                if self._continues == label and chunk.startswith(b"\n", position):
                    self._continues = None  # the line that was cut ends here: nothing to continue
                    position += 1
                    continue
                out += self._line_start(mark, label, chunk, position)
                within = True
            room = max(LINE_MAX - self._line_length, 0)
            end = chunk.find(b"\n", position, position + room + 1)
            if end >= 0:
                out += chunk[position:end + 1]
                position, within = end + 1, False
            elif room == 0:  # full: cut here, the rest goes on in a continued line
                out += b"\n"
                self._continues, within = label, False
            else:
                piece = chunk[position:position + room]
                out += piece
                position += len(piece)
                self._line_length += len(piece)
        self._write(bytes(out))
        self._label = label
        self._mid_line = within

    def _line_start(self, mark: bytes, label: bytes, chunk: bytes, position: int) -> bytes:
        """The stamp of a child's line starting at `chunk[position]`, and its continuation mark or escape."""
        continued, self._continues, self._line_length = self._continues == label, None, 0
        if continued:
            return mark + CONTINUED
        head = chunk[position:position + 3]
        cut = position + len(head) == len(chunk)  # the chunk may end inside a reserved start
        if any(head.startswith(token) or (cut and token.startswith(head)) for token in _RESERVED):
            return mark + _ESCAPE
        return mark

    def _write(self, data: bytes) -> None:
        if self._fd < 0:
            raise OSError(errno.EBADF, "log file not open", str(self.path))
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
            self._size += written
        if self._tap is not None:
            self._tap(data)

    def truncate(self, size: int) -> None:
        """Cut the file back to `size` bytes (undoing a write a crash interrupted; see `capture`)."""
        os.ftruncate(self._fd, size)
        self._size = size
        self._mid_line = self._ends_mid_line()

    def rotate(self) -> None:
        """NAME.log → NAME.log.1 → … → NAME.log.{keep} (oldest dropped), then a new, empty NAME.log.
        Only the numbered files that exist are walked, so the cost does not grow with `keep`."""
        self._close()
        # Cannot be renamed (permissions, a read-only or broken file system): keep appending to the current
        # file, past max_size, and say why in `rotation_error` (the capture reports it); the next chunk tries again.
        try:
            present = 0
            while present < self._keep - 1 and os.path.lexists(self._numbered(present + 1)):
                present += 1
            for index in range(present, 0, -1):
                os.replace(self._numbered(index), self._numbered(index + 1))
            if self._keep:
                os.replace(self.path, self._numbered(1))
            else:
                os.unlink(self.path)
        except FileNotFoundError:
            self.rotation_error = None  # gone already (removed by someone else): a new file starts all the same
        except OSError as err:
            self.rotation_error = err
        else:
            self.rotation_error = None
        self._open()

    def close(self) -> None:
        """One user is done; the last one closes the file."""
        self.open_count -= 1
        if self.open_count <= 0:
            self._close()

    def _close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _numbered(self, index: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{index}")

    def _open(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._fd = open_private(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT)  # never through a link
        st = os.fstat(self._fd)
        self._inode = (st.st_dev, st.st_ino)
        self._size = st.st_size
        self._mid_line = self._ends_mid_line()
        self._label = self._last_label() if self._mid_line else b""

    def _follow(self) -> None:
        try:
            st = os.stat(self.path)
        except OSError:
            st = None
        if self._fd < 0 or st is None or (st.st_dev, st.st_ino) != self._inode:
            self._close()
            self._open()
        elif st.st_size != self._size:
            self._size = st.st_size
            self._mid_line = self._ends_mid_line()

    def _last_label(self) -> bytes:
        """The label of the file's last line (`b"#42 "`), so that a run adopted mid-line continues it."""
        start = max(0, self._size - 8192)
        tail = os.pread(self._fd, self._size - start, start)
        cut = tail.rfind(b"\n")
        if cut < 0 and start > 0:
            return b""
        found = _LABEL.match(tail, cut + 1)
        return found.group(1) if found else b""

    def _ends_mid_line(self) -> bool:
        return self._size > 0 and os.pread(self._fd, 1, self._size - 1) != b"\n"
