"""Which values are secret, and how they are shown: `***` (docs/reliability.md#rules).

Two kinds of secret: env values whose names look secret (`*TOKEN*`, `*KEY*`, …), masked by
name; and every value `${VAR}` took from an `env_file` or from a secret-looking variable,
tracked through interpolation (`TrackedVariables`) to the strings that hold it, and masked
there by value: in error messages, `sentinel config`, the API, state.db and events. Pure; used
by `sentinel.config.localize` (tracking) and wherever config data reaches a user (masking).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sentinel.config.keypath import join

if TYPE_CHECKING:
    from sentinel.config.models import Config

MASK = "***"
SECRET_MARKERS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL")
EVENT_MASK_MIN = 4  # a secret is masked in any event text from this length on (shorter ones: where they landed)

Tainted = Mapping[str, frozenset[str]]  # dotted key path of a config string → the secret values in it


def is_secret(name: str) -> bool:
    """True when the variable's name looks like it holds a secret (`*TOKEN*`, `*KEY*`, …)."""
    upper = name.upper()
    return any(marker in upper for marker in SECRET_MARKERS)


def masked(env: Mapping[str, str]) -> dict[str, str]:
    """A copy of `env` with the values of secret-looking names replaced by `***`."""
    return {name: MASK if is_secret(name) else value for name, value in env.items()}


def redact(text: str, secrets: Collection[str]) -> str:
    """`text` with every occurrence of each secret value replaced by `***` (longest values first)."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def masked_tree(data: Any, tainted: Tainted, path: str = "") -> Any:
    """JSON-ready config data with the secret values masked in the strings that took them in.

    Only the branches that lead to such a string are walked (and copied); the rest is returned as is.
    """
    if not any(tainted_path.startswith(path) for tainted_path in tainted):
        return data
    if isinstance(data, dict):
        return {key: masked_tree(value, tainted, join(path, key)) for key, value in data.items()}
    if isinstance(data, list):
        return [masked_tree(item, tainted, join(path, index)) for index, item in enumerate(data)]
    if isinstance(data, str) and path in tainted:
        return redact(data, tainted[path])
    return data


def masked_url(url: str) -> str:
    """A webhook URL as it may be shown: scheme, host and port; a path, query or user part (where webhooks keep
    their tokens, as Slack's do) becomes `***`."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = parts.hostname or ""
    shown = f"{parts.scheme}://{'[' + host + ']' if ':' in host else host}{f':{port}' if port else ''}"
    hidden = parts.username is not None or parts.path.strip("/") or parts.query or parts.fragment
    return f"{shown}/{MASK}" if hidden else shown


def mask_dumped(dumped: dict[str, Any]) -> dict[str, Any]:
    """Dumped config data (`model_dump(mode="json")`) with the values secret by their place masked in it: the env
    values of secret-looking names, and the notify URLs."""
    for process in dumped.get("processes", {}).values():
        if "env" in process:
            process["env"] = masked(process["env"])
    for target in dumped.get("notify", []):
        if "url" in target:
            target["url"] = masked_url(target["url"])
    source = dumped.get("source")
    if isinstance(source, dict) and isinstance(source.get("git"), str):
        source["git"] = mask_credentials(source["git"])  # a token in the repository's URL (docs/gitops.md)
    return dumped


def masked_config(config: Config, tainted: Tainted | None = None) -> dict[str, Any]:
    """The config as JSON-ready data, without defaults, with secrets masked (by name and by value)."""
    return mask_dumped(masked_tree(config.model_dump(mode="json", exclude_defaults=True), tainted or {}))


def all_secrets(tainted: Tainted, *, min_length: int = 1) -> frozenset[str]:
    """Every secret value that reached the config, of at least `min_length` characters."""
    return frozenset(value for values in tainted.values() for value in values if len(value) >= min_length)


def named_secret_values(envs: Iterable[Mapping[str, str]], *, min_length: int = 1) -> frozenset[str]:
    """The values of the secret-looking variables (`is_secret`) of `envs`, of at least `min_length` characters."""
    return frozenset(value for env in envs for name, value in env.items()
                     if is_secret(name) and len(value) >= min_length)


class TrackedVariables(Mapping[str, str]):
    """The variables `${VAR}` reads, noting the secret values each interpolated string takes in.

    `is_secret_name` says which names hold secrets. After a string is interpolated, `taken(path)`
    files what it took under its key path in `tainted` (shared across a whole load).
    """

    def __init__(self, values: Mapping[str, str], is_secret_name: Callable[[str], bool],
                 tainted: dict[str, frozenset[str]]) -> None:
        self._values = dict(values)
        self._is_secret_name = is_secret_name
        self._taken: set[str] = set()
        self.tainted = tainted

    def __getitem__(self, name: str) -> str:
        value = self._values[name]
        if value and self._is_secret_name(name):
            self._taken.add(value)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def taken(self, path: str) -> None:
        if self._taken:
            self.tainted[path] = self.tainted.get(path, frozenset()) | self._taken
            self._taken = set()


_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")


def mask_credentials(text: str, url: str | None = None) -> str:
    """`text` with every `user:password@` of a URL masked (`https://***@host/…`), and the user info of `url`
    masked wherever else it appears (git quotes URLs in its messages): a credential is never printed."""
    if url is not None:
        found = _CREDENTIALS.search(url)
        if found is not None:
            userinfo = found.group("userinfo")
            text = text.replace(userinfo + "@", MASK + "@")
    return _CREDENTIALS.sub(lambda match: f"{match.group('scheme')}{MASK}@", text)
