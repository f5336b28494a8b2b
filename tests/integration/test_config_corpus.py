"""The config regression corpus under tests/configs/.

- `valid/*.yaml` must load from an empty environment (every `${VAR}` has a default or comes
  from an env_file), and `sentinel config` of each must load again to an equal Config.
- `invalid/NAME.yaml` must fail `sentinel validate` with exit code 2 and print exactly
  `invalid/NAME.err` on stderr. The .err files hold paths as printed when the CLI is run from
  the repository root with the relative path `tests/configs/invalid/NAME.yaml`; regenerate one
  with `env -i PATH=$PATH .venv/bin/sentinel validate -f tests/configs/invalid/NAME.yaml 2> …`
  and check it by eye.

Files included by corpus configs live in subfolders (or are named *.inc.yaml there) so these
globs do not pick them up as top-level configs.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from sentinel.cli.main import cli
from sentinel.config.loader import load

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "configs"
VALID = sorted((CORPUS / "valid").glob("*.yaml"))
INVALID = sorted((CORPUS / "invalid").glob("*.yaml"))
EXPECTED = sorted((CORPUS / "invalid").glob("*.err"))

# FILE:LINE:COL: message, or FILE: message for problems about a whole file.
PROBLEM_LINE = re.compile(r"^\S+?(:\d+:\d+)?: \S.*$")
VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")  # not $${, a literal


def relative(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def referenced_variables() -> set[str]:
    """Every variable a corpus file names in `${...}`, so the developer's environment can't leak in."""
    names: set[str] = set()
    for path in CORPUS.rglob("*.yaml"):
        try:
            names.update(VARIABLE.findall(path.read_text(encoding="utf-8")))
        except (UnicodeDecodeError, ValueError):
            continue  # the non-UTF-8 and binary cases
    return names


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from the repository root with no SENTINEL_* variable and none the corpus interpolates."""
    monkeypatch.chdir(REPO)
    for name in list(os.environ):
        if name.startswith("SENTINEL"):
            monkeypatch.delenv(name)
    for name in referenced_variables():
        monkeypatch.delenv(name, raising=False)


def test_the_corpus_is_there() -> None:
    assert len(VALID) >= 10, f"too few valid configs under {CORPUS / 'valid'}"
    assert len(INVALID) >= 40, f"too few invalid configs under {CORPUS / 'invalid'}"


def test_every_invalid_config_has_its_expected_output() -> None:
    assert [p.stem for p in INVALID] == [p.stem for p in EXPECTED]


@pytest.mark.parametrize("err", EXPECTED, ids=[p.stem for p in EXPECTED])
def test_expected_output_is_one_line_per_problem(err: Path) -> None:
    text = err.read_text(encoding="utf-8")
    assert text.endswith("\n") and text.strip(), f"{err.name} is empty or lacks a final newline"
    for line in text.splitlines():
        assert PROBLEM_LINE.match(line), f"{err.name}: not FILE:LINE:COL: message: {line!r}"
        assert "Traceback" not in line and "internal error" not in line


@pytest.mark.usefixtures("isolated")
@pytest.mark.parametrize("config", VALID, ids=[p.stem for p in VALID])
def test_valid_config_loads(config: Path) -> None:
    loaded = load(relative(config), environ={})
    assert loaded.config is not None
    result = CliRunner().invoke(cli, ["validate", "-f", relative(config)], env={})
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{relative(config)}: valid (")
    assert result.stderr == ""


@pytest.mark.usefixtures("isolated")
@pytest.mark.parametrize("config", VALID, ids=[p.stem for p in VALID])
def test_resolved_config_loads_to_the_same_config(config: Path, tmp_path: Path) -> None:
    """The YAML of `sentinel config` is a config of its own (--json is not: it prints `$` as is)."""
    original = load(relative(config), environ={}).config
    result = CliRunner().invoke(cli, ["config", "-f", relative(config), "--show-secrets"], env={})
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    resolved = tmp_path / "resolved.yaml"
    resolved.write_text(result.stdout, encoding="utf-8")
    again = load(str(resolved), environ={}).config
    assert again == original


@pytest.mark.usefixtures("isolated")
@pytest.mark.parametrize("config", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_config_is_reported_exactly(config: Path) -> None:
    expected = config.with_suffix(".err").read_text(encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", "-f", relative(config)], env={})
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr == expected
