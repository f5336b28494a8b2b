"""The `sentinel` command line.

Run as the `sentinel` program (or `python -m sentinel`), its first act, before importing anything
heavy, is to record SIGTERM, SIGINT and SIGHUP rather than die of them (`sentinel.early_signals`):
`up` acts on them once it can, every other command releases them at once. Until the command starts
(`sentinel.cli.main.cli`), the program also runs without the garbage collector (`sentinel.collector`).
"""

import os
import sys

from sentinel import collector, early_signals


def _run_as_program() -> bool:
    """True in the `sentinel` program or `python -m sentinel`; False when this package is imported as a library."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name == "sentinel.__main__":
        return True
    return os.path.basename(getattr(main, "__file__", None) or "") == "sentinel"


if _run_as_program():
    early_signals.hold()
    collector.pause()
