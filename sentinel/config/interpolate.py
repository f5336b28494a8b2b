"""`${VAR}` interpolation of config strings. Pure: the variables are passed in.

Syntax (a subset of Docker Compose's):
  `${VAR}`            the value; an error when VAR is unset
  `${VAR:-default}`   default when VAR is unset or empty (`${VAR-default}`: only when unset)
  `${VAR:?message}`   an error with that message when VAR is unset or empty (`?`: only unset)
  `$$`                a literal `$`
A `$` followed by anything else is kept as it is, so `sh -c 'echo $HOME'` reaches the shell.
Defaults may themselves contain `${...}`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class InterpolationError(ValueError):
    """A string could not be interpolated; the text says which variable and why."""


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """`text` with every `${...}` replaced from `variables` and `$$` turned into `$`."""
    if "$" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char != "$" or i + 1 >= len(text):
            out.append(char)
            i += 1
        elif text[i + 1] == "$":
            out.append("$")
            i += 2
        elif text[i + 1] == "{":
            end = _closing_brace(text, i + 2)
            out.append(_substitute(text[i + 2 : end], variables))
            i = end + 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


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
