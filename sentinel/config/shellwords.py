"""A command line split into arguments as a POSIX shell would: `shlex.split`, without its cost for plain commands.

shlex reads a command a character at a time in Python. A command with no quote and no backslash (most of
them: `python -m http.server 8000`) has nothing for it to interpret: its arguments are the runs of
characters between shlex's whitespace (space, tab, CR, LF; `shlex.split` sets no comment characters), which
one regular expression finds. Anything else goes to `shlex.split` itself. Pure; used by `sentinel.config.fields`
(`split_command`) and `sentinel.config.interpolate` (`split_before_interpolating`).
"""

from __future__ import annotations

import re
import shlex

_INTERPRETED = re.compile(r"['\"\\]")  # what shlex (posix, as split() sets it up) gives a meaning to
_WORD = re.compile(r"[^ \t\r\n]+")  # shlex's whitespace, exactly: not str.split()'s (which also splits on \x0b, \xa0…)


def split_words(command: str) -> list[str]:
    """`shlex.split(command)`; ValueError as it raises (an unclosed quote, a final backslash)."""
    if _INTERPRETED.search(command) is None:
        return _WORD.findall(command)
    return shlex.split(command)
