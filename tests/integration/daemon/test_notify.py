"""Webhook notifications end to end (README.md#notifications, docs/security.md#notifications): a real reconciler
notifying real HTTP servers started here — one that answers, one that fails (500), one that hangs, one that is
slow — and `sentinel notify test`."""

from __future__ import annotations

import hashlib
import hmac
import os
import signal
from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.support.daemon import Reconciler
from tests.support.unixhttp import raw_request
from tests.support.wait import wait_for
from tests.support.webhooks import Receiver, receivers

SECRET = b"hmac-key-for-the-test"
URL_TOKEN = "SECRETPATH"  # in every receiver's URL: it must never be printed


def _notifications(r: Reconciler) -> dict[tuple[str, str], float]:
    status, _, text = raw_request(r.state_dir.socket, "GET", "/metrics")
    assert status == 200
    assert URL_TOKEN not in text
    return {(sample.labels["target"], sample.labels["outcome"]): sample.value
            for family in text_string_to_metric_families(text) if family.name == "sentinel_notifications"
            for sample in family.samples if sample.name == "sentinel_notifications_total"}


def _events(received: Receiver) -> list[str]:
    return [request.json.get("event", request.json.get("text")) for request in received.received]


def test_notifications_reach_their_targets_signed_and_failing_targets_never_hold_up_supervision(
    make_reconciler: Callable[..., Reconciler], tmp_path: Path,
) -> None:
    (tmp_path / "hook.secret").write_bytes(SECRET + b"\n")
    with receivers("ok", "ok", "fail", "hang", "slow") as (good, chat, failing, hanging, slow):
        r = make_reconciler(f"""
processes:
  web:
    command: sleep 1000
  crashy:
    command: sh -c 'exit 3'
    restart: {{max_retries: 0}}
  quiet:
    command: sh -c 'exit 4'
    group: other
    restart: {{max_retries: 0}}
  flop:
    command: sh -c 'exit 2'
    schedule: manual
notify:
  - name: good
    url: {good.url}
    secret_file: hook.secret
    events: [failed, job_failed, config_applied]
    processes: [crashy, flop]
  - name: chat
    url: {chat.url}
    format: slack
    events: [failed]
    groups: [nothing]
    processes: [crashy]
  - name: failing
    url: {failing.url}
    events: [failed]
    retry_for: 1500ms
  - url: {hanging.url}
    events: [failed]
    timeout: 500ms
    retry_for: 0s
  - name: slow
    url: {slow.url}
    events: [failed]
    processes: [crashy]
""")
        r.start()
        pid = r.wait_state("web", "running")["pid"]
        r.wait_state("crashy", "failed")
        r.wait_state("quiet", "failed")
        # The hanging target holds a request now: supervision goes on as if nothing were notified.
        wait_for(lambda: len(hanging.received) >= 1)
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: r.row("web")["state"] == "running" and r.row("web")["pid"] not in (None, pid),
                 message=lambda: str(r.row("web")))
        assert r.cli("run", "flop").exit_code == 0

        # The good target: the events it asked for, of the processes it asked for, signed.
        wait_for(lambda: _events(good) == ["config_applied", "failed", "job_failed"],
                 message=lambda: str(_events(good)))
        applied, crashed, flopped = (request.json for request in good.received)
        assert applied["process"] is None and applied["revision"] is None
        assert crashed["process"] == "crashy" and crashed["exit_code"] == 3 and crashed["host"] == os.uname().nodename
        assert crashed["time"].endswith("Z") and crashed["reason"].startswith("crashy exited 3")
        assert flopped["process"] == "flop" and flopped["exit_code"] == 2
        for request in good.received:
            assert request.path.endswith(URL_TOKEN)
            expected = "sha256=" + hmac.new(SECRET, request.body, hashlib.sha256).hexdigest()
            assert request.headers["X-Sentinel-Signature"] == expected
        # Slack's shape, unsigned (no secret_file).
        wait_for(lambda: len(chat.received) == 1)
        slack = chat.received[0].json
        assert "crashy failed" in slack["text"] and slack["blocks"][0]["text"]["text"] == slack["text"]
        assert "X-Sentinel-Signature" not in chat.received[0].headers
        wait_for(lambda: len(slow.received) == 1)

        # The failing target: each notification tried twice (1 s apart, retry_for 1.5 s), then given up; said once.
        wait_for(lambda: _notifications(r).get(("failing", "failed")) == 2, message=lambda: str(_notifications(r)))
        assert len(failing.received) == 4
        counts = _notifications(r)
        assert counts[("failing", "retried")] == 2
        assert counts[("good", "delivered")] == 3 and counts[("slow", "delivered")] == 1
        wait_for(lambda: _notifications(r).get(("notify[3]", "failed")) == 2)
        events = r.cli("events").output
        assert events.count("notification to failing (http://127.0.0.1:") == 1
        assert "/***) failed: HTTP 500: internal trouble (tried 2 times)" in events
        assert events.count("notification to notify[3] (http://127.0.0.1:") == 1
        assert "/***) failed: no answer within 0.5s (tried once)" in events

        # `sentinel notify test`: one signed test notification, and what the server answered.
        tested = r.cli("notify", "test", "good", "-f", str(r.config))
        assert tested.exit_code == 0, tested.output
        assert "HTTP 200: ok" in tested.output
        wait_for(lambda: _events(good)[-1] == "test")
        refused = r.cli("notify", "test", "2", "-f", str(r.config))
        assert refused.exit_code == 1 and "HTTP 500: internal trouble" in refused.output

        # The URLs' tokens appear nowhere: events, status, the config shown, the reconciler's log, the CLI.
        shown = r.client.get("/v1/config")
        for text in (events, r.log, str(shown), tested.output, refused.output, r.cli("status").output):
            assert URL_TOKEN not in text
