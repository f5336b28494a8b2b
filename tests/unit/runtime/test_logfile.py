"""LogWriter: stamped lines, partial lines on disk, reopening mid-line, rotation, files replaced by others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sentinel.runtime.logfile import CONTINUED, LINE_MAX, LogWriter, stamp

T0 = datetime(2026, 11, 26, 2, 35, 57, 123456, tzinfo=UTC)


class Ticks:
    """A clock that advances one second per reading."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        current, self.now = self.now, self.now + timedelta(seconds=1)
        return current


def writer(path: Path, max_size: int = 1_000_000, keep: int = 3) -> LogWriter:
    return LogWriter(path, max_size, keep, Ticks())


def test_stamp_is_utc_iso_8601_with_milliseconds() -> None:
    assert stamp(T0) == b"2026-11-26T02:35:57.123Z "
    other_zone = T0.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    assert stamp(other_zone) == b"2026-11-26T02:35:57.123Z "


def test_each_line_of_a_chunk_gets_the_chunks_stamp(tmp_path: Path) -> None:
    log = writer(tmp_path / "web.log")
    log.write(b"one\ntwo\n")
    log.write(b"three\n")
    log.close()
    assert (tmp_path / "web.log").read_bytes() == (
        b"2026-11-26T02:35:57.123Z one\n2026-11-26T02:35:57.123Z two\n2026-11-26T02:35:58.123Z three\n"
    )


def test_partial_line_is_written_at_once_and_continued_without_a_new_stamp(tmp_path: Path) -> None:
    path = tmp_path / "web.log"
    log = writer(path)
    log.write(b"abc")
    assert path.read_bytes() == b"2026-11-26T02:35:57.123Z abc"
    assert log.mid_line
    log.write(b"def\nghi")
    assert path.read_bytes() == b"2026-11-26T02:35:57.123Z abcdef\n2026-11-26T02:35:58.123Z ghi"
    log.close()


def test_a_new_writer_continues_a_file_that_ends_mid_line(tmp_path: Path) -> None:
    path = tmp_path / "web.log"
    first = writer(path)
    first.write(b"abc")
    first.close()  # as if the reconciler was killed here
    second = writer(path)
    assert second.mid_line
    second.write(b"def\n")
    second.write(b"next\n")
    second.close()
    assert path.read_bytes() == b"2026-11-26T02:35:57.123Z abcdef\n2026-11-26T02:35:58.123Z next\n"


def test_a_label_marks_every_line_of_a_job_run(tmp_path: Path) -> None:
    path = tmp_path / "backup.log"
    log = writer(path)
    log.note(b"started", b"#7 ")
    log.write(b"one\ntw", b"#7 ")
    log.write(b"o\n", b"#7 ")  # a partial line of the same run goes on
    log.close()
    assert path.read_bytes() == ("2026-11-26T02:35:57.123Z #7 ── started\n".encode()
                                 + b"2026-11-26T02:35:58.123Z #7 one\n2026-11-26T02:35:58.123Z #7 two\n")


def test_lines_of_overlapping_runs_never_run_together(tmp_path: Path) -> None:
    path = tmp_path / "backup.log"
    log = writer(path)
    log.write(b"half of run 7's", b"#7 ")
    log.write(b"run 8\n", b"#8 ")  # another run writes while run 7's line is unfinished: the line is ended
    log.write(b" line\n", b"#7 ")
    log.close()
    assert path.read_bytes().split(b"\n") == [
        b"2026-11-26T02:35:57.123Z #7 half of run 7's", b"2026-11-26T02:35:58.123Z #8 run 8",
        b"2026-11-26T02:35:59.123Z #7  line", b""]


def test_a_new_writer_continues_a_labelled_line_and_ends_another_s(tmp_path: Path) -> None:
    path = tmp_path / "backup.log"
    first = writer(path)
    first.write(b"abc", b"#7 ")
    first.close()  # the reconciler was killed mid-line
    second = writer(path)
    second.write(b"def\n", b"#7 ")  # the adopted run 7 goes on with its line
    second.write(b"x", b"#7 ")
    second.note(b"ended", b"#7 ")  # a note always starts a line of its own
    second.close()
    assert path.read_bytes() == (b"2026-11-26T02:35:57.123Z #7 abcdef\n2026-11-26T02:35:58.123Z #7 x\n"
                                 + "2026-11-26T02:35:59.123Z #7 ── ended\n".encode())


def test_a_writer_shared_by_two_runs_closes_the_file_with_the_last(tmp_path: Path) -> None:
    log = writer(tmp_path / "backup.log")
    log.open_count += 1  # a second run's capture uses it too
    log.close()
    log.write(b"still open\n", b"#8 ")
    log.close()
    with pytest.raises(OSError):
        log.append(b"closed\n")


def test_invalid_utf8_passes_through_unchanged_and_only_a_newline_ends_a_line(tmp_path: Path) -> None:
    path = tmp_path / "web.log"
    log = writer(path)
    log.write(b"\xff\xfe\xc3(\n")
    log.write("a\rb\x0bc\x0cd\x1ce\x85f\u2028g\u2029h\n".encode())
    log.close()
    assert path.read_bytes() == (b"2026-11-26T02:35:57.123Z \xff\xfe\xc3(\n"
                                 + "2026-11-26T02:35:58.123Z a\rb\x0bc\x0cd\x1ce\x85f\u2028g\u2029h\n".encode())


def test_a_line_longer_than_the_cap_goes_on_in_continued_lines(tmp_path: Path) -> None:
    path = tmp_path / "web.log"
    log = writer(path)
    log.write(b"z" * 1000)
    log.write(b"z" * (LINE_MAX * 2) + b"\n")  # a progress bar that never ends its line
    log.write(b"after\n")
    log.close()
    lines = path.read_bytes().split(b"\n")
    assert [len(line) for line in lines] == [25 + LINE_MAX, 25 + 4 + LINE_MAX, 25 + 4 + 1000, 25 + 5, 0]
    assert lines[1].startswith(b"2026-11-26T02:35:58.123Z " + CONTINUED + b"zzz")
    assert lines[3] == b"2026-11-26T02:35:59.123Z after"


def test_a_line_exactly_at_the_cap_ends_where_its_newline_is(tmp_path: Path) -> None:
    path = tmp_path / "web.log"
    log = writer(path)
    log.write(b"y" * LINE_MAX)
    log.write(b"\nnext\n")
    log.close()
    assert path.read_bytes() == (b"2026-11-26T02:35:57.123Z " + b"y" * LINE_MAX + b"\n"
                                 b"2026-11-26T02:35:58.123Z next\n")


@pytest.mark.parametrize("start", ["──", "─", "↪ x", "\\", "\\── ok"])
def test_a_child_line_that_could_pass_for_one_of_ours_is_escaped(tmp_path: Path, start: str) -> None:
    path = tmp_path / "job.log"
    log = writer(path)
    log.note(b"started", b"#7 ")
    log.write(f"{start} succeeded (exited 0) after 1s\nplain\n".encode(), b"#7 ")
    log.note(b"succeeded (exited 0) after 1s", b"#7 ")
    log.close()
    lines = path.read_bytes().decode().splitlines()
    assert lines[1] == f"2026-11-26T02:35:58.123Z #7 \\{start} succeeded (exited 0) after 1s"
    assert lines[2] == "2026-11-26T02:35:58.123Z #7 plain"
    assert lines[3] == "2026-11-26T02:35:59.123Z #7 ── succeeded (exited 0) after 1s"


def test_a_reserved_start_split_over_two_chunks_is_escaped_too(tmp_path: Path) -> None:
    path = tmp_path / "job.log"
    log = writer(path)
    log.write(b"ok\n\xe2")  # the first byte of "─", the rest comes later
    log.write("\u2500\u2500 exited 0\n".encode()[1:])
    log.close()
    assert path.read_bytes().decode().splitlines()[1] == "2026-11-26T02:35:57.123Z \\── exited 0"


def test_rotation_keeps_keep_files_and_drops_the_oldest(tmp_path: Path) -> None:
    path = tmp_path / "web.log"
    log = writer(path, max_size=100, keep=2)
    for i in range(20):
        log.write(b"%02d %s\n" % (i, b"x" * 40))  # 25-byte stamp + 44 bytes: two lines fill a file
    log.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["web.log", "web.log.1", "web.log.2"]
    texts = [
        [line[25:28] for line in (tmp_path / name).read_bytes().splitlines()]
        for name in ("web.log.2", "web.log.1", "web.log")
    ]
    assert texts == [[b"14 ", b"15 "], [b"16 ", b"17 "], [b"18 ", b"19 "]]


def test_rotation_cuts_a_line_being_written_and_continues_it_in_the_new_file(tmp_path: Path) -> None:
    path = tmp_path / "web.log"
    log = writer(path, max_size=30, keep=2)
    log.write(b"a" * 40)
    log.write(b"b" * 40)  # a line without end: rotated all the same, so max_size holds
    log.write(b"\nnext\n")
    log.close()
    assert (tmp_path / "web.log.2").read_bytes() == b"2026-11-26T02:35:57.123Z " + b"a" * 40 + b"\n"
    assert (tmp_path / "web.log.1").read_bytes() == b"2026-11-26T02:35:58.123Z " + CONTINUED + b"b" * 40 + b"\n"
    assert path.read_bytes() == b"2026-11-26T02:35:59.123Z next\n"


@pytest.mark.timeout(20)
def test_rotation_costs_the_same_whatever_keep_says(tmp_path: Path) -> None:
    log = writer(tmp_path / "web.log", max_size=1, keep=100_000_000)
    for i in range(50):
        log.write(b"line %d\n" % i)
    log.close()
    assert len(list(tmp_path.iterdir())) == 50
    assert (tmp_path / "web.log.49").read_bytes().endswith(b" line 0\n")


def test_keep_zero_keeps_no_old_files(tmp_path: Path) -> None:
    log = writer(tmp_path / "web.log", max_size=10, keep=0)
    for i in range(5):
        log.write(b"line %d\n" % i)
    log.close()
    assert [p.name for p in tmp_path.iterdir()] == ["web.log"]
    assert (tmp_path / "web.log").read_bytes().endswith(b"line 4\n")


@pytest.mark.parametrize("how", ["removed", "renamed"])
def test_a_log_removed_or_renamed_by_others_is_recreated(tmp_path: Path, how: str) -> None:
    path = tmp_path / "web.log"
    log = writer(path)
    log.write(b"before\n")
    if how == "removed":
        path.unlink()
    else:
        path.rename(tmp_path / "web.log.old")
    log.write(b"after\n")
    log.close()
    assert path.read_bytes() == b"2026-11-26T02:35:58.123Z after\n"


def test_a_log_truncated_in_place_is_followed(tmp_path: Path) -> None:
    path = tmp_path / "web.log"
    log = writer(path)
    log.write(b"before\n")
    path.write_bytes(b"")  # copytruncate
    log.write(b"after\n")
    assert log.size == len(path.read_bytes())
    log.close()
    assert path.read_bytes() == b"2026-11-26T02:35:58.123Z after\n"


def test_truncate_restores_the_mid_line_state(tmp_path: Path) -> None:
    path = tmp_path / "web.log"
    log = writer(path)
    log.write(b"one\n")
    size = log.size
    log.write(b"two")
    assert log.mid_line
    log.truncate(size)
    assert not log.mid_line
    log.write(b"three\n")
    log.close()
    assert path.read_bytes() == b"2026-11-26T02:35:57.123Z one\n2026-11-26T02:35:59.123Z three\n"
