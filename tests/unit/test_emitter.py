"""Regressions of the YAML emitter that Hypothesis found."""

from __future__ import annotations

import pytest

from sentinel.cli.output import to_yaml
from sentinel.config.source import parse_or_raise


@pytest.mark.parametrize("text", [
    pytest.param("A\n", id="value-with-a-final-newline"),
    pytest.param("a\nb", id="value-with-an-inner-newline"),
])
def test_strings_with_newlines_read_back_unchanged(text: str) -> None:
    document = {"root": text, text: None}
    assert parse_or_raise(to_yaml(document).encode(), "x.yaml") == document
