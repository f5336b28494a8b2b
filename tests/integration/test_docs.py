"""The README stays true: its configs load, its error example is what users see, its CLI
reference is the real `--help`, and its config reference names every key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import BaseModel

from sentinel.cli.main import cli
from sentinel.config.loader import load
from sentinel.config.models import Api, Backoff, Health, Limits, Logs, Process, Restart, Schedule, Stop
from tests.support.files import write

ROOT = Path(__file__).parents[2]
README = (ROOT / "README.md").read_text()
YAML_BLOCKS = re.findall(r"```yaml\n(.*?)```", README, re.DOTALL)


@pytest.mark.parametrize("block", [b for b in YAML_BLOCKS if "processes:" in b], ids=lambda b: b.splitlines()[0])
def test_readme_configs_are_valid(tmp_path: Path, block: str) -> None:
    load(write(tmp_path, "sentinel.yaml", block), environ={})


def test_readme_error_example_is_what_validate_prints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    quick_start = next(b for b in YAML_BLOCKS if b.startswith("# sentinel.yaml"))
    broken = quick_start.replace("policy: on-failure", "policy: on-falure").replace("timeout: 1h", "timout: 1h")
    write(tmp_path, "sentinel.yaml", broken)
    monkeypatch.chdir(tmp_path)
    shown = re.search(r"Mistakes are reported.*?```console\n\$ sentinel validate\n(.*?)```", README, re.DOTALL)
    assert shown is not None
    result = CliRunner().invoke(cli, ["validate"], env={})
    assert result.stderr == shown.group(1)


COMMANDS = [[], ["up"], ["apply"], ["diff"], ["status"], ["logs"], ["events"], ["start"], ["stop"], ["restart"],
            ["run"], ["runs"], ["down"], ["validate"], ["config"], ["schema"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_cli_reference_is_the_real_help(command: list[str]) -> None:
    help_text = CliRunner().invoke(cli, [*command, "--help"], terminal_width=80, prog_name="sentinel").output
    block = f"```text\n$ sentinel {' '.join([*command, '--help'])}\n{help_text}```"
    assert block in README, "update the README's CLI reference from `sentinel COMMAND --help` (80 columns)"


@pytest.mark.parametrize("model", [Process, Restart, Backoff, Health, Schedule, Stop, Limits, Logs, Api])
def test_config_reference_names_every_key(model: type[BaseModel]) -> None:
    reference = README.split("## Configuration reference", 1)[1].split("## CLI reference", 1)[0]
    missing = [name for name in model.model_fields if not re.search(f"`{name}[`:]", reference)]
    assert missing == []
