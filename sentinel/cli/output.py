"""Rendering for the CLI: errors to stderr with their exit codes (the one place that knows them),
and the resolved config as YAML or JSON."""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from collections.abc import Callable
from typing import Any, NoReturn, ParamSpec, TypeVar

import click

from sentinel.errors import SentinelError

P = ParamSpec("P")
R = TypeVar("R")


def fail(error: SentinelError) -> NoReturn:
    """Print the error (one line per problem) and exit with its code."""
    click.echo(str(error), err=True)
    sys.exit(error.exit_code)


def debugging() -> bool:
    """SENTINEL_DEBUG is set: a bug shows its traceback, and the reconciler is strict (docs/states.md)."""
    return bool(os.environ.get("SENTINEL_DEBUG"))


def handles_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn SentinelErrors into their one-line messages and exit codes; never a traceback for bad input.

    An unexpected exception is a bug: it is reported on one line too, with the full
    traceback only when SENTINEL_DEBUG is set.
    """

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except SentinelError as error:
            fail(error)
        except (click.exceptions.Exit, click.ClickException, KeyboardInterrupt):
            raise
        except Exception as error:
            if debugging():
                raise
            click.echo(f"sentinel: internal error: {type(error).__name__}: {error} "
                       "(run again with SENTINEL_DEBUG=1 for a traceback, and please report it)", err=True)
            sys.exit(70)

    return wrapper


_PLAIN = r"^[A-Za-z0-9_./][A-Za-z0-9_./@%+=,~ ()*#:-]*$"
_NUMERIC = (
    r"^(?:[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+"
    r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*)$"
)
# Characters YAML does not allow raw in a stream, or reads as line breaks: written as escapes.
_UNPRINTABLE = "[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029]"


@functools.cache
def yaml_pattern(source: str) -> re.Pattern[str]:
    """One of the YAML emitter's patterns, compiled when the emitter first needs it: every command imports this
    module, and compiling them at import cost `status`, which prints no YAML, about 5 ms (bench/cli_latency.py)."""
    return re.compile(source)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


_NOT_PLAIN_WORDS = frozenset({"true", "false", "null", "~", "yes", "no", "on", "off", "y", "n"})


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        plain = (
            yaml_pattern(_PLAIN).fullmatch(value) is not None  # not `match`: `$` also matches before a final newline
            and not value.endswith((" ", ":"))
            and " #" not in value
            and ": " not in value
            and value.lower() not in _NOT_PLAIN_WORDS
            and not _looks_numeric(value)
        )
        return value if plain else yaml_pattern(_UNPRINTABLE).sub(_escape, json.dumps(value, ensure_ascii=False))
    if value is None:
        return "null"
    return json.dumps(value)


def _looks_numeric(text: str) -> bool:
    """Would YAML read this as a number or a date? (`10s`, `512MB`, `90%` stay plain.)"""
    return yaml_pattern(_NUMERIC).match(text) is not None or text[:1] in "+-."


def _emit(value: Any, indent: str, out: list[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            head = f"{indent}{_scalar(str(key))}:"
            if isinstance(item, dict | list) and item:
                out.append(head)
                _emit(item, indent + "  ", out)
            else:
                out.append(f"{head} {_flow(item)}")
    else:
        for item in value:
            if isinstance(item, dict | list) and item:
                sub: list[str] = []
                _emit(item, indent + "  ", sub)
                out.append(f"{indent}- {sub[0].lstrip()}")
                out.extend(sub[1:])
            else:
                out.append(f"{indent}- {_flow(item)}")


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)


def to_yaml(data: dict[str, Any], header: str = "") -> str:
    """Block-style YAML of plain data (dicts, lists, scalars), keys in the given order.

    A small emitter of our own: ruamel's representer takes ~0.4 s for 200 processes. Strings
    that YAML could read as anything else are double-quoted (JSON strings are valid YAML).
    """
    out: list[str] = [header.rstrip("\n")] if header else []
    _emit(data, "", out)
    return "\n".join(out) + "\n"


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
