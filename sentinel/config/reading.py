"""Reading a file the config names (the config itself, an include, an `env_file`) without ever blocking.

The path is opened with O_NONBLOCK, so a FIFO with no writer does not hang `open()`; the
descriptor is then checked with fstat: only a regular file is read (a FIFO, a device such as
`/dev/zero`, a socket or a directory is refused), and never more than `limit` bytes, however
much the file grows while it is read. Used by `sentinel.config.loader` and
`sentinel.config.localize`.
"""

from __future__ import annotations

import errno
import os
import stat

_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


class UnreadableFile(ValueError):
    """The path is not a regular file, or is larger than allowed; the text says which."""


def read_regular_file(path: str, limit: int) -> bytes:
    """The bytes of the regular file at `path`, at most `limit` of them.

    IsADirectoryError for a directory; UnreadableFile for other non-regular files and for a
    file over `limit` bytes; the OSError of `open()` otherwise (FileNotFoundError, …).
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _KINDS if test(info.st_mode)), "a special file")
            raise UnreadableFile(f"is {kind}, not a regular file")
        if info.st_size > limit:
            raise UnreadableFile(f"is too large ({info.st_size} bytes; the limit is {limit})")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(limit + 1 - size, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise UnreadableFile(f"is too large (over {limit} bytes, still growing; the limit is {limit})")
        return b"".join(chunks)
    finally:
        os.close(fd)
