"""The garbage collector while `sentinel` starts (docs/limitations.md: the cold start, and
docs/architecture.md on `status`'s start-up).

The program pauses it first (`pause()`, from sentinel/cli/__init__.py, only when run as the `sentinel`
program): importing click and a command's modules makes next to no cyclic garbage, and the collections
that would run meanwhile cost `status` about 3 ms of its 100 ms. `command_starts()` turns it back on
before any command runs (sentinel.cli.main.cli). A short-lived command first freezes what the start-up
built (`gc.freeze`: its collections skip it); the reconciler (`up`) does not, since what it keeps lives
as long as it does.

When `up` has loaded the config, the objects alive (the modules, the config) are nearly all there is,
and nearly none of them is garbage; the reconciler's modules, imported next, and its first pass then
add enough that, with a large config, a full collection falls in that stretch: a walk over every
object alive, 20–40 ms with 200 processes, which finds next to nothing to free. `hold()` leaves the
objects alive then out of every collection (`gc.freeze`), so no such walk delays the first start;
young objects are collected as ever. `resume()` gives them back to the oldest generation once the
first pass has started every process (`sentinel.daemon`) and collects everything at once, before the
API's modules are imported: left for later, the garbage kept meanwhile made room for nothing and the
reconciler stayed 0.2 MB larger (USS, 50 processes). `up` holds, and resumes whatever happens.
"""

from __future__ import annotations

import gc

_paused: list[bool] = []  # [True] while the program's start-up runs without the collector
_held: list[bool] = []  # [True] between `hold()` and `resume()`


def pause() -> None:
    """The program starts: no collections until `command_starts()`."""
    gc.disable()
    _paused[:] = [True]


def command_starts(*, reconciler: bool) -> None:
    """A command is about to run: the collector back on, after freezing what the start-up built unless the
    command is the reconciler. Nothing to do when the program did not `pause()` (the CLI used as a library)."""
    if not _paused:
        return
    _paused.clear()
    if not reconciler:
        gc.freeze()
    gc.enable()


def hold() -> None:
    """Keep every object alive now out of collections until `resume()`."""
    gc.freeze()
    _held[:] = [True]


def resume() -> None:
    """Collect them again, and collect everything now; nothing to do when nothing is held."""
    if not _held:
        return
    _held.clear()
    gc.unfreeze()
    gc.collect()
