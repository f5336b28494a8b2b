"""What a `sentinel` command loads, run as the program runs it in a fresh interpreter: the modules it imported (every
module is start-up time, docs/contract.md#performance-budgets) and how many of the YAML emitter's patterns it
compiled (`sentinel.cli.output.yaml_pattern`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

_RUN = """
import json, sys
from sentinel.cli.main import main
report, sys.argv = sys.argv[1], ['sentinel', *sys.argv[2:]]
try:
    main()
except SystemExit:
    pass
from sentinel.cli.output import yaml_pattern
with open(report, 'w') as out:
    json.dump({'modules': sorted(sys.modules), 'yaml_patterns': yaml_pattern.cache_info().currsize}, out)
"""


@dataclass(frozen=True)
class Loaded:
    modules: list[str]
    yaml_patterns: int

    def of(self, prefixes: tuple[str, ...]) -> list[str]:
        """The modules loaded that are, or are inside, one of `prefixes`."""
        return [name for name in self.modules if any(name == p or name.startswith(f"{p}.") for p in prefixes)]


def loaded_by(report: Path, *args: str) -> Loaded:
    """Run `sentinel ARGS…` (its exit status does not matter); what it loaded. `report` is a scratch file."""
    # Without coverage's start-up in the child (the suite measures subprocesses): it imports `socket` and more itself.
    env = {key: value for key, value in os.environ.items() if not key.startswith("COVERAGE_PROCESS_")}
    done = subprocess.run([sys.executable, "-c", _RUN, str(report), *args], capture_output=True, text=True,
                          timeout=60, check=False, env=env)
    assert report.exists(), done.stderr
    data = json.loads(report.read_text())
    return Loaded(data["modules"], data["yaml_patterns"])
