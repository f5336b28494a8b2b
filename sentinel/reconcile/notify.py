"""Notifications, decided (README.md#notifications): which event makes a notice, which targets it goes to, the
body each is sent, how it is signed, when a failed request is tried again, and what is said of a failing target.

Pure: events, the config and times come in, decisions go out; `sentinel.controller.notify` sends
them (a queue and a thread per target) and `sentinel notify test` sends one itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sentinel.config.models import NotifyTarget
from sentinel.config.secrets import masked_url

SIGNATURE_HEADER = "X-Sentinel-Signature"
RETRY_FIRST = 1.0  # seconds before the first retry; each next waits twice as long …
RETRY_MAX_DELAY = 60.0  # … up to this
# Events that say a process is in trouble; a notice of one makes the process `troubled` until it recovers.
TROUBLE = frozenset({"failed", "unhealthy", "backoff"})
# The event kinds (sentinel.controller.loop) that pass as notices under the same name, and those that are renamed.
SAME = TROUBLE | {"job_failed", "job_succeeded", "config_applied"}
RENAMED = {"config_invalid": "config_error"}
TEST = "test"  # the event of `sentinel notify test`: sent to the target named, whatever it filters
UNFILTERED = frozenset({"config_error", "config_applied", TEST})  # about no process: past every process filter


@dataclass(frozen=True, slots=True)
class Notice:
    """What one notification says. `at` is ISO 8601 (UTC); `process` is an instance (`web.1`) or None for
    config events; `name` and `group` are its config entry and group, for the targets' filters."""

    event: str
    process: str | None
    name: str | None
    group: str | None
    reason: str
    exit_code: int | None
    at: str


Troubled = Mapping[str, str]  # instance → the trouble it was last notified for (failed, unhealthy, backoff)


def notice_of(kind: str, *, process: str | None, name: str | None, group: str | None, reason: str,
              exit_code: int | None, at: str, troubled: Troubled) -> tuple[Notice | None, Troubled]:
    """The notice an event makes (None for most), and the instances in trouble after it.

    `failed`, `unhealthy` and `backoff` pass as they are and put the instance in trouble; `recovered` is
    made when an instance in trouble passes its health check again (`healthy`), or is started again after
    it was given up on (`failed`). An instance restarted from backoff is not "recovered": it may crash again at
    once, and each crash would make a pair of notices. A stop (or its removal from the file) ends its trouble.
    """
    def made(event: str) -> Notice:
        return Notice(event, process, name, group, reason, exit_code, at)

    trouble = troubled.get(process) if process is not None else None
    if kind in TROUBLE and process is not None:
        return made(kind), {**troubled, process: kind}
    if process is not None and trouble is not None:
        if kind == "healthy" or (kind in ("started", "restarted") and trouble == "failed"):
            return made("recovered"), _without(troubled, process)
        if kind in ("stopped", "forget"):
            return None, _without(troubled, process)
    if kind in SAME:
        return made(kind), troubled
    if kind in RENAMED:
        return made(RENAMED[kind]), troubled
    return None, troubled


def _without(troubled: Troubled, process: str) -> Troubled:
    return {instance: trouble for instance, trouble in troubled.items() if instance != process}


def deliveries(notice: Notice, targets: Sequence[NotifyTarget]) -> tuple[int, ...]:
    """The indexes of the targets that want `notice`: its event is one of theirs, and its process passes their
    filters (either list matches; no lists: every process). Config events pass every filter."""
    wanted = []
    for index, target in enumerate(targets):
        if notice.event not in target.events and notice.event != TEST:
            continue
        filtered = bool(target.processes or target.groups)
        if filtered and notice.event not in UNFILTERED and not (
                notice.name in target.processes or (notice.group is not None and notice.group in target.groups)):
            continue
        wanted.append(index)
    return tuple(wanted)


def target_label(index: int, target: NotifyTarget) -> str:
    """How a target is named in events, logs and metric labels: its `name`, else `notify[INDEX]`; never its URL."""
    return target.name or f"notify[{index}]"


def target_shown(index: int, target: NotifyTarget) -> str:
    """Its label with the URL's host (the rest of the URL masked): `alerts (https://hooks.slack.com/***)`."""
    return f"{target_label(index, target)} ({masked_url(target.url)})"


def payload(notice: Notice, *, host: str, revision: str | None) -> dict[str, Any]:
    """The JSON body (`format: json`)."""
    return {"event": notice.event, "process": notice.process, "group": notice.group, "reason": notice.reason,
            "exit_code": notice.exit_code, "host": host, "time": notice.at, "revision": revision}


def slack_payload(notice: Notice, *, host: str, revision: str | None) -> dict[str, Any]:
    """Slack's incoming-webhook shape (`format: slack`): a `text` (what notifications show) and a block."""
    subject = notice.process or "config"
    code = f" (exit code {notice.exit_code})" if notice.exit_code is not None else ""
    text = f"{_EMOJI.get(notice.event, ':bell:')} {host}: {subject} {notice.event}{code}: {notice.reason}"
    context = f"sentinel on {host} at {notice.at}" + (f", revision {revision}" if revision else "")
    return {"text": text, "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
    ]}


_EMOJI: Mapping[str, str] = {
    "failed": ":red_circle:", "unhealthy": ":large_orange_circle:", "backoff": ":large_yellow_circle:",
    "recovered": ":large_green_circle:", "job_failed": ":red_circle:", "job_succeeded": ":white_check_mark:",
    "config_error": ":warning:", "config_applied": ":gear:",
}


def body_of(notice: Notice, target: NotifyTarget, *, host: str, revision: str | None) -> bytes:
    """The bytes POSTed to `target` (and signed)."""
    shape = slack_payload if target.format == "slack" else payload
    return json.dumps(shape(notice, host=host, revision=revision), separators=(",", ":")).encode()


def signature(secret: bytes, body: bytes) -> str:
    """The `X-Sentinel-Signature` value: `sha256=` and the hex HMAC-SHA256 of the body under the secret."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def headers_for(body: bytes, secret: bytes | None) -> dict[str, str]:
    """The headers of a request: the signature when the target has a secret."""
    return {SIGNATURE_HEADER: signature(secret, body)} if secret is not None else {}


def next_attempt(*, attempts: int, first_at: float, now: float, retry_for: float) -> float | None:
    """When to try a notification again after its `attempts`-th failed try (the first at `first_at`), or None to
    give up: 1 s, 2 s, 4 s … (at most RETRY_MAX_DELAY) apart, never past `first_at + retry_for`."""
    delay = min(RETRY_FIRST * 2 ** min(attempts - 1, 32), RETRY_MAX_DELAY)
    at = now + delay
    return at if at <= first_at + retry_for else None


def burst_line(shown: str, *, failures_before: int, delivered: bool, why: str) -> tuple[str, str] | None:
    """The event (kind, message) a notification's outcome makes: the first failure of a burst, and the first
    delivery after one; None for the rest (they are counted in /metrics)."""
    if not delivered and failures_before == 0:
        return ("notify_failed", f"notification to {shown} failed: {why}; further failures are counted in "
                                 "/metrics (sentinel_notifications_total) until one is delivered")
    if delivered and failures_before > 0:
        return ("notify_delivered", f"notifications to {shown} delivered again after {failures_before} failed")
    return None
