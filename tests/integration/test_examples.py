"""The examples under examples/ are what users copy: each must load, in every environment it
defines, from a fresh shell (every `${VAR}` has a default), and come with a README."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from sentinel.config.loader import load

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CONFIGS = sorted(EXAMPLES.glob("*/sentinel.yaml"))
FOLDERS = sorted(p for p in EXAMPLES.iterdir() if p.is_dir()) if EXAMPLES.is_dir() else []
SCHEMA_LINE = "# yaml-language-server: $schema=../../schema/sentinel.schema.json"


def environments(config: Path) -> list[str]:
    """The names under `environments:` in the root file, read as plain YAML."""
    data = YAML(typ="safe").load(config.read_text(encoding="utf-8")) or {}
    return sorted(data.get("environments") or {})


def cases() -> list[object]:
    params: list[object] = []
    for config in CONFIGS:
        name = config.parent.name
        params.append(pytest.param(config, None, id=name))
        params.extend(pytest.param(config, env, id=f"{name}-{env}") for env in environments(config))
    return params


def test_there_are_examples() -> None:
    assert CONFIGS, f"no */sentinel.yaml under {EXAMPLES}"


@pytest.mark.parametrize(("config", "env"), cases())
def test_example_loads(config: Path, env: str | None) -> None:
    loaded = load(str(config), env=env, environ={})  # an empty environment: defaults must cover it
    assert loaded.config.processes, f"{config} declares no process"
    for name, process in loaded.config.processes.items():
        assert process.cwd is not None and Path(process.cwd).is_dir(), f"{name}: cwd {process.cwd}"
        for env_file in process.env_file:
            assert Path(env_file).is_file(), f"{name}: env_file {env_file}"


@pytest.mark.parametrize("config", CONFIGS, ids=[c.parent.name for c in CONFIGS])
def test_example_points_editors_at_the_schema(config: Path) -> None:
    first = config.read_text(encoding="utf-8").splitlines()[0]
    assert first == SCHEMA_LINE
    assert (config.parent / "../../schema/sentinel.schema.json").resolve().is_file()


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_every_example_has_a_readme_and_a_config(folder: Path) -> None:
    assert (folder / "README.md").is_file(), f"{folder.name} has no README.md"
    assert (folder / "sentinel.yaml").is_file(), f"{folder.name} has no sentinel.yaml"
