"""How much one load may read and build: files read, and values once includes, templates and defaults apply.

Each file is bounded on its own (`sentinel.config.source`: 8 MiB, 500,000 values), but small
files can expand far beyond that: an include diamond reads the same files again and again, an
`extends` diamond doubles its layers at each level, a large `defaults` is copied into every
process. The loader gives one `Budget` to each load and charges it as it goes, so such a file
fails early, with the place that made it grow, instead of taking the reconciler's time and memory.
"""

from __future__ import annotations

from typing import Any

from sentinel.config.source import LocDict, LocList, Pos
from sentinel.errors import ConfigError

MAX_FILES = 1000  # config files read in one load, counting a file each time it is included
MAX_EXPANDED_VALUES = 1_000_000  # values once includes, templates and defaults are applied
MAX_TEMPLATE_LAYERS = 256  # templates merged into one process, counting a template each time it is reached


class BudgetExceeded(ConfigError):
    """The load read or built more than its budget allows: it stops there, with this one problem."""


class Budget:
    """What is left of one load's allowance; `charge_*` raise ConfigError at `where` once it is spent."""

    def __init__(self, *, files: int = MAX_FILES, values: int = MAX_EXPANDED_VALUES) -> None:
        self.files_left, self.values_left = files, values
        self._sizes: dict[int, int] = {}  # id of a mapping or list → values in it (templates are charged often)
        self._keep: list[Any] = []  # what the ids above name, kept alive so no id is reused during the load

    def charge_file(self, where: Pos, path: str) -> None:
        self.files_left -= 1
        if self.files_left < 0:
            raise BudgetExceeded.single(where.file, f"reads more than {MAX_FILES} config files (counting each time a"
                                     " file is included; an include diamond?)", line=where.line, col=where.col,
                                     path=path)

    def charge(self, node: Any, where: Pos, path: str) -> None:
        """Charge for the values in `node`, about to be copied or merged into the resolved config."""
        self.values_left -= self.size(node)
        if self.values_left < 0:
            raise BudgetExceeded.single(where.file, f"expands to more than {MAX_EXPANDED_VALUES} values once includes,"
                                     " templates and defaults are applied (an extends diamond, or a large"
                                     " defaults?)", line=where.line, col=where.col, path=path)

    def charge_template(self, node: Any, layers: int, where: Pos, path: str) -> None:
        """Charge for one more template layer (the `layers`-th) of a process, and the values in it."""
        if layers > MAX_TEMPLATE_LAYERS:
            raise BudgetExceeded.single(where.file, f"pulls in more than {MAX_TEMPLATE_LAYERS} templates (counting"
                                        " each time a template is reached through extends; an extends diamond?)",
                                        line=where.line, col=where.col, path=path)
        self.charge(node, where, path)

    def size(self, node: Any) -> int:
        """Values in `node`, itself included."""
        if not isinstance(node, LocDict | LocList | dict | list):
            return 1
        known = self._sizes.get(id(node))
        if known is None:
            children = node.values() if isinstance(node, dict) else node
            known = 1 + sum(self.size(child) for child in children)
            self._sizes[id(node)] = known
            self._keep.append(node)
        return known
