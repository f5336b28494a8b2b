"""The HTTP API of the reconciler (docs/contract.md#api), served on the state directory's unix socket.

`import uvicorn` runs uvicorn's package `__init__`, which imports `uvicorn.main`: its command line,
and through its process supervisors `multiprocessing`, none of which the reconciler uses (0.7 MB of
its memory, docs/contract.md#performance-budgets). So the package is registered here without
running it, before any module of ours imports one of its modules (`uvicorn.config`,
`uvicorn.server`, …), which then import as usual; its names (`uvicorn.Config`, `uvicorn.run`, …)
still resolve, each from its own module, when something asks for them.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

# What uvicorn's `__init__` exports, and the module each comes from.
_UVICORN_NAMES = {"Config": "uvicorn.config", "Server": "uvicorn.server", "main": "uvicorn.main",
                  "run": "uvicorn.main", "__version__": "uvicorn._version"}


def _uvicorn_name(name: str) -> Any:
    where = _UVICORN_NAMES.get(name)
    if where is None:
        raise AttributeError(f"module 'uvicorn' has no attribute {name!r}")
    return getattr(importlib.import_module(where), name)


def _uvicorn_without_its_command_line() -> None:
    if "uvicorn" in sys.modules:
        return  # imported already (a program that serves its own app): nothing to save
    spec = importlib.util.find_spec("uvicorn")
    if spec is None:  # pragma: no cover - uvicorn is a dependency
        return
    package = importlib.util.module_from_spec(spec)  # the package's module, its `__init__` not run
    package.__getattr__ = _uvicorn_name  # type: ignore[method-assign]
    sys.modules["uvicorn"] = package


_uvicorn_without_its_command_line()
