"""Field types of the config language: names, durations, sizes, commands, env, signals.

Each is an `Annotated` type that parses the user's spelling into a typed value at load time
(docs/conventions.md#validate-at-load) and prints it back in a spelling that loads to the same value. Used by
`sentinel.config.models`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, WithJsonSchema

from sentinel.config import units
from sentinel.config.shellwords import split_words
from sentinel.signames import short_signal_name

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
NAME_MAX = 128


class FieldProblem(ValueError):
    """Raised by a model validator about one of its fields, so the error points at that field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _name(value: str) -> str:
    if len(value) > NAME_MAX:
        raise ValueError(f"must be at most {NAME_MAX} characters")
    if not re.fullmatch(NAME_PATTERN, value):  # fullmatch: `$` alone also matches before a final newline
        raise ValueError("must start with a letter or digit and hold only letters, digits, '_', '.' and '-'")
    return value


Name = Annotated[
    str,
    AfterValidator(_name),
    WithJsonSchema({"type": "string", "pattern": NAME_PATTERN, "maxLength": NAME_MAX}),
]
check_name = _name  # the same rule for a name given on the command line (`sentinel logs NAME`); ValueError

def _duration_schema(minimum: float, *, exclusive: bool = False) -> dict[str, Any]:
    lower = {"exclusiveMinimum": minimum} if exclusive else {"minimum": minimum}
    return {
        "anyOf": [{"type": "number", **lower, "maximum": units.MAX_DURATION},
                  {"type": "string", "pattern": units.DURATION_PATTERN}],
        "description": f"seconds as a number, or a string such as 500ms, 10s, 5m, 1h30m; from"
                       f" {units.format_duration(minimum)} to {units.format_duration(units.MAX_DURATION)}",
    }


def _at_least(minimum: float) -> Any:
    def check(seconds: float) -> float:
        if seconds < minimum:
            raise ValueError(f"must be at least {units.format_duration(minimum)}")
        return seconds

    return check


Duration = Annotated[
    float,
    BeforeValidator(units.parse_duration),
    PlainSerializer(units.format_duration, return_type=str),
    WithJsonSchema(_duration_schema(0.0)),
]
PositiveDuration = Annotated[
    float,
    BeforeValidator(units.parse_duration),
    AfterValidator(_at_least(units.MIN_POSITIVE_DURATION)),
    PlainSerializer(units.format_duration, return_type=str),
    WithJsonSchema(_duration_schema(units.MIN_POSITIVE_DURATION)),
]
MIN_EVERY = 1.0  # seconds: a job cannot be started more often than this
EveryDuration = Annotated[
    float,
    BeforeValidator(units.parse_duration),
    AfterValidator(_at_least(MIN_EVERY)),
    PlainSerializer(units.format_duration, return_type=str),
    WithJsonSchema(_duration_schema(MIN_EVERY)),
]

Size = Annotated[
    int,
    BeforeValidator(units.parse_size),
    PlainSerializer(units.format_size, return_type=str),
    WithJsonSchema({
        "anyOf": [{"type": "integer", "minimum": 0, "maximum": units.MAX_SIZE},
                  {"type": "string", "pattern": units.SIZE_PATTERN}],
        "description": "bytes, or a string such as 512MB (10^6) or 1GiB (2^30);"
                       f" at most {units.format_size(units.MAX_SIZE)}",
    }),
]

Percent = Annotated[
    float,
    BeforeValidator(units.parse_percent),
    PlainSerializer(units.format_percent, return_type=str),
    WithJsonSchema({
        "anyOf": [{"type": "number", "exclusiveMinimum": 0, "maximum": units.MAX_PERCENT},
                  {"type": "string", "pattern": units.PERCENT_PATTERN}],
        "description": "a percentage of one core, such as 90% (above 100% for several cores);"
                       f" at most {units.format_percent(units.MAX_PERCENT)}",
    }),
]


def _argv_or_text(value: Any) -> str | list[str]:
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("must not be empty")
        return value
    if isinstance(value, list):
        if not value:
            raise ValueError("must not be an empty list")
        for item in value:
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                raise ValueError("must be a list of strings")
        return [str(item) for item in value]
    raise ValueError("must be a string or a list of strings")


Command = Annotated[
    str | list[str],
    BeforeValidator(_argv_or_text),
    WithJsonSchema({
        "anyOf": [{"type": "string", "minLength": 1}, {"type": "array", "items": {"type": "string"}, "minItems": 1}],
        "description": "a command line (split like a POSIX shell, never run through one) or an argv list",
    }),
]


def split_command(command: str | list[str]) -> list[str]:
    """The argv of a command: a list as it is, a string split like a POSIX shell would."""
    if isinstance(command, list):
        return list(command)
    try:
        argv = split_words(command)
    except ValueError as exc:
        raise ValueError(f"cannot be split into arguments: {str(exc).lower()}") from exc
    if not argv:
        raise ValueError("must not be empty")
    return argv


def _checked_argv(value: str | list[str]) -> str | list[str]:
    split_command(value)
    return value


ProbeCommand = Annotated[Command, AfterValidator(_checked_argv)]


def _env_name(value: str) -> str:
    if not value or "=" in value or "\0" in value:
        raise ValueError("an environment variable name must be non-empty without '=' or NUL")
    return value


def _env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if "\0" in value:
            raise ValueError("must not contain a NUL character")
        return value
    if isinstance(value, float):
        raise ValueError("must be a string; quote it so YAML keeps it as written")
    raise ValueError("must be a string")


EnvName = Annotated[str, AfterValidator(_env_name)]
EnvValue = Annotated[str, BeforeValidator(_env_value), WithJsonSchema({"type": ["string", "integer", "boolean"]})]


def _signal_name(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return short_signal_name(value)
        except ValueError:
            raise ValueError("is not a signal number on this system") from None
    if not isinstance(value, str):
        raise ValueError("must be a signal name such as TERM, INT or QUIT")
    try:
        return short_signal_name(value)
    except ValueError:
        raise ValueError("must be a signal name such as TERM, INT, QUIT, HUP, USR1 or KILL") from None


SignalName = Annotated[
    str,
    BeforeValidator(_signal_name),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "integer"}], "description": "TERM, INT, QUIT, HUP, …"}),
]


def _list_of_text(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


TextList = Annotated[
    list[str],
    BeforeValidator(_list_of_text),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
]
