"""`sentinel api token` without a reconciler (docs/security.md#the-tcp-api): the default file when there is no
config, the read-only token, and one line for what cannot be done."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from sentinel.cli.main import cli


def _token(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["api", "token", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_without_a_config_the_default_file_is_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SENTINEL_CONFIG", raising=False)
    code, out, err = _token()
    default = tmp_path / "home" / ".config" / "sentinel" / "token"
    assert code == 0 and out.strip() == default.read_text().strip()
    assert err == f"sentinel: created {default} with a new token\n"
    assert stat.S_IMODE(default.stat().st_mode) == 0o600
    assert _token() == (0, out, "")  # printed again, not made again
    code, _, err = _token("--read")
    assert code == 2 and "--read needs a config with api.read_token_file" in err


def test_the_read_only_token_and_rotating_it(tmp_path: Path) -> None:
    config = tmp_path / "sentinel.yaml"
    config.write_text("api: {listen: \"127.0.0.1:8765\", read_token_file: keys/read}\nprocesses: {}\n")
    code, read, _ = _token("-f", str(config), "--read")
    assert code == 0 and read.strip() == (tmp_path / "keys" / "read").read_text().strip()
    code, rotated, err = _token("-f", str(config), "--read", "--rotate")
    assert code == 0 and rotated != read and "the old one no longer works" in err
    assert (tmp_path / "keys" / "read").read_text().strip() == rotated.strip()
    assert sorted(os.listdir(tmp_path / "keys")) == ["read"]


def test_read_without_a_read_token_file_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "sentinel.yaml"
    config.write_text("processes: {}\n")
    assert _token("-f", str(config), "--read") == (1, "", f"{config} sets no api.read_token_file\n")
