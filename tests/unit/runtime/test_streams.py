"""The live streams' queues (`sentinel.runtime.streams`): bounded per reader, fed only while followed, whole lines."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import cast

import pytest

from sentinel.runtime.streams import MAX_BEHIND_BYTES, Dropped, Fanout, LogLines, Reader

STAMP = b"2026-11-26T02:35:57.123Z "


def _render(log_lines: LogLines, stream: str | None) -> Callable[[str, object], list[str]]:
    return lambda topic, lines: log_lines.messages(cast(bytes, lines), stream)


def _drain(reader: Reader) -> list[str]:
    async def take() -> list[str]:
        got: list[str] = []
        while True:
            try:
                got.append(await asyncio.wait_for(reader.get(), 0.01))
            except TimeoutError:
                return got
    return asyncio.run(take())


def test_lines_are_published_whole_and_the_line_a_reader_came_in_on_is_left_out() -> None:
    log_lines = LogLines(redact=lambda text: text.replace("s3cret", "***"))
    tap = log_lines.tap("web")
    reader = log_lines.fanout.subscribe(lambda topic: topic == "web",
                                        _render(log_lines, "output"))
    tap(b"end of a line written before\n" + STAMP + b"one s3cret\n" + STAMP + b"tw")
    tap(b"o\n" + STAMP + b"\\\xe2\x94\x80 escaped\n" + STAMP + "── ours\n".encode())
    tap(b"no newline yet")
    texts = [json.loads(text)["text"] for text in _drain(reader)]
    assert texts == ["one ***", "two", "\\─ escaped"]  # `stream=output`: the reconciler's own line is left out


def test_a_log_nobody_follows_costs_nothing_and_is_followed_again_from_a_whole_line() -> None:
    log_lines = LogLines()
    tap = log_lines.tap("web")
    tap(STAMP + b"before anyone\n")
    reader = log_lines.fanout.subscribe(lambda topic: topic == "other", lambda topic, lines: [])
    tap(STAMP + b"unfollowed, half")
    assert log_lines.fanout.followed("web") is False and not log_lines._partial
    log_lines.fanout.unsubscribe(reader)
    log_lines.fanout.unsubscribe(reader)  # twice: no harm
    assert not log_lines.fanout.active


def test_following_starts_with_the_line_being_written(tmp_path: Path) -> None:
    log = tmp_path / "web.log"
    log.write_bytes(STAMP + b"done\n" + STAMP + b"half ")
    log_lines = LogLines()
    reader = log_lines.fanout.subscribe(lambda topic: True, _render(log_lines, None))
    log_lines.follow("web", log)
    log_lines.follow("gone", tmp_path / "gone.log")
    log_lines.tap("web")(b"a line\n")
    assert [json.loads(text)["text"] for text in _drain(reader)] == ["half a line"]


def test_a_reader_that_falls_behind_is_dropped_its_queue_freed_and_told_how_far() -> None:
    fanout = Fanout()
    slow = fanout.subscribe(lambda topic: True, lambda topic, data: [str(data)])
    fast = fanout.subscribe(lambda topic: True, lambda topic, data: [])
    piece = MAX_BEHIND_BYTES // 4
    for number in range(4):
        fanout.publish("t", number, piece, messages=10)
    assert _drain(fast) == [] and slow.dropped is None
    fanout.publish("t", 4, piece, messages=10)
    assert slow.dropped is not None and slow.dropped.behind == 50
    assert str(slow.dropped) == "too slow: fell 50 messages behind"
    assert fanout.active and fanout.followed("t")  # `fast` stays
    fanout.publish("t", 5, 1)
    with pytest.raises(Dropped):
        asyncio.run(slow.get())
    assert asyncio.run(slow.wait_dropped()) is slow.dropped
    slow.put("t", 6, 1, 1)  # a dropped reader takes nothing more
