"""Pydantic validation errors → `Problem`s a user can act on: file:line:col, key path, message.

Pydantic reports each error with a `loc` (the key path). The resolved document is a
LocDict tree, so walking the same path finds where the offending key or value was written,
even when it came from a template, `defaults`, an include or an environment overlay.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError

from sentinel.config.fields import FieldProblem
from sentinel.config.keypath import dotted
from sentinel.config.keys import key_hint, type_at
from sentinel.config.models import Config
from sentinel.config.secrets import is_secret, masked_url
from sentinel.config.source import LocDict, LocList, Pos
from sentinel.errors import Problem

_MESSAGES = {
    "missing": "is required",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "list_type": "must be a list",
    "datetime_parsing": "must be a date and time such as 2026-12-01T03:00:00Z",
    "datetime_from_date_parsing": "must be a date and time such as 2026-12-01T03:00:00Z",
    "datetime_type": "must be a date and time such as 2026-12-01T03:00:00Z",
    "finite_number": "must be a finite number",
}


def problems_from(exc: ValidationError, doc: LocDict, fallback: str) -> list[Problem]:
    """One Problem per pydantic error, located in `doc` (the resolved document)."""
    return [_problem(error, doc, fallback) for error in exc.errors(include_url=False)]


def _problem(error: Any, doc: LocDict, fallback: str) -> Problem:
    about_key = error["loc"][-1:] == ("[key]",)
    loc = tuple(part for part in error["loc"] if part != "[key]")
    ctx = error.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, FieldProblem):
        loc = (*loc, cause.field)
    kind = error["type"]
    prefer_key = about_key or kind in ("extra_forbidden", "missing")
    pos, node_value, found = _locate(doc, loc, fallback, prefer_key=prefer_key)
    message = _message(kind, error, loc, cause)
    value = error.get("input") if about_key or not found else node_value
    quiet = kind in ("missing", "extra_forbidden", "model_type", "dict_type") or "(got " in message
    if not quiet and _is_scalar(value):
        message += f" (got {_show(value, loc)})"
    return Problem(pos.file, pos.line, pos.col, _dotted(loc), message)


def _message(kind: str, error: Any, loc: tuple[Any, ...], cause: object) -> str:
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return f"unknown key{key_hint(str(loc[-1]), type_at(Config, loc[:-1]))}"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace(" or ", ", ").replace("'", "")
        return f"must be one of {expected}" if "," in expected else f"must be {expected}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        words = {"greater_than": "more than", "greater_than_equal": "at least",
                 "less_than": "less than", "less_than_equal": "at most"}[kind]
        limit = next(iter(ctx.values()))
        return f"must be {words} {limit}"
    if kind in ("value_error", "assertion_error") and cause is not None:
        return str(cause)
    if kind in ("model_type", "dict_type") and error.get("input") is None:
        return "is null: null deletes an inherited value, and there is none to delete here"
    return _length_message(kind, ctx) or _MESSAGES.get(kind, str(error.get("msg", "is not valid")).lower())


def _length_message(kind: str, ctx: dict[str, Any]) -> str:
    """A list too short or too long (`hosts:`): 'must have at least 1 item'; '' for other kinds."""
    if kind not in ("too_short", "too_long"):
        return ""
    words, limit = ("at least", ctx.get("min_length")) if kind == "too_short" else ("at most", ctx.get("max_length"))
    return f"must have {words} {limit} item{'' if limit == 1 else 's'}"


def _locate(doc: LocDict, loc: tuple[Any, ...], fallback: str, *, prefer_key: bool) -> tuple[Pos, Any, bool]:
    """Position of the value at `loc` (of its key, with prefer_key), its value, and whether it exists."""
    node: Any = doc
    key_pos = val_pos = doc.pos
    for part in loc:
        if isinstance(node, LocDict) and isinstance(part, str) and part in node:
            key_pos, val_pos = node.key_pos[part], node.val_pos[part]
            node = node[part]
        elif isinstance(node, LocList) and isinstance(part, int) and 0 <= part < len(node):
            key_pos = val_pos = node.item_pos[part]
            node = node[part]
        elif isinstance(node, LocList) and part in node:  # a name given in a list (depends_on: [a, b])
            key_pos = val_pos = node.item_pos[node.index(part)]
            node = part
        else:
            # missing key: point at the mapping that lacks it (its key in the parent)
            return (key_pos if key_pos.file else Pos(fallback, 0, 0)), None, False
    pos = key_pos if prefer_key or isinstance(node, LocDict | LocList) else val_pos
    return (pos if pos.file else Pos(fallback, 0, 0)), node, True


def _dotted(loc: tuple[Any, ...]) -> str:
    return dotted(*(part if isinstance(part, int) else str(part) for part in loc))


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _show(value: Any, loc: tuple[Any, ...]) -> str:
    if len(loc) >= 2 and loc[-2] == "env" and is_secret(str(loc[-1])):
        return "'***'"
    if loc[:1] == ("notify",) and loc[-1:] == ("url",) and isinstance(value, str):
        value = masked_url(value)  # a webhook's URL may hold its token
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else ("-.inf" if value < 0 else ".inf")
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return repr(shown)
    return str(value)


def locate_issue(doc: LocDict, loc: tuple[str | int, ...], message: str, fallback: str) -> Problem:
    """A Problem for a cross-process check, placed at the key `loc` names."""
    pos, _, _ = _locate(doc, loc, fallback, prefer_key=True)
    return Problem(pos.file, pos.line, pos.col, _dotted(loc), message)
