"""Importing the modules of a package without running its `__init__`, for packages whose `__init__` imports
far more than the reconciler uses (docs/contract.md#performance-budgets: every module costs memory).

`skip_init(package, names)` registers the package's module with its `__init__` not run, before anything
imports it; its modules (`package.sub`) then import as usual. The names its `__init__` would have
exported still resolve, each imported from its own module when something asks for it (`names`: name →
module). A package already imported is left as it is.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Mapping
from typing import Any


def skip_init(package: str, names: Mapping[str, str]) -> None:
    if package in sys.modules:
        return  # imported already (by a program that uses it whole): nothing to save
    spec = importlib.util.find_spec(package)
    if spec is None:  # pragma: no cover - only ever called for dependencies
        return
    module = importlib.util.module_from_spec(spec)  # the package's module, its `__init__` not run

    def exported(name: str) -> Any:
        where = names.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(where), name)

    module.__getattr__ = exported  # type: ignore[method-assign]
    sys.modules[package] = module
