"""`${VAR}` interpolation: the Compose-like subset, and its errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sentinel.config.interpolate import InterpolationError, interpolate, split_before_interpolating

VARS = {"PORT": "8000", "EMPTY": "", "HOST": "db"}


@pytest.mark.parametrize(
    ("text", "result"),
    [
        pytest.param("no variables", "no variables", id="plain"),
        pytest.param("${PORT}", "8000", id="set"),
        pytest.param("http://${HOST}:${PORT}/", "http://db:8000/", id="several"),
        pytest.param("${MISSING:-9000}", "9000", id="default-when-unset"),
        pytest.param("${EMPTY:-x}", "x", id="colon-default-when-empty"),
        pytest.param("${EMPTY-x}", "", id="dash-default-only-when-unset"),
        pytest.param("${MISSING-x}", "x", id="dash-default-when-unset"),
        pytest.param("${PORT:-1}", "8000", id="set-ignores-default"),
        pytest.param("${MISSING:-${PORT}}", "8000", id="nested-default"),
        pytest.param("${MISSING:-}", "", id="empty-default"),
        pytest.param("$$HOME", "$HOME", id="double-dollar-is-literal"),
        pytest.param("$${PORT}", "${PORT}", id="escaped-brace"),
        pytest.param("echo $HOME", "echo $HOME", id="bare-dollar-stays-for-the-shell"),
        pytest.param("cost: 5$", "cost: 5$", id="trailing-dollar"),
        pytest.param("${PORT:?need a port}", "8000", id="required-and-set"),
        pytest.param("$$$", "$$", id="escaped-then-bare-dollar"),
        pytest.param("a$b$${PORT}$", "a$b${PORT}$", id="bare-escaped-and-trailing"),
        pytest.param("$a${HOST}$$b${PORT}", "$adb$b8000", id="between-dollars-copied-as-is"),
    ],
)
def test_interpolation(text: str, result: str) -> None:
    assert interpolate(text, VARS) == result


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("${MISSING}", "variable MISSING is not set (write ${MISSING:-default} to give a default)",
                     id="unset"),
        pytest.param("${MISSING:?set it in .env}", "variable MISSING: set it in .env", id="required-message"),
        pytest.param("${EMPTY:?}", "variable EMPTY: is required", id="required-empty"),
        pytest.param("${PORT", "has an unclosed '${'; write '$$' for a literal '$'", id="unclosed"),
        pytest.param("${1X}", "'${1X}' does not start with a variable name", id="bad-name"),
        pytest.param("${PORT+x}", "'${PORT+x}' is not ${VAR}, ${VAR:-default} or ${VAR:?message}", id="bad-op"),
    ],
)
def test_interpolation_errors_say_what_to_do(text: str, message: str) -> None:
    with pytest.raises(InterpolationError) as caught:
        interpolate(text, VARS)
    assert str(caught.value) == message


@given(st.text().filter(lambda s: "$" not in s))
def test_text_without_dollars_is_unchanged(text: str) -> None:
    assert interpolate(text, VARS) == text


@given(st.text())
def test_escaped_text_comes_back_literally(text: str) -> None:
    assert interpolate(text.replace("$", "$$"), {}) == text


@pytest.mark.parametrize(
    ("command", "arguments"),
    [
        pytest.param("printf '[%s]\\n' \"${NAME}\"", ["printf", "[%s]\\n", "${NAME}"], id="quoted"),
        pytest.param("run ${A:-a b} x${B}y", ["run", "${A:-a b}", "x${B}y"], id="default-with-space"),
        pytest.param("run ${A:-${B:-c d}}", ["run", "${A:-${B:-c d}}"], id="nested"),
        pytest.param("echo '$$HOME' $$1", ["echo", "$$HOME", "$$1"], id="dollars"),
    ],
)
def test_a_command_is_split_before_it_is_interpolated(command: str, arguments: list[str]) -> None:
    assert split_before_interpolating(command) == arguments


@pytest.mark.parametrize(
    ("command", "error"),
    [
        pytest.param("run 'open", ValueError, id="unclosed-quote"),
        pytest.param("run ${OPEN", InterpolationError, id="unclosed-brace"),
        pytest.param("run \0", ValueError, id="nul"),
    ],
)
def test_a_command_that_cannot_be_split_is_an_error(command: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        split_before_interpolating(command)
