"""The HTTP API of the reconciler (docs/contract.md#api), served on the state directory's unix socket.

uvicorn's package `__init__` imports `uvicorn.main`: its command line, and through its process
supervisors `multiprocessing`, none of which the reconciler uses (0.7 MB of its memory). So the
package is registered without running it (`sentinel.packages`) before any module of ours imports
`uvicorn.config`, `uvicorn.server`, …
"""

from __future__ import annotations

from sentinel.packages import skip_init

skip_init("uvicorn", {"Config": "uvicorn.config", "Server": "uvicorn.server", "main": "uvicorn.main",
                      "run": "uvicorn.main", "__version__": "uvicorn._version"})
