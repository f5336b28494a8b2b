"""Signal names and numbers, the one place they are translated. Imports nothing from sentinel.

The config writes a signal short (`TERM`; `SIGTERM`, `term` and 15 are read as that); the
runtime sends numbers; events and probe results print `SIGKILL`. Reads names only: sends nothing.
"""

from __future__ import annotations

import signal


def signal_name(number: int) -> str:
    """`SIGKILL` for 9; `signal 99` for a number this system has no name for."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def short_signal_name(value: int | str) -> str:
    """The config's spelling of a signal: `TERM` for 15, `SIGTERM`, ` term `. ValueError when there is no
    such signal on this system."""
    if isinstance(value, int):
        return signal.Signals(value).name.removeprefix("SIG")  # ValueError for an unknown number
    name = value.strip().upper().removeprefix("SIG")
    if f"SIG{name}" not in signal.Signals.__members__:
        raise ValueError(f"no signal {value!r}")
    return name


def signal_number(name: str) -> int:
    """The number of a signal the config names (`TERM` → 15)."""
    return signal.Signals[f"SIG{short_signal_name(name)}"].value
