"""Live streams for API readers: each reader a bounded queue, fed where the data is produced.

A `Fanout` holds the readers of one kind of stream (the log lines of `Runtime`, the events of the
controller); `publish` queues a piece of data (a chunk of complete log lines, an event) for each reader
that follows its topic, as it is: a reader turns it into its messages (`render`: filtered, JSON-encoded)
only as it sends them. Nothing is kept, read or encoded while nobody reads (`active` is false: one check
at the source). A reader whose queue would pass `MAX_BEHIND_BYTES` is dropped at once, its queue freed,
so a reader that does not read never grows the reconciler's memory (docs/contract.md#logs-over-the-api); the
API closes its WebSocket saying how many messages behind it fell.

`LogLines` turns what a `LogWriter` appends (stamped lines, maybe cut mid-line) into chunks of complete
lines, per log name, while someone follows that log.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sentinel.loglines import STAMPED, line_message, unfinished_line
from sentinel.runtime.logfile import LINE_MAX

MAX_BEHIND_BYTES = 1024 * 1024  # of data a reader may have waiting (a chunk of output is at most 64 KiB)

Follows = Callable[[str], bool]  # topic → whether a reader takes its data
Render = Callable[[str, object], list[str]]  # (topic, data) → the messages a reader sends of it (maybe none)


class Dropped(Exception):
    """The reader fell too far behind and was dropped."""

    def __init__(self, behind: int) -> None:
        super().__init__(f"too slow: fell {behind} messages behind")
        self.behind = behind


@dataclass(frozen=True, slots=True)
class _Piece:
    topic: str
    data: object
    size: int  # bytes, counted against MAX_BEHIND_BYTES
    messages: int  # at most this many messages


class Reader:
    """One reader's queue: the pieces of the topics it `follows`, sent as the messages `render` makes of them."""

    def __init__(self, follows: Follows, render: Render) -> None:
        self.follows, self.render = follows, render
        self._pieces: deque[_Piece] = deque()
        self._bytes = 0
        self._messages = 0
        self._rendered: deque[str] = deque()
        self._ready = asyncio.Event()
        self.dropped: Dropped | None = None

    def put(self, topic: str, data: object, size: int, messages: int) -> None:
        if self.dropped is not None:
            return
        if self._bytes + size > MAX_BEHIND_BYTES:
            self.dropped = Dropped(self._messages + len(self._rendered) + messages)
            self._pieces.clear()
            self._rendered.clear()
            self._bytes = self._messages = 0
        else:
            self._pieces.append(_Piece(topic, data, size, messages))
            self._bytes += size
            self._messages += messages
        self._ready.set()

    async def get(self) -> str:
        """The next message, waiting for one; raises `Dropped` once the reader is dropped."""
        while not self._rendered:
            if self.dropped is not None:
                raise self.dropped
            if self._pieces:
                piece = self._pieces.popleft()
                self._bytes -= piece.size
                self._messages -= piece.messages
                self._rendered.extend(self.render(piece.topic, piece.data))
                continue
            self._ready.clear()
            await self._ready.wait()
        return self._rendered.popleft()

    async def wait_dropped(self) -> Dropped:
        """Returns once the reader is dropped (to close it even while a send to it is blocked)."""
        while self.dropped is None:
            self._ready.clear()
            await self._ready.wait()
        return self.dropped


class Fanout:
    """The readers of one kind of stream."""

    def __init__(self) -> None:
        self._readers: list[Reader] = []

    @property
    def active(self) -> bool:
        return bool(self._readers)

    def followed(self, topic: str) -> bool:
        return any(reader.follows(topic) for reader in self._readers)

    def subscribe(self, follows: Follows, render: Render) -> Reader:
        reader = Reader(follows, render)
        self._readers.append(reader)
        return reader

    def unsubscribe(self, reader: Reader) -> None:
        if reader in self._readers:
            self._readers.remove(reader)

    def publish(self, topic: str, data: object, size: int, messages: int = 1) -> None:
        """Queue `data` for each reader following `topic`; readers dropped for it leave."""
        for reader in list(self._readers):
            if reader.follows(topic):
                reader.put(topic, data, size, messages)
                if reader.dropped is not None:
                    self.unsubscribe(reader)


def json_message(data: object) -> str:
    return json.dumps(data, ensure_ascii=False)


class LogLines:
    """The lines appended to each log (by name), published to `fanout` in chunks while someone follows that log.

    `redact` masks the config's secrets in each line's text (the same masking as events)."""

    def __init__(self, redact: Callable[[str], str] = str) -> None:
        self.fanout = Fanout()
        self.redact = redact
        self._partial: dict[str, bytes] = {}  # log name → the end of its last chunk (a line not finished yet)

    def tap(self, name: str) -> Callable[[bytes], None]:
        """What a `LogWriter` of log `name` calls with each piece it appends."""

        def appended(data: bytes) -> None:
            if self.fanout.active and self.fanout.followed(name):
                self._appended(name, data)
            elif self._partial:
                self._partial.pop(name, None)  # followed again later: from its next whole line

        return appended

    def follow(self, name: str, path: Path) -> None:
        """A reader has just started following log `name` (file `path`) after reading its complete lines:
        its next lines start with the one being written, if not followed already."""
        if name not in self._partial:
            self._partial[name] = unfinished_line(path, LINE_MAX + 256)  # with the stamp, label and marks

    def messages(self, lines: bytes, stream: str | None) -> list[str]:
        """The messages of a chunk of complete lines (each ending in a newline), of `stream` only if given."""
        found = (line_message(raw.decode(errors="replace"), self.redact) for raw in lines.split(b"\n")[:-1])
        return [json_message(line) for line in found if stream is None or line["stream"] == stream]

    def _appended(self, name: str, data: bytes) -> None:
        pending = self._partial.pop(name, None)
        if pending is None and not STAMPED.match(data):  # the first piece since readers came, mid-line:
            cut = data.find(b"\n")                        # the end of that line is not sent
            if cut < 0:
                return
            data = data[cut + 1:]
        whole = (pending or b"") + data
        end = whole.rfind(b"\n") + 1
        if end:
            self.fanout.publish(name, whole[:end], end, whole.count(b"\n", 0, end))
        self._partial[name] = whole[end:]
