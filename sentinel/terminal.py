"""Whether to colour what goes to a stream (README.md#colour): only a terminal, and never when `NO_COLOR` is set to
anything but the empty string (https://no-color.org) or `TERM` is `dumb`. The one rule, for the CLI's output
(`sentinel.cli.colour`) and the reconciler's console log (`sentinel.log`); the standard library only, so `status`
pays nothing for it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TextIO


def colour_wanted(stream: TextIO | None, environ: Mapping[str, str] = os.environ) -> bool:
    """True when `stream` is a terminal that may get colours."""
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    try:
        return stream is not None and stream.isatty()
    except ValueError:  # closed
        return False
