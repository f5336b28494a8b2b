"""Resource limits: is a process tree over its memory or CPU limit? Pure (samples and time passed in).

Memory over `limits.memory` is a breach at once; CPU over `limits.cpu` is a breach once it has
stayed over for `limits.cpu_window` (one busy second is not a runaway). The controller samples;
the planner restarts a process whose observation carries a breach.
"""

from __future__ import annotations

from dataclasses import dataclass

from sentinel.config.units import format_duration, format_percent


@dataclass(frozen=True, slots=True)
class LimitRule:
    memory: int | None  # bytes of resident memory, the whole tree
    cpu: float | None  # percent of one core, the whole tree
    cpu_window: float  # seconds

    @property
    def any(self) -> bool:
        return self.memory is not None or self.cpu is not None


@dataclass(frozen=True, slots=True)
class LimitState:
    """What the previous samples left: since when the CPU has been over its limit (monotonic), if it is."""

    cpu_over_since: float | None = None


def check(rule: LimitRule, state: LimitState, *, cpu: float, rss: int, now: float) -> tuple[LimitState, str]:
    """The new state, and the breach ('memory 612MB > 512MB', 'cpu 180% > 90% for 30s') or ''."""
    cpu_over = rule.cpu is not None and cpu > rule.cpu
    over_since = (state.cpu_over_since if state.cpu_over_since is not None else now) if cpu_over else None
    new = LimitState(over_since)
    if rule.memory is not None and rss > rule.memory:
        return new, f"memory {_megabytes(rss)} > {_megabytes(rule.memory)}"
    if rule.cpu is not None and over_since is not None and now - over_since >= rule.cpu_window:
        window = format_duration(rule.cpu_window)
        return new, f"cpu {format_percent(round(cpu))} > {format_percent(rule.cpu)} for {window}"
    return new, ""


def _megabytes(size: int) -> str:
    """Sizes as users read them in a message: 612MB (powers of 1000, like `512MB` in the file)."""
    if size >= 10_000_000:
        return f"{round(size / 1_000_000)}MB"
    return f"{size / 1_000_000:.1f}MB"
