"""env_file parsing (dotenv syntax)."""

from __future__ import annotations

import pytest

from sentinel.config.envfile import EnvFileError, parse_env_file


def test_dotenv_syntax() -> None:
    text = "\n".join([
        "# a comment",
        "",
        "PLAIN=value",
        "SPACED = padded value  ",
        "export EXPORTED=yes",
        "TRAILING=kept # dropped comment",
        "HASH=a#b",
        "SINGLE='literal $HOME \\n # not a comment'",
        'DOUBLE="line\\nbreak \\"quoted\\" \\\\ tab\\t"',
        'MULTI="first',
        'second"',
        "EMPTY=",
        "PLAIN=overridden",
    ])
    assert parse_env_file(text) == {
        "PLAIN": "overridden",
        "SPACED": "padded value",
        "EXPORTED": "yes",
        "TRAILING": "kept",
        "HASH": "a#b",
        "SINGLE": "literal $HOME \\n # not a comment",
        "DOUBLE": 'line\nbreak "quoted" \\ tab\t',
        "MULTI": "first\nsecond",
        "EMPTY": "",
    }


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("OK=1\nnot a pair\n", 2, "expected KEY=value"),
        ("A='open\n", 1, "unclosed single quote"),
        ('A=1\nB="open\nstill open\n', 2, "unclosed double quote"),
        ("=nokey\n", 1, "expected KEY=value"),
    ],
)
def test_errors_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(EnvFileError) as caught:
        parse_env_file(text)
    assert (caught.value.line, str(caught.value)) == (line, message)
