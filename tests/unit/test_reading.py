"""Reading files a config names: regular files only, never blocking, never more than the limit."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from sentinel.config.reading import UnreadableFile, read_regular_file


def test_a_regular_file_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "a.env"
    path.write_bytes(b"A=1\n")
    assert read_regular_file(str(path), 4) == b"A=1\n"


def test_a_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.env"
    path.write_bytes(b"12345")
    with pytest.raises(UnreadableFile, match=r"^is too large \(5 bytes; the limit is 4\)$"):
        read_regular_file(str(path), 4)


def test_a_directory_is_an_is_a_directory_error(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError):
        read_regular_file(str(tmp_path), 10)


def test_a_fifo_without_a_writer_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    with pytest.raises(UnreadableFile, match=r"^is a FIFO \(named pipe\), not a regular file$"):
        read_regular_file(str(path), 10)


def test_a_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        with pytest.raises(OSError):  # a socket cannot even be opened; it is never read
            read_regular_file(str(path), 10)


def test_a_device_is_refused_without_reading_it() -> None:
    with pytest.raises(UnreadableFile, match=r"^is a character device, not a regular file$"):
        read_regular_file("/dev/zero", 10)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_a_proc_file_that_claims_no_size_is_still_cut_at_the_limit() -> None:
    # /proc files report a size of 0 and then hold more: the limit is enforced while reading.
    with pytest.raises(UnreadableFile, match=r"^is too large \(over 8 bytes, still growing; the limit is 8\)$"):
        read_regular_file("/proc/self/status", 8)
