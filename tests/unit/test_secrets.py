"""Secrets tracked through interpolation and masked where they landed."""

from __future__ import annotations

from pathlib import Path

from sentinel.config.loader import load
from sentinel.config.secrets import all_secrets, masked_config, masked_tree, redact
from tests.support.files import write


def test_redact_masks_longer_secrets_first() -> None:
    assert redact("pw-1 and pw-12", {"pw-1", "pw-12", ""}) == "*** and ***"


def test_only_strings_that_took_a_secret_in_are_masked() -> None:
    data = {"a": ["x", "s3cret-x"], "b": "s3cret", "c": 3}
    assert masked_tree(data, {"a[1]": frozenset({"s3cret"})}) == {"a": ["x", "***-x"], "b": "s3cret", "c": 3}
    assert masked_tree(data, {}) is data


def test_secrets_are_tracked_from_env_files_secret_names_and_env_values_that_took_one(tmp_path: Path) -> None:
    (tmp_path / "app.env").write_text("PORT=8123\n")
    path = write(tmp_path, "sentinel.yaml", """
        processes:
          web:
            command: [serve, "${PORT}", "${API_TOKEN}", "${HOME_DIR}"]
            env_file: app.env
            env: {URL: "http://u:${API_TOKEN}@h"}
            cwd: "${URL}"
    """)
    loaded = load(path, environ={"API_TOKEN": "tok-123", "HOME_DIR": "/home/me"})
    assert loaded.tainted == {
        "processes.web.command[1]": frozenset({"8123"}),
        "processes.web.command[2]": frozenset({"tok-123"}),
        "processes.web.env.URL": frozenset({"tok-123"}),
        "processes.web.cwd": frozenset({"http://u:tok-123@h"}),
    }
    shown = masked_config(loaded.config, loaded.tainted)["processes"]["web"]
    assert shown["command"] == ["serve", "***", "***", "/home/me"]
    assert shown["env"]["URL"] == "http://u:***@h"
    assert all_secrets(loaded.tainted, min_length=5) == {"tok-123", "http://u:tok-123@h"}
