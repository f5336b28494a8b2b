"""The browser tests need Playwright (the `dev` extra): a virtualenv made before it was added still runs the rest of
the suite, which leaves these out by their marker anyway; `pip install -e '.[dev]'` brings it."""

from __future__ import annotations

import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("playwright") else ["test_*.py"]
