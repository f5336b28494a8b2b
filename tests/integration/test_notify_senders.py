"""The notification senders without a reconciler (sentinel/controller/notify.py, sentinel/webhook.py): a full queue
drops its oldest, a secret that cannot be read fails the target (said once), a delivery after failures is said,
and what `post` answers for a refused connection, a TLS mismatch and a query string. Real servers, real files."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path

import pytest

from sentinel.config.models import NotifyTarget
from sentinel.controller.counters import Counters
from sentinel.controller.notify import QUEUE_MAX, Notifier
from sentinel.errors import SentinelError
from sentinel.webhook import SECRET_MAX_BYTES, post, read_secret
from tests.support.wait import wait_for_async
from tests.support.webhooks import receivers

AT = "2026-12-06T10:00:00.000Z"


def _failed(notifier: Notifier, process: str) -> None:
    notifier.offer("failed", process=process, name=process, group=None, reason=f"{process} exited 1", exit_code=1,
                   at=AT)


def test_a_full_queue_drops_its_oldest_and_a_target_that_cannot_sign_fails_once_per_burst(tmp_path: Path) -> None:
    asyncio.run(_full_queue_and_unsigned(tmp_path))


async def _full_queue_and_unsigned(tmp_path: Path) -> None:
    config = tmp_path / "sentinel.yaml"
    counters = Counters()
    said: list[tuple[str, str]] = []

    def outcomes(label: str) -> int:
        return sum(count for (target, _), count in counters.notifications.items() if target == label)

    notifier = Notifier(counters=counters, monotonic=time.monotonic)
    with receivers("hang", "ok") as (hanging, good):
        targets = [NotifyTarget(url=hanging.url, timeout=30.0, retry_for=0.0),
                   NotifyTarget(name="signed", url=good.url, secret_file="key", retry_for=0.0)]
        notifier.configure(targets, str(config), lambda kind, message: said.append((kind, message)))
        try:
            _failed(notifier, "first")
            await wait_for_async(lambda: len(hanging.received) == 1)  # held there: the rest waits in the queue
            for number in range(QUEUE_MAX + 2):
                _failed(notifier, f"p{number}")
            assert counters.notifications[("notify[0]", "dropped")] == 2
            await wait_for_async(lambda: outcomes("signed") == QUEUE_MAX + 3)
            assert good.received == []
            assert [kind for kind, _ in said] == ["notify_failed"]  # once for the burst, through the loop
            assert "signed (http://127.0.0.1:" in said[0][1] and "cannot sign: secret_file 'key'" in said[0][1]
            # The secret file appears; the same config applied again takes it: the next one is signed, and said.
            (tmp_path / "key").write_text("k\n")
            notifier.configure(targets, str(config), lambda kind, message: said.append((kind, message)))
            _failed(notifier, "again")
            await wait_for_async(lambda: len(good.received) == 1 and len(said) == 2)
            assert good.received[0].headers["X-Sentinel-Signature"].startswith("sha256=")
            kind, message = said[1]
            assert kind == "notify_delivered" and message.startswith("notifications to signed (http://127.0.0.1:")
            assert message.endswith(f"/***) delivered again after {counters.notifications[('signed', 'failed')]} "
                                    "failed")
            assert json.loads(good.received[0].body)["process"] == "again"
        finally:
            notifier.close()


def test_post_answers_without_raising() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, not listening: refused
        assert str(post(f"http://127.0.0.1:{port}/x", b"{}", {}, timeout=2.0)) == "connection refused"
    with receivers("ok", path="/hook?token=abc") as (good,):
        answer = post(good.url, b"{}", {}, timeout=2.0)
        assert answer.ok and str(answer) == "HTTP 200: ok"
        assert good.received[0].path == "/hook?token=abc"
        tls = post(good.url.replace("http://", "https://"), b"{}", {}, timeout=2.0)
        assert tls.status is None and tls.text.startswith("TLS failed")


def test_read_secret_refuses_an_empty_or_oversized_file(tmp_path: Path) -> None:
    config = str(tmp_path / "sentinel.yaml")
    (tmp_path / "empty").write_text("\n")
    (tmp_path / "big").write_bytes(b"x" * (SECRET_MAX_BYTES + 1))
    (tmp_path / "ok").write_bytes(b"s3cret\r\n")
    assert read_secret("ok", config) == b"s3cret"
    with pytest.raises(SentinelError, match="'empty': is empty"):
        read_secret("empty", config)
    with pytest.raises(SentinelError, match=f"longer than {SECRET_MAX_BYTES} bytes"):
        read_secret("big", config)
