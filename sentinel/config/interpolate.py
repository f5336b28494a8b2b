"""`${VAR}` interpolation of config strings. Pure: the variables are passed in.

Syntax (a subset of Docker Compose's):
  `${VAR}`            the value; an error when VAR is unset
  `${VAR:-default}`   default when VAR is unset or empty (`${VAR-default}`: only when unset)
  `${VAR:?message}`   an error with that message when VAR is unset or empty (`?`: only unset)
  `$$`                a literal `$`
A `$` followed by anything else is kept as it is, so `sh -c 'echo $HOME'` reaches the shell.
Defaults may themselves contain `${...}`.

A command string is split into arguments before it is interpolated (`split_before_interpolating`),
so a value can never add, remove or merge arguments, whatever spaces or quotes it holds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sentinel.config.shellwords import split_words

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class InterpolationError(ValueError):
    """A string could not be interpolated; the text says which variable and why."""


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """`text` with every `${...}` replaced from `variables` and `$$` turned into `$`."""
    dollar = text.find("$")
    if dollar < 0:
        return text
    out: list[str] = []
    i = 0
    while dollar >= 0:  # from one `$` to the next: the text between is copied as it is
        out.append(text[i:dollar])
        after = text[dollar + 1 : dollar + 2]
        if after == "$":
            out.append("$")
            i = dollar + 2
        elif after == "{":
            end = _closing_brace(text, dollar + 2)
            out.append(_substitute(text[dollar + 2 : end], variables))
            i = end + 1
        else:  # a `$` followed by anything else, or last, is kept
            out.append("$")
            i = dollar + 1
        dollar = text.find("$", i)
    out.append(text[i:])
    return "".join(out)


_HIDDEN = re.compile("\0(\\d+)\0")


def split_before_interpolating(command: str) -> list[str]:
    """The arguments of `command`, split like a POSIX shell would, with every `${...}` still in them.

    Each `${...}` is kept whole (a default may hold spaces or quotes) and lands in the argument
    it was written in; interpolating the arguments one by one afterwards cannot change their
    number. ValueError when the command cannot be split (an unclosed quote) or holds a NUL;
    InterpolationError for an unclosed `${`.
    """
    if "\0" in command:
        raise ValueError("must not contain a NUL character")
    expressions: list[str] = []
    hidden: list[str] = []
    i = 0
    while i < len(command):
        if command.startswith("${", i):
            end = _closing_brace(command, i + 2)
            hidden.append(f"\0{len(expressions)}\0")
            expressions.append(command[i : end + 1])
            i = end + 1
        elif command.startswith("$$", i):
            hidden.append("$$")
            i += 2
        else:
            hidden.append(command[i])
            i += 1
    return [_HIDDEN.sub(lambda found: expressions[int(found.group(1))], arg) for arg in split_words("".join(hidden))]


def _closing_brace(text: str, start: int) -> int:
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise InterpolationError("has an unclosed '${'; write '$$' for a literal '$'")


def _substitute(expression: str, variables: Mapping[str, str]) -> str:
    match = _NAME.match(expression)
    if match is None:
        raise InterpolationError(f"'${{{expression}}}' does not start with a variable name")
    name = match.group(0)
    rest = expression[match.end() :]
    value = variables.get(name)
    if rest == "":
        if value is None:
            raise InterpolationError(f"variable {name} is not set (write ${{{name}:-default}} to give a default)")
        return value
    for operator in (":-", "-", ":?", "?"):
        if rest.startswith(operator):
            argument = rest[len(operator) :]
            missing = value is None or (operator.startswith(":") and value == "")
            if not missing:
                return value or ""
            if operator.endswith("-"):
                return interpolate(argument, variables)
            detail = interpolate(argument, variables) or "is required"
            raise InterpolationError(f"variable {name}: {detail}")
    raise InterpolationError(f"'${{{expression}}}' is not ${{VAR}}, ${{VAR:-default}} or ${{VAR:?message}}")
