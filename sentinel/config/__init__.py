"""The sentinel.yaml language: models, loading and resolution, schema export.

pydantic looks for plugins (entry points of the `pydantic` group) when it builds its first model:
its loader imports `importlib.metadata` (and with it email, zipfile, tempfile, shutil, lzma, bz2…)
and then reads the metadata of every installed distribution. SentinelZero's models use no plugin,
and that lookup cost every reconciler 1.8 MB of its memory and every config load its time
(docs/contract.md#performance-budgets), so the loader is replaced, before any model of ours is
built, by one that finds none. Should pydantic stop calling it that way, the lookup comes back
and costs what it did: nothing breaks.
"""

from __future__ import annotations

import sys
import types

_PYDANTIC_PLUGIN_LOADER = "pydantic.plugin._loader"


def _no_pydantic_plugins() -> None:
    if _PYDANTIC_PLUGIN_LOADER in sys.modules:
        return  # pydantic built a model before us (a program importing sentinel): its loader stays
    loader = types.ModuleType(_PYDANTIC_PLUGIN_LOADER, "No pydantic plugins for SentinelZero's models.")
    setattr(loader, "get_plugins", tuple)  # noqa: B010 - "no plugins", as pydantic's own loader says when disabled
    sys.modules[_PYDANTIC_PLUGIN_LOADER] = loader


_no_pydantic_plugins()
