"""`.pre-commit-hooks.yaml`: the `sentinel-validate` hook, run as pre-commit runs it (its entry, split like a
shell, then the names of the staged files its `files` pattern matches)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]


def test_the_hook_validates_the_config_files_it_matches(tmp_path: Path) -> None:
    hooks = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(hook for hook in hooks if hook["id"] == "sentinel-validate")
    assert hook["language"] == "python"
    staged = ["sentinel.yaml", "deploy/sentinel.prod.yml", "docs/notes.yaml", "sentinel.yaml.bak"]
    matched = [name for name in staged if re.search(hook["files"], name)]
    assert matched == ["sentinel.yaml", "deploy/sentinel.prod.yml"]
    (tmp_path / "deploy").mkdir()
    (tmp_path / "sentinel.yaml").write_text("processes:\n  web: {command: sleep 100}\n")
    (tmp_path / "deploy" / "sentinel.prod.yml").write_text("processes:\n  web: {command: sleep 100, replicas: -1}\n")
    entry = shlex.split(hook["entry"])
    executable = str(Path(sys.executable).parent / entry[0])  # the console script pip installs for `language: python`

    good = subprocess.run([executable, *entry[1:], matched[0]], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, check=False)
    assert good.returncode == 0 and good.stdout == "sentinel.yaml: valid (1 service, 0 jobs)\n"
    both = subprocess.run([executable, *entry[1:], *matched], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, check=False)
    assert both.returncode == 2 and both.stdout == good.stdout
    assert both.stderr.startswith("deploy/sentinel.prod.yml:2:") and "replicas" in both.stderr
