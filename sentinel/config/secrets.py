"""Which environment variables hold secrets, and how they are shown: `***` (DESIGN §8).

Pure; used wherever env values reach a user (`sentinel config`, later status, diff,
events and the API).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sentinel.config.models import Config

MASK = "***"
SECRET_MARKERS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL")


def is_secret(name: str) -> bool:
    """True when the variable's name looks like it holds a secret (`*TOKEN*`, `*KEY*`, …)."""
    upper = name.upper()
    return any(marker in upper for marker in SECRET_MARKERS)


def masked(env: Mapping[str, str]) -> dict[str, str]:
    """A copy of `env` with the values of secret-looking names replaced by `***`."""
    return {name: MASK if is_secret(name) else value for name, value in env.items()}


def masked_config(config: Config) -> dict[str, Any]:
    """The config as JSON-ready data, without defaults, with secret-looking env values masked."""
    dumped: dict[str, Any] = config.model_dump(mode="json", exclude_defaults=True)
    for process in dumped.get("processes", {}).values():
        if "env" in process:
            process["env"] = masked(process["env"])
    return dumped
