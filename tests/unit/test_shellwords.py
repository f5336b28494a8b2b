"""Splitting a command into arguments: the same arguments and errors as shlex.split, fast path or not."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sentinel.config.shellwords import split_words

# shlex's own whitespace, the whitespace it does not split on, what it interprets, and ordinary characters
PIECES = [" ", "\t", "\r", "\n", "\x0b", "\x0c", "\xa0", "\u2003", "\x00", "'", '"', "\\", "#", ";", "|", "&",
          "$", "*", "a", "Z", "9", "-", "=", "é", "${X:-a b}"]


def _shlex(text: str) -> list[str] | str:
    try:
        return shlex.split(text)
    except ValueError as exc:
        return str(exc)


def _ours(text: str) -> list[str] | str:
    try:
        return split_words(text)
    except ValueError as exc:
        return str(exc)


@given(st.lists(st.sampled_from(PIECES), max_size=24).map("".join))
def test_the_arguments_and_errors_of_shlex(text: str) -> None:
    assert _ours(text) == _shlex(text)


@pytest.mark.parametrize(
    ("command", "arguments"),
    [
        pytest.param("python -m http.server 8000", ["python", "-m", "http.server", "8000"], id="plain"),
        pytest.param("  a \t b\r\nc  ", ["a", "b", "c"], id="shlex-whitespace"),
        pytest.param("a\x0bb\xa0c", ["a\x0bb\xa0c"], id="other-whitespace-is-part-of-an-argument"),
        pytest.param("echo #not-a-comment", ["echo", "#not-a-comment"], id="no-comments"),
        pytest.param("", [], id="empty"),
        pytest.param("sh -c 'echo $HOME'", ["sh", "-c", "echo $HOME"], id="quoted"),
        pytest.param('a\\ b ""', ["a b", ""], id="escape-and-empty-argument"),
    ],
)
def test_split(command: str, arguments: list[str]) -> None:
    assert split_words(command) == arguments == shlex.split(command)


def test_an_unclosed_quote_is_shlex_s_error() -> None:
    with pytest.raises(ValueError, match="No closing quotation"):
        split_words("echo 'unclosed")
