"""The reconciler: the loop that observes, plans and executes, and the daemon around it.

watchfiles' package `__init__` imports `watchfiles.run` (its process runner) and with it
`multiprocessing`, which the reconciler does not use (0.2 MB of its memory): the package is
registered without running it (`sentinel.packages`) before `watch` imports `watchfiles.main`.
"""

from __future__ import annotations

from sentinel.packages import skip_init

skip_init("watchfiles", {"watch": "watchfiles.main", "awatch": "watchfiles.main", "Change": "watchfiles.main",
                         "run_process": "watchfiles.run", "arun_process": "watchfiles.run",
                         "BaseFilter": "watchfiles.filters", "DefaultFilter": "watchfiles.filters",
                         "PythonFilter": "watchfiles.filters", "VERSION": "watchfiles.version",
                         "__version__": "watchfiles.version"})
