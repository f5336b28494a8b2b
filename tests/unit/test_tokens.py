"""Token files (sentinel/tokens.py, docs/security.md#the-tcp-api): made owner-only and never through a link,
refused when unsafe, rotated atomically, followed by a running reconciler; and the TCP middleware that checks
them for HTTP and WebSocket scopes alike."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest

from sentinel import tokens
from sentinel.api.tcp import TcpAccess, Tokens
from sentinel.errors import TokenFileError
from sentinel.tokens import TokenFile


def test_a_missing_token_file_is_made_owner_only_with_its_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "token"
    token, created = tokens.ensure_token(path)
    assert created and len(token) == 43
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == stat.S_IMODE((tmp_path / "a" / "b").stat().st_mode) == 0o700
    assert tokens.ensure_token(path) == (token, False)


def test_a_token_file_is_never_made_through_a_link(tmp_path: Path) -> None:
    (tmp_path / "token").symlink_to(tmp_path / "target")  # dangling: O_EXCL|O_NOFOLLOW will not follow it
    with pytest.raises(TokenFileError, match="is a symbolic link"):
        tokens.ensure_token(tmp_path / "token")
    assert not (tmp_path / "target").exists()


def test_a_token_of_two_words_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("two words\n")
    os.chmod(path, 0o600)
    with pytest.raises(TokenFileError, match="more than one word"):
        tokens.read_token(path)


def test_rotation_replaces_the_file_and_the_follower_sees_it(tmp_path: Path) -> None:
    path = tmp_path / "token"
    old, _ = tokens.ensure_token(path)
    follower = TokenFile(path)
    assert follower.current() == old
    new = tokens.rotate(path)
    assert new != old and follower.current() == new
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["token"]  # no temporary file left
    path.unlink()
    assert follower.current() is None and follower.problem is not None


def test_rotation_refuses_what_is_not_a_file(tmp_path: Path) -> None:
    (tmp_path / "token").mkdir()
    with pytest.raises(TokenFileError, match="is not a regular file"):
        tokens.rotate(tmp_path / "token")


def _call(app: TcpAccess, scope: dict[str, Any]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    asyncio.run(app(scope, receive, send))
    return sent


async def _accepting(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "websocket.accept"})


@pytest.mark.parametrize(("offered", "accepted"), [(None, False), ("wrong", False), ("full", True), ("read", True)])
def test_a_websocket_needs_a_token_and_the_read_token_is_enough(tmp_path: Path, offered: str | None,
                                                               accepted: bool) -> None:
    full, _ = tokens.ensure_token(tmp_path / "full")
    read, _ = tokens.ensure_token(tmp_path / "read")
    app = TcpAccess(_accepting, Tokens(TokenFile(tmp_path / "full"), TokenFile(tmp_path / "read")))
    given = {"full": full, "read": read}.get(offered or "", offered)
    headers = [(b"authorization", f"Bearer {given}".encode())] if given else []
    sent = _call(app, {"type": "websocket", "path": "/v1/events", "headers": headers, "client": ("127.0.0.1", 5)})
    if accepted:
        assert sent == [{"type": "websocket.accept"}]
    else:
        assert sent == [{"type": "websocket.close", "code": 1008, "reason": "a valid token is needed: "
                                                                         "Authorization: Bearer TOKEN"}]
