"""`sentinel completion bash|zsh|fish`: the scripts are valid for their shells, and the completion protocol they
speak (`_SENTINEL_COMPLETE=bash_complete COMP_WORDS=… COMP_CWORD=…`) completes commands, options and process
names: from the running reconciler, or from the config file when none runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from sentinel.cli.main import cli
from tests.support.daemon import Reconciler

CONF = """
processes:
  db: {command: sleep 1000, group: back}
  web: {command: sleep 1000, replicas: 2, group: front}
"""
SYNTAX_CHECKS = {"bash": ["bash", "-n"], "zsh": ["zsh", "-n"], "fish": ["fish", "--no-execute"]}


def completions(words: str, environment: dict[str, str]) -> list[str]:
    """What the shell would be offered for the last word of `words`, by the real protocol (in this process: the
    same `sentinel` group and entry, without a second interpreter starting for each)."""
    protocol = {"_SENTINEL_COMPLETE": "bash_complete", "COMP_WORDS": words,
                "COMP_CWORD": str(len(words.split(" ")) - 1)}
    result = CliRunner().invoke(cli, [], prog_name="sentinel", env={**environment, **protocol},
                                catch_exceptions=False)
    assert result.exit_code == 0 and result.stderr == ""
    return [line.split(",", 1)[1] for line in result.stdout.splitlines() if line]


def test_the_installed_command_answers_the_protocol() -> None:
    ran = subprocess.run([sys.executable, "-m", "sentinel"], capture_output=True, text=True, timeout=60, check=True,
                         env={**os.environ, "_SENTINEL_COMPLETE": "bash_complete", "COMP_WORDS": "sentinel comp",
                              "COMP_CWORD": "1"})
    assert ran.stdout == "plain,completion\n"


@pytest.mark.parametrize("shell", sorted(SYNTAX_CHECKS))
def test_the_script_of_each_shell_is_valid_for_it(shell: str, tmp_path: Path) -> None:
    script = subprocess.run([sys.executable, "-m", "sentinel", "completion", shell], capture_output=True, text=True,
                            timeout=60, check=True).stdout
    assert "_SENTINEL_COMPLETE" in script
    checker = SYNTAX_CHECKS[shell]
    if shutil.which(checker[0]) is None:
        pytest.skip(f"{checker[0]} is not installed here, so its syntax check cannot run (the script is printed)")
    (tmp_path / f"sentinel.{shell}").write_text(script)
    checked = subprocess.run([*checker, str(tmp_path / f"sentinel.{shell}")], capture_output=True, text=True,
                             timeout=60, check=False)
    assert checked.returncode == 0, checked.stderr


def test_commands_options_and_names_from_the_file_then_from_the_reconciler(
        make_reconciler: Callable[..., Reconciler], tmp_path: Path) -> None:
    r = make_reconciler(CONF)
    from_file = {"SENTINEL_CONFIG": str(r.config), "SENTINEL_HOME": str(r.home)}
    assert {"import", "completion", "restart"} <= set(completions("sentinel ", from_file))
    assert completions("sentinel import x --f", from_file) == ["--from", "--force"]
    assert completions("sentinel restart ", from_file) == ["db", "group:back", "group:front", "web", "web.0",
                                                            "web.1"]
    assert completions("sentinel logs w", from_file) == ["web", "web.0", "web.1"]
    assert completions("sentinel logs w", {"SENTINEL_CONFIG": str(tmp_path / "none.yaml"),
                                           "SENTINEL_HOME": str(r.home)}) == []

    r.start()
    r.wait_state("web.1", "running")
    elsewhere = tmp_path / "other.yaml"  # names the running reconciler does not run: they must not be offered
    elsewhere.write_text("processes:\n  other: {command: sleep 1}\n")
    running = {"SENTINEL_CONFIG": str(elsewhere), "SENTINEL_HOME": str(r.home)}
    assert completions("sentinel stop ", running) == ["db", "group:back", "group:front", "web", "web.0", "web.1"]
    assert completions("sentinel signal we", running) == ["web", "web.0", "web.1"]
    assert completions("sentinel status --group ", running) == ["back", "front"]
    assert completions(f"sentinel --state-dir {tmp_path / 'idle'} status o", running) == ["other"]
