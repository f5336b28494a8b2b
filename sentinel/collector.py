"""The garbage collector while the reconciler starts (cold start, docs/limitations.md#where-the-cold-start-goes).

When `up` has loaded the config, the objects alive (the modules, the config) are nearly all there is, and
nearly none of them is garbage; the reconciler's modules, imported next, and its first pass then add enough
that, with a large config, a full collection falls in that stretch: a walk over every object alive, 20–40 ms
with 200 processes, which finds next to nothing to free. `hold()` leaves the objects alive then out of every
collection (`gc.freeze`), so no such walk delays the first start; young objects are collected as ever.
`resume()` gives them back to the oldest generation once the first pass has started every process
(`sentinel.daemon`), and the collection `runtime.memory.release` makes a second later walks them all, so what
the reconciler holds afterwards is what it held before. `up` holds, and resumes whatever happens.
"""

from __future__ import annotations

import gc


def hold() -> None:
    """Keep every object alive now out of collections until `resume()`."""
    gc.freeze()


def resume() -> None:
    """Collect them again (nothing to do when nothing is held)."""
    gc.unfreeze()
