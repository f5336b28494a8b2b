"""Writing launchd property lists (launchd.plist(5)), the one home of it: `sentinel service install` and `sentinel
export --format launchd` both build a mapping of documented keys and render it here with plistlib (XML)."""

from __future__ import annotations

import plistlib
from collections.abc import Mapping
from typing import Any
from xml.parsers.expat import ExpatError


def render_plist(job: Mapping[str, Any]) -> bytes:
    """The property list of one launchd job, as XML, keys in the order given."""
    return plistlib.dumps(dict(job), fmt=plistlib.FMT_XML, sort_keys=False)


def read_plist(data: bytes) -> dict[str, Any] | None:
    """A property list's top-level dictionary; None when `data` is not one."""
    try:
        loaded = plistlib.loads(data)
    except (plistlib.InvalidFileException, ExpatError, ValueError, TypeError, KeyError, IndexError):
        return None
    return loaded if isinstance(loaded, dict) else None
