"""Which processes run on which host: `hosts:` selectors, the host they are matched against, and the one
function that selects a host's part of a config (README.md#hosts-selectors). Pure.

A selector is a list of items, and matches a host when ANY item does:
- `web-*`, `db-1`, `db-[12]`: an fnmatch-style glob (`*`, `?`, `[abc]`, `[!abc]`) on the hostname,
  case-insensitive (hostnames are);
- `role=web`, `zone=eu-*`: the host has label `role`, and its value matches the glob (case-sensitive).

A process whose own `hosts:` or whose group's `hosts:` does not match is not part of the host's desired
state, as if the file did not declare it. A host is a hostname (this machine's, or `up --hostname`) and
the labels given with `up --label KEY=VALUE`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sentinel.config.models import Config

HOSTNAME_MAX = 253  # a DNS name
LABEL_MAX = 63  # a label's key and its value, each (as a DNS label, or a Kubernetes label value)
SELECTOR_ITEMS_MAX = 100  # items in one `hosts:` list
LABELS_MAX = 64  # `--label` options given to one reconciler

HOSTNAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]*"
LABEL_KEY_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]*"
LABEL_VALUE_PATTERN = r"[A-Za-z0-9._-]+"
_GLOB_CHARS = r"*?\[\]!"
_HOST_GLOB = re.compile(rf"[A-Za-z0-9._{_GLOB_CHARS}-]+")
_VALUE_GLOB = re.compile(rf"[A-Za-z0-9._{_GLOB_CHARS}-]+")


@dataclass(frozen=True, slots=True)
class Host:
    """Who a reconciler is for `hosts:` selectors: its hostname and its labels."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        """'web-1', or 'web-1 (role=web, zone=eu)'."""
        if not self.labels:
            return self.name
        return f"{self.name} ({', '.join(f'{key}={value}' for key, value in sorted(self.labels.items()))})"


def check_hostname(text: str) -> str:
    """A hostname given on the command line (`--hostname`, `--host`); ValueError says what is wrong."""
    if not text or len(text) > HOSTNAME_MAX:
        raise ValueError(f"a hostname has 1 to {HOSTNAME_MAX} characters")
    if not re.fullmatch(HOSTNAME_PATTERN, text):
        raise ValueError(f"'{text}' is not a hostname: letters, digits, '.', '_' and '-', starting with a letter "
                         "or digit")
    return text


def parse_label(text: str) -> tuple[str, str]:
    """`KEY=VALUE` given with `--label` as (key, value); ValueError says what is wrong."""
    key, equals, value = text.partition("=")
    if not equals:
        raise ValueError(f"'{text}' is not KEY=VALUE (e.g. role=web)")
    _check_label_key(key)
    if not value or len(value) > LABEL_MAX or not re.fullmatch(LABEL_VALUE_PATTERN, value):
        raise ValueError(f"label value '{value}' must have 1 to {LABEL_MAX} letters, digits, '.', '_' or '-'")
    return key, value


def host_of(name: str, labels: Sequence[str]) -> Host:
    """The host named `name` with the `KEY=VALUE` labels given (a key given twice: the last wins); ValueError."""
    if len(labels) > LABELS_MAX:
        raise ValueError(f"at most {LABELS_MAX} labels")
    return Host(check_hostname(name), dict(parse_label(text) for text in labels))


def host_json(host: Host) -> str:
    """The host as the state directory keeps it (`host.json`), read back by `host_from_json`."""
    return json.dumps({"hostname": host.name, "labels": dict(sorted(host.labels.items()))}) + "\n"


def host_from_json(text: str) -> Host:
    """A host kept by `host_json`; ValueError when the text is not one (edited, cut short)."""
    try:
        data = json.loads(text)
        labels = data["labels"]
        return host_of(data["hostname"], tuple(f"{key}={value}" for key, value in labels.items()))
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise ValueError(f"is not a hostname and labels: {err}") from None


def check_selector_item(item: str) -> str:
    """One item of a `hosts:` list: a hostname glob, or `KEY=GLOB` on a label; ValueError says what is wrong."""
    if "=" in item:
        key, _, value = item.partition("=")
        _check_label_key(key)
        if not value or len(value) > LABEL_MAX or not _VALUE_GLOB.fullmatch(value):
            raise ValueError(f"label pattern '{value}' must have 1 to {LABEL_MAX} letters, digits, '.', '_', '-' "
                             "or glob characters (* ? [...])")
        _check_brackets(value)
        return item
    if not item or len(item) > HOSTNAME_MAX or not _HOST_GLOB.fullmatch(item):
        raise ValueError(f"'{item}' is not a hostname pattern: 1 to {HOSTNAME_MAX} letters, digits, '.', '_', '-' "
                         "or glob characters (* ? [...]), or KEY=VALUE for a label")
    _check_brackets(item)
    return item


def _check_label_key(key: str) -> None:
    if not key or len(key) > LABEL_MAX or not re.fullmatch(LABEL_KEY_PATTERN, key):
        raise ValueError(f"label key '{key}' must have 1 to {LABEL_MAX} letters, digits, '.', '_' or '-', "
                         "starting with a letter or digit")


def _check_brackets(glob: str) -> None:
    """Every `[` closed by a `]` with something in between, and no `]` alone (fnmatch would read them as
    plain characters, which no hostname or label holds: the item could never match)."""
    at = 0
    while at < len(glob):
        char = glob[at]
        if char == "]":
            raise ValueError(f"'{glob}': ']' without '['")
        if char == "[":
            start = at + 2 if glob[at + 1:at + 2] == "!" else at + 1
            end = glob.find("]", start + 1)  # `[]]` is not supported: `]` cannot be in a hostname anyway
            if end < 0 or "[" in glob[start:end] or glob[start:start + 1] == "]":
                raise ValueError(f"'{glob}': '[' without a matching ']', or with nothing between them")
            at = end
        at += 1


def on_host(selector: Sequence[str] | None, host: Host) -> bool:
    """Whether a `hosts:` list (None: no list, everywhere) matches `host`: any of its items."""
    if selector is None:
        return True
    return any(_item_matches(item, host) for item in selector)


def _item_matches(item: str, host: Host) -> bool:
    key, equals, pattern = item.partition("=")
    if equals:
        value = host.labels.get(key)
        return value is not None and fnmatchcase(value, pattern)
    return fnmatchcase(host.name.lower(), item.lower())


@dataclass(frozen=True, slots=True)
class Selected:
    """A config cut to one host: what it runs, and which processes of the file are left out."""

    config: Config
    left_out: tuple[str, ...]
    issues: tuple[tuple[tuple[str, ...], str], ...]  # (key path, message): dependencies left behind


def select(config: Config, host: Host) -> Selected:
    """The part of `config` that `host` runs: the processes whose `hosts:` and whose group's `hosts:` match
    (groups that do not match are left out too). A selected process that depends on one left out is an
    issue, at its `depends_on` entry."""
    groups = {name: group for name, group in config.groups.items() if on_host(group.hosts, host)}
    kept = {name: process for name, process in config.processes.items()
            if on_host(process.hosts, host) and (process.group is None or process.group in groups
                                                 or process.group not in config.groups)}
    issues = tuple(
        (("processes", name, "depends_on", dependency),
         f"'{dependency}' does not run on host {host.describe()} (its hosts: or its group's leave it out)")
        for name, process in sorted(kept.items()) for dependency in sorted(process.depends_on)
        if dependency in config.processes and dependency not in kept
    )
    left_out = tuple(sorted(config.processes.keys() - kept.keys()))
    return Selected(config.model_copy(update={"processes": kept, "groups": groups}), left_out, issues)
