"""The JSON Schema editors use: checked in, in step with the models, and accepting every valid file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from sentinel.cli.output import to_yaml
from sentinel.config.loader import load
from sentinel.config.schema import schema_text
from sentinel.config.source import parse_or_raise

ROOT = Path(__file__).parents[2]
SCHEMA = json.loads((ROOT / "schema" / "sentinel.schema.json").read_text())
VALID_FILES = sorted(
    [*(ROOT / "tests" / "configs" / "valid").rglob("*.yaml"), *(ROOT / "examples").rglob("*.yaml")]
)


def test_checked_in_schema_matches_the_models() -> None:
    assert (ROOT / "schema" / "sentinel.schema.json").read_text() == schema_text(), (
        "the models changed: regenerate with `sentinel schema > schema/sentinel.schema.json`"
    )


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)


def plain(data: Any) -> Any:
    """YAML values as JSON would hold them (timestamps become strings)."""
    return json.loads(json.dumps(data, default=str))


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_valid_file_passes_the_schema(path: Path) -> None:
    document = plain(parse_or_raise(path.read_bytes(), str(path)))
    validator = Draft202012Validator(SCHEMA)
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]
    assert errors == []


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ({"processes": {"web": {"comand": "x"}}}, "Additional properties are not allowed ('comand' was unexpected)"),
        ({"processes": {"web": {"restart": {"policy": "alway"}}}}, "'alway' is not one of"),
        ({"procesess": {}}, "Additional properties are not allowed ('procesess' was unexpected)"),
        ({"processes": {"web": {"replicas": "two"}}}, "'two' is not of type 'integer', 'null'"),
    ],
)
def test_schema_flags_what_editors_should_flag(document: dict[str, Any], complaint: str) -> None:
    messages = [e.message for e in Draft202012Validator(SCHEMA).iter_errors(document)]
    assert any(complaint in m for m in messages), messages


WHOLE_CONFIGS = [p for p in VALID_FILES if "conf.d" not in p.parts]  # files under conf.d/ are fragments


@pytest.mark.parametrize("path", WHOLE_CONFIGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_resolved_configs_pass_the_schema_too(path: Path) -> None:
    """What `sentinel config` prints is itself a config, so editors must accept it."""
    data = load(str(path), environ={}).config.model_dump(mode="json", exclude_none=True)
    printed = plain(parse_or_raise(to_yaml(data).encode(), "printed.yaml"))
    assert list(Draft202012Validator(SCHEMA).iter_errors(printed)) == []
