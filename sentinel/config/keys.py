"""Which keys are allowed where: unknown-key checks over raw documents, with "did you mean".

The resolved models (`sentinel.config.models`) only see processes after templates and
defaults are merged in, so a typo in an unused template, or in an environment that is not
selected, would never reach them. `unknown_keys_in_document` walks a raw file against the
same models (plus the file-only keys) so every typo is reported where it was written.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from sentinel.config.hints import did_you_mean, value_hint
from sentinel.config.keypath import dotted, join
from sentinel.config.models import Api, Group, Process, ReconcilerLog, Source
from sentinel.config.source import LocDict
from sentinel.errors import Problem

FILE_KEYS = ("version", "include", "defaults", "templates", "processes", "groups", "environments", "api", "log",
             "notify", "source")
ENVIRONMENT_KEYS = ("defaults", "templates", "processes", "groups", "api", "log", "notify")


def _unwrap(tp: Any) -> Any:
    """The type inside Annotated[...] and Optional[...]."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def type_at(root: Any, loc: tuple[str | int, ...]) -> Any:
    """The declared type at `loc` below `root` (a model class), or None when it cannot be told."""
    tp: Any = root
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part))
            if field is None:
                return None
            tp = field.annotation
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
        elif get_origin(tp) is list:
            tp = get_args(tp)[0]
        else:
            return None
    return _unwrap(tp)


def fields_of(tp: Any) -> list[str]:
    """The keys a model type allows (empty for non-models)."""
    return list(tp.model_fields) if isinstance(tp, type) and issubclass(tp, BaseModel) else []


def literal_values(model: Any, prefix: str = "") -> dict[str, str]:
    """Each word value a setting of `model` (or of its sub-models) takes, with where it goes:
    `{"on-failure": "restart.policy: on-failure", "forbid": "concurrency: forbid", …}`."""
    out: dict[str, str] = {}
    for name in fields_of(model):
        tp = type_at(model, (name,))
        where = join(prefix, name)
        if get_origin(tp) is Literal:
            out.update({value: f"{where}: {value}" for value in get_args(tp) if isinstance(value, str)})
        elif isinstance(tp, type) and issubclass(tp, BaseModel):
            for value, setting in literal_values(tp, where).items():
                out.setdefault(value, setting)
    return out


def key_hint(key: str, model: Any, extra: tuple[str, ...] = ()) -> str:
    """The hint for unknown `key` in `model`: the setting it is a value of (`on_failure` → `restart.policy:
    on-failure`), else the closest allowed key; '' when neither."""
    return value_hint(key, literal_values(model)) or did_you_mean(key, [*fields_of(model), *extra])


def unknown_keys(data: Any, model: type[BaseModel], path: str, extra: tuple[str, ...] = ()) -> list[Problem]:
    """Unknown keys in `data` checked against `model` (and `extra`), recursing into sub-models."""
    if not isinstance(data, LocDict):
        return []
    allowed = [*model.model_fields, *extra]
    problems: list[Problem] = []
    for key, value in data.items():
        where = join(path, key)
        if key not in allowed:
            pos = data.key_pos[key]
            problems.append(Problem(pos.file, pos.line, pos.col, where, f"unknown key{key_hint(key, model, extra)}"))
            continue
        if key in extra:
            continue
        sub = type_at(model, (key,))
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            problems.extend(unknown_keys(value, sub, where))
        elif get_origin(sub) is dict and isinstance(value, Mapping):
            item = _unwrap(get_args(sub)[1])
            if isinstance(item, type) and issubclass(item, BaseModel):
                for name, body in value.items():
                    problems.extend(unknown_keys(body, item, join(where, name)))
    return problems


def unknown_keys_in_document(doc: LocDict) -> list[Problem]:
    """Every unknown key in one raw file, in every section, used or not."""
    problems = _unknown_top(doc, FILE_KEYS, "")
    envs = doc.get("environments")
    if isinstance(envs, LocDict):
        for name, overlay in envs.items():
            if overlay is not None and not isinstance(overlay, LocDict):
                pos = envs.val_pos[name]
                problems.append(Problem(pos.file, pos.line, pos.col, dotted("environments", name), "must be a mapping"))
            problems.extend(_unknown_top(overlay, ENVIRONMENT_KEYS, dotted("environments", name)))
    elif envs is not None:
        pos = doc.val_pos["environments"]
        problems.append(Problem(pos.file, pos.line, pos.col, "environments", "must be a mapping of environments"))
    return problems


def _unknown_top(doc: Any, allowed: tuple[str, ...], path: str) -> list[Problem]:
    if not isinstance(doc, LocDict):
        return []
    problems: list[Problem] = []
    for key in doc:
        if key not in allowed:
            pos = doc.key_pos[key]
            message = f"unknown key{did_you_mean(key, allowed)}"
            problems.append(Problem(pos.file, pos.line, pos.col, join(path, key), message))
    problems.extend(unknown_keys(doc.get("defaults"), Process, join(path, "defaults")))
    problems.extend(unknown_keys(doc.get("api"), Api, join(path, "api")))
    problems.extend(unknown_keys(doc.get("log"), ReconcilerLog, join(path, "log")))
    problems.extend(unknown_keys(doc.get("source"), Source, join(path, "source")))
    # Top-level processes are checked by validation after merging (their keys all land there);
    # templates, defaults and environment overlays may never be used, so they are checked here.
    groups = doc.get("groups")
    if isinstance(groups, LocDict):
        for name, body in groups.items():
            problems.extend(unknown_keys(body, Group, join(join(path, "groups"), name)))
    for section in ("templates", "processes") if path else ("templates",):
        bodies = doc.get(section)
        if isinstance(bodies, LocDict):
            for name, body in bodies.items():
                problems.extend(unknown_keys(body, Process, join(join(path, section), name), extra=("extends",)))
    return problems


