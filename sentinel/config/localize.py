"""Making a process concrete for this machine: `env_file` reading, `${VAR}` interpolation, `cwd`.

Relative paths are relative to the file that declares them (which may be an include or a
template's file), known from each value's position. A process without `cwd` runs in the
directory of the root config file, whichever directory the reconciler was started from.
Called by `sentinel.config.loader` after templates and defaults are merged.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from typing import Any

from sentinel.config.envfile import EnvFileError, parse_env_file
from sentinel.config.interpolate import InterpolationError, interpolate, split_before_interpolating
from sentinel.config.keypath import dotted, join
from sentinel.config.reading import UnreadableFile, read_regular_file
from sentinel.config.secrets import TrackedVariables, is_secret
from sentinel.config.source import LocDict, LocList, Pos
from sentinel.errors import Problem

ENV_FILE_MAX_BYTES = 1024 * 1024  # an env_file larger than 1 MiB is refused (docs/limitations.md)


def _absolute(value: str, declared_in: str) -> str:
    expanded = os.path.expanduser(value)
    return os.path.abspath(os.path.join(os.path.dirname(declared_in), expanded))


def resolve_process(name: str, process: LocDict, root: str, environ: Mapping[str, str], problems: list[Problem],
                    *, tainted: dict[str, frozenset[str]]) -> tuple[LocDict, dict[str, str]]:
    """The process with env_file paths absolute, strings interpolated and cwd absolute,
    plus the variables its env files define.

    `${VAR}` reads the process's own environment, built as it will be when it runs: the
    reconciler's, then `env_file`, then `env` (whose own values read only the first two).
    Secret values taken in (from an env_file, a secret-looking name, or an `env` value that took
    one) are filed in `tainted` under the key path of each string that holds them.
    """
    path = dotted("processes", name)
    env_files, file_vars = _env_files(process, path, environ, problems)

    def secret(variable: str) -> bool:
        return variable in file_vars or is_secret(variable)

    variables = TrackedVariables({**environ, **file_vars}, secret, tainted)
    env = process.get("env")
    carried: set[str] = set()  # env variables whose values took a secret in
    if isinstance(env, LocDict):
        env_path = join(path, "env")
        env = interpolate_tree(env, variables, env_path, problems, process.val_pos["env"])
        carried = {key for key in env if join(env_path, key) in tainted}
        plain = {key: str(value) for key, value in env.items() if isinstance(value, str | int)}
        variables = TrackedVariables({**environ, **file_vars, **plain}, lambda v: secret(v) or v in carried, tainted)
    out = LocDict(process.pos)
    for key in process:
        if key == "env_file":
            new: Any = env_files
        elif key == "env":
            new = env
        else:
            new = _interpolate_value(process, key, variables, join(path, key), problems)
        if key == "cwd" and isinstance(new, str):
            new = _absolute(new, process.val_pos[key].file)
        out.put(key, new, process.key_pos[key], process.val_pos[key])
    if "cwd" not in out:
        out.put("cwd", os.path.dirname(os.path.abspath(root)), process.pos, process.pos)
    return out, file_vars


def _interpolate_value(body: LocDict, key: str, variables: Mapping[str, str], path: str,
                       problems: list[Problem]) -> Any:
    """`body[key]` interpolated; `command` (unless `shell: true`) and `health.exec` argument by argument."""
    value, pos = body[key], body.val_pos[key]
    if (key == "command" and body.get("shell") is not True) or key == "exec":
        return _interpolate_command(value, variables, path, problems, pos)
    if key == "health" and isinstance(value, LocDict):
        health = LocDict(value.pos)
        for name in value:
            new = _interpolate_value(value, name, variables, join(path, name), problems)
            health.put(name, new, value.key_pos[name], value.val_pos[name])
        return health
    return interpolate_tree(value, variables, path, problems, pos)


def _interpolate_command(command: Any, variables: Mapping[str, str], path: str, problems: list[Problem],
                         pos: Pos) -> Any:
    """A command string split into arguments first, then each interpolated, then joined again with
    the quoting that splits back to the same arguments: a value can never change their number."""
    if not isinstance(command, str) or "${" not in command:
        return interpolate_tree(command, variables, path, problems, pos)
    try:
        arguments = split_before_interpolating(command)
    except ValueError:  # an unclosed quote or `${`: reported by interpolation or validation, with its place
        return interpolate_tree(command, variables, path, problems, pos)
    return shlex.join(_interpolate_text(argument, variables, (path,), problems, pos) for argument in arguments)


def _env_files(process: LocDict, path: str, environ: Mapping[str, str],
               problems: list[Problem]) -> tuple[Any, dict[str, str]]:
    """`env_file` with each path interpolated and made absolute, and the variables they define."""
    raw = process.get("env_file")
    if not isinstance(raw, str | LocList):
        return raw, {}
    where = process.val_pos["env_file"]
    entries = [(raw, where)] if isinstance(raw, str) else list(zip(raw, raw.item_pos, strict=True))
    resolved = LocList(where)
    variables: dict[str, str] = {}
    for i, (entry, pos) in enumerate(entries):
        key_path = join(path, "env_file") if isinstance(raw, str) else join(join(path, "env_file"), i)
        if not isinstance(entry, str):
            resolved.add(entry, pos)  # validation reports the type
            continue
        known = len(problems)
        text = interpolate_tree(entry, environ, key_path, problems, pos)
        shown = os.path.normpath(os.path.join(os.path.dirname(pos.file), os.path.expanduser(text)))
        if len(problems) == known:  # a path with an unset variable is not worth a "not found" too
            variables.update(read_env_file(shown, pos, problems, key_path))
        resolved.add(os.path.abspath(shown), pos)
    return resolved, variables


def interpolate_tree(node: Any, variables: Mapping[str, str], path: str, problems: list[Problem],
                     pos: Pos | None = None) -> Any:
    """Every string in `node` interpolated; problems recorded with each string's place.

    Returns `node` itself when nothing in it changes (most values hold no `$`).
    """
    return _interpolate(node, variables, (path,), problems, pos or Pos("", 0, 0))


Path = tuple[str | int, ...]


def _interpolate(node: Any, variables: Mapping[str, str], path: Path, problems: list[Problem], pos: Pos) -> Any:
    if isinstance(node, str):
        return _interpolate_text(node, variables, path, problems, pos) if "$" in node else node
    if isinstance(node, LocDict):
        out = LocDict(node.pos)
        for key, value in node.items():
            new = _interpolate(value, variables, (*path, key), problems, node.val_pos[key])
            out.put(key, new, node.key_pos[key], node.val_pos[key])
        return out if any(out[key] is not node[key] for key in node) else node
    if isinstance(node, LocList):
        items = LocList(node.pos)
        for i, (value, item_pos) in enumerate(zip(node, node.item_pos, strict=True)):
            items.add(_interpolate(value, variables, (*path, i), problems, item_pos), item_pos)
        return items if any(a is not b for a, b in zip(items, node, strict=True)) else node
    return node


def _interpolate_text(text: str, variables: Mapping[str, str], path: Path, problems: list[Problem], pos: Pos) -> str:
    where = str(path[0])
    for part in path[1:]:
        where = join(where, part)
    try:
        return interpolate(text, variables)
    except InterpolationError as exc:
        problems.append(Problem(pos.file, pos.line, pos.col, where, str(exc)))
        return text
    finally:
        if isinstance(variables, TrackedVariables):
            variables.taken(where)


def read_env_file(path: str, where: Pos, problems: list[Problem], key_path: str) -> dict[str, str]:
    """The variables of one env file; a problem (and nothing) when it cannot be read."""
    try:
        text = read_regular_file(path, ENV_FILE_MAX_BYTES).decode("utf-8")
    except FileNotFoundError:
        return _unreadable(f"env file '{path}' not found", where, problems, key_path)
    except OSError as exc:
        return _unreadable(f"env file '{path}' cannot be read: {exc.strerror or exc}", where, problems, key_path)
    except UnreadableFile as exc:
        return _unreadable(f"env file '{path}' {exc}", where, problems, key_path)
    except UnicodeDecodeError:
        return _unreadable(f"env file '{path}' cannot be read: not UTF-8 text", where, problems, key_path)
    try:
        return parse_env_file(text)
    except EnvFileError as exc:
        problems.append(Problem(path, exc.line, 1, "", f"{exc} (env file of {key_path})"))
        return {}


def _unreadable(message: str, where: Pos, problems: list[Problem], key_path: str) -> dict[str, str]:
    problems.append(Problem(where.file, where.line, where.col, key_path, message))
    return {}
