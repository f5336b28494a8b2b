"""PM2 ecosystem files (JSON, YAML, or a JavaScript file that is a plain object literal) → sentinel processes.

Each app of `apps` is a process: `interpreter` (node for .js, as PM2 picks it by extension, or none),
`interpreter_args`/`node_args`, `script` and `args` make its argv (PM2 runs no shell). JavaScript is
never run: `module.exports = {...}` is read only when it holds literals alone (strings, numbers,
booleans, null, arrays, objects); anything else (a `require`, `process.env`, a function call) is
refused in one line pointing at `pm2 ecosystem` or a JSON file.
"""

from __future__ import annotations

import os
import re
import shlex
from typing import Any

from sentinel.errors import ConfigError
from sentinel.importers.common import (
    FILE_NOTES,
    Translation,
    as_int,
    as_number,
    as_text,
    environment,
    literal,
    seconds,
    size,
)

_INTERPRETERS = {".js": "node", ".cjs": "node", ".mjs": "node", ".py": "python3", ".sh": "bash", ".rb": "ruby",
                 ".pl": "perl", ".php": "php", ".ts": "ts-node", ".coffee": "coffee"}
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]?)B?\s*$", re.IGNORECASE)
_MEMORY_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}  # PM2's units are powers of 1024
_EXP_BACKOFF_MAX = 15.0  # seconds: PM2's exponential restart delay stops growing here
_EXP_BACKOFF_FACTOR = 1.5
_CARRIED = {
    "name", "script", "args", "interpreter", "exec_interpreter", "interpreter_args", "node_args", "cwd", "env",
    "instances", "autorestart", "max_restarts", "min_uptime", "restart_delay", "exp_backoff_restart_delay",
    "cron_restart", "kill_timeout", "max_memory_restart", "namespace", "user", "uid", "stop_exit_codes",
    "exec_mode", "watch",
}
_LOG_KEYS = {"out_file", "error_file", "log_file", "merge_logs", "combine_logs", "log_date_format", "log_type",
             "output", "error"}


def from_pm2(data: Any, source: str) -> Translation:
    apps = data.get("apps") if isinstance(data, dict) else data
    if isinstance(apps, dict):
        apps = [apps]
    if not isinstance(apps, list) or not apps:
        raise ConfigError.single(source, "has no `apps` list: not a PM2 ecosystem file")
    translation = Translation("pm2")
    for index, app in enumerate(apps):
        if not isinstance(app, dict) or not isinstance(app.get("script"), str) or not app["script"].strip():
            translation.note(FILE_NOTES, f"apps[{index}]: no script, not carried over")
            continue
        script = app["script"].strip()
        name = translation.new_name(str(app.get("name") or os.path.splitext(os.path.basename(script))[0]))
        translation.processes[name] = _app(translation, name, app, script)
        _overlays(translation, name, app)
        _cron_restart(translation, name, app.get("cron_restart"))
        logs = sorted(set(app) & _LOG_KEYS)
        if logs:
            translation.note(name, f"{', '.join(logs)}: output goes to the state directory's logs/ "
                                   "(`sentinel logs NAME`), stdout and stderr together, each line time-stamped")
        for key in sorted(set(app) - _CARRIED - _LOG_KEYS):
            if not key.startswith("env_"):
                translation.note(name, f"{key}: not carried over")
    return translation


def _app(translation: Translation, name: str, app: dict[str, Any], script: str) -> dict[str, Any]:
    body: dict[str, Any] = {"command": _argv(translation, name, app, script)}
    if app.get("cwd"):
        body["cwd"] = literal(str(app["cwd"]))
    env = environment(app.get("env"), translation, name)
    if env:
        body["env"] = env
    if app.get("namespace"):
        body["group"] = str(app["namespace"])
    user = app.get("user") or app.get("uid")
    if user:
        body["user"] = str(user)
    instances = as_int(app.get("instances"))
    if instances is not None and instances > 1:
        body["replicas"] = instances
    elif app.get("instances") not in (None, 1):
        translation.note(name, f"instances {app['instances']!r} (one per CPU): set replicas to the number you want")
    if app.get("exec_mode") == "cluster":
        translation.note(name, "exec_mode cluster: instances are separate processes here, without PM2's shared "
                               "port; give each its own PORT or put a proxy in front")
    body["restart"] = _restart(translation, name, app)
    kill_timeout = as_number(app.get("kill_timeout"))
    if kill_timeout is not None:
        body["stop"] = {"timeout": seconds(kill_timeout / 1000)}
    if app.get("max_memory_restart") is not None:
        match = _MEMORY.match(str(app["max_memory_restart"]))
        if match:
            amount = float(match.group(1)) * _MEMORY_UNITS[match.group(2).upper()]
            body["limits"] = {"memory": size(int(amount))}
        else:
            translation.note(name, f"max_memory_restart {app['max_memory_restart']!r}: not a size, not carried over")
    if app.get("watch"):
        translation.note(name, "watch: PM2 restarts on file changes; here `reload.watch` reloads (a signal or a "
                               "command) on changes of listed files, and `sentinel restart NAME` restarts")
    return body


def _argv(translation: Translation, name: str, app: dict[str, Any], script: str) -> list[str]:
    interpreter = app.get("interpreter") or app.get("exec_interpreter")
    if interpreter is None:
        interpreter = _INTERPRETERS.get(os.path.splitext(script)[1].lower(), "none")
    argv = [] if interpreter == "none" else [str(interpreter)]
    argv += _words(translation, name, "interpreter_args", app.get("interpreter_args") or app.get("node_args"))
    argv.append(script)
    argv += _words(translation, name, "args", app.get("args"))
    return [literal(word) for word in argv]


def _words(translation: Translation, name: str, key: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [text for item in value if (text := as_text(item)) is not None]
    try:
        return shlex.split(str(value))
    except ValueError:
        translation.note(name, f"{key} {value!r}: cannot be split into arguments; passed as one")
        return [str(value)]


def _restart(translation: Translation, name: str, app: dict[str, Any]) -> dict[str, Any]:
    restart: dict[str, Any] = {"policy": "never" if app.get("autorestart") is False else "always"}
    codes = app.get("stop_exit_codes")
    if codes is not None and restart["policy"] == "always":
        listed = [as_int(code) for code in (codes if isinstance(codes, list) else [codes])]
        restart["policy"] = "on-failure"
        restart["exit_codes"] = [code for code in listed if code is not None and 0 <= code <= 255] or [0]
    retries = as_int(app.get("max_restarts"))
    if retries is not None and retries >= 0:
        restart["max_retries"] = retries
    uptime = _milliseconds_or_text(app.get("min_uptime"))
    if uptime is not None:
        restart["reset_after"] = uptime
    exponential = as_number(app.get("exp_backoff_restart_delay"))
    delay = as_number(app.get("restart_delay"))
    if exponential is not None:
        start = exponential / 1000
        restart["backoff"] = {"initial": seconds(start), "factor": _EXP_BACKOFF_FACTOR,
                              "max": seconds(max(start, _EXP_BACKOFF_MAX))}
    elif delay is not None:
        restart["backoff"] = {"initial": seconds(delay / 1000), "factor": 1, "max": seconds(delay / 1000)}
    return restart


def _milliseconds_or_text(value: Any) -> str | None:
    """PM2's time: a number of milliseconds, or text like `1h` or `5s` (kept)."""
    number = as_number(value)
    if number is not None:
        return seconds(number / 1000)
    return str(value) if isinstance(value, str) and value.strip() else None


def _overlays(translation: Translation, name: str, app: dict[str, Any]) -> None:
    """`env_production: {...}` → `environments: {production: {processes: {NAME: {env: ...}}}}` (`--env production`)."""
    for key, value in app.items():
        if key.startswith("env_") and len(key) > 4:
            env = environment(value, translation, name)
            overlay = translation.environments.setdefault(key[4:], {"processes": {}})
            overlay["processes"][name] = {"env": env}


def _cron_restart(translation: Translation, name: str, cron: Any) -> None:
    if not cron:
        return
    job = translation.new_name(f"{name}-cron-restart")
    translation.processes[job] = {"command": ["sentinel", "restart", name], "schedule": {"cron": str(cron)}}
    translation.note(job, f"cron_restart of {name}: a job that runs `sentinel restart {name}` (sentinel on PATH)")


_TOKEN = re.compile(r"""
    (?P<space>\s+|//[^\n]*|/\*.*?\*/)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<word>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<punct>[{}\[\]:,])
""", re.VERBOSE | re.DOTALL)
_EXPORT = re.compile(r"\bmodule\.exports\s*=\s*|\bexport\s+default\s+")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
_WORDS: dict[str, Any] = {"true": True, "false": False, "null": None, "undefined": None}


class NotLiteral(ValueError):
    """The JavaScript is more than a plain object literal."""


def parse_javascript(text: str, source: str) -> Any:
    """The object literal `module.exports` is set to, read without running anything."""
    found = _EXPORT.search(text)
    try:
        if found is None:
            raise NotLiteral("no `module.exports = {...}`")
        tokens = _tokens(text, found.end())
        value, position = _value(tokens, 0)
        if position < len(tokens) and tokens[position] != ("punct", ";"):
            raise NotLiteral("more code after the object")
        return value
    except (NotLiteral, RecursionError, IndexError) as exc:
        raise ConfigError.single(source, f"is not a plain object literal ({exc or 'it ends early'}): PM2 must run "
                                 "it; convert it with `pm2 ecosystem` or write it as JSON, then import that") from None


def _tokens(text: str, start: int) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    position = start
    while position < len(text):
        if text[position] == ";":
            tokens.append(("punct", ";"))
            if text[position + 1 :].strip():
                raise NotLiteral("more code after the object")
            break
        match = _TOKEN.match(text, position)
        if match is None:
            line = text.count("\n", 0, position) + 1
            raise NotLiteral(f"{text[position]!r} on line {line}")
        position = match.end()
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append((kind, match.group()))
    return tokens


def _value(tokens: list[tuple[str, Any]], position: int) -> tuple[Any, int]:
    kind, text = tokens[position]
    if kind == "string":
        return _string(text[1:-1]), position + 1
    if kind == "number":
        number = float(text)
        return (int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number,
                position + 1)
    if kind == "word" and text in _WORDS:
        return _WORDS[text], position + 1
    if text == "[":
        return _array(tokens, position + 1)
    if text == "{":
        return _object(tokens, position + 1)
    raise NotLiteral(f"{text!r} is not a literal")


def _array(tokens: list[tuple[str, Any]], position: int) -> tuple[list[Any], int]:
    items: list[Any] = []
    while tokens[position][1] != "]":
        item, position = _value(tokens, position)
        items.append(item)
        if tokens[position][1] == ",":
            position += 1
        elif tokens[position][1] != "]":
            raise NotLiteral(f"{tokens[position][1]!r} in an array")
    return items, position + 1


def _object(tokens: list[tuple[str, Any]], position: int) -> tuple[dict[str, Any], int]:
    found: dict[str, Any] = {}
    while tokens[position][1] != "}":
        kind, key = tokens[position]
        if kind not in ("word", "string") or tokens[position + 1][1] != ":":
            raise NotLiteral(f"{key!r} where a key: value was expected")
        value, position = _value(tokens, position + 2)
        found[key if kind == "word" else _string(key[1:-1])] = value
        if tokens[position][1] == ",":
            position += 1
        elif tokens[position][1] != "}":
            raise NotLiteral(f"{tokens[position][1]!r} in an object")
    return found, position + 1


def _string(body: str) -> str:
    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", _unescape, body, flags=re.DOTALL)


def _unescape(match: re.Match[str]) -> str:
    escaped = match.group(1)
    if escaped.startswith("u") and len(escaped) == 5:
        return chr(int(escaped[1:], 16))
    return _ESCAPES.get(escaped, escaped)
