"""supervisord's INI file → sentinel processes.

`[program:x]` sections become processes, read as supervisord reads them: `%(program_name)s`-style
expansions, `%(ENV_NAME)s` (here `${NAME}`, read from the reconciler's environment as supervisord
reads its own), `environment` with supervisord's quoting, `numprocs` (replicas, or one process per
number when the command uses `%(process_num)d`), `[group:x]` members and `[supervisord]`'s
`environment`, which every program inherits. supervisord never runs a command through a shell.
"""

from __future__ import annotations

import configparser
import os
import re
import shlex
from typing import Any

from sentinel.errors import ConfigError
from sentinel.importers.common import FILE_NOTES, Translation, as_int, literal, seconds, size

_EXPANSION = re.compile(r"%%|%\(([A-Za-z0-9_]+)\)([-#0 +]*\d*(?:\.\d+)?[sdi])")
_SIZE = re.compile(r"^\s*(\d+)\s*(KB|MB|GB)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}  # supervisord's byte_size: powers of 1024
_CARRIED = {
    "command", "process_name", "numprocs", "numprocs_start", "directory", "user", "environment", "autorestart",
    "exitcodes", "startretries", "startsecs", "stopsignal", "stopwaitsecs", "stopasgroup", "killasgroup",
    "stdout_logfile_maxbytes", "stdout_logfile_backups", "redirect_stderr", "autostart", "priority",
    "stdout_logfile", "stderr_logfile",
}
MIXED_NOTE = ("stop mode mixed (stopasgroup=false): the stop signal goes to the main process, as supervisord sends "
              "it; what it leaves running is killed after stop.timeout, where supervisord would leave it running")
_UNSUPPORTED_SECTIONS = {"fcgi-program": "FastCGI programs", "eventlistener": "event listeners"}


def from_supervisord(text: str, source: str) -> Translation:
    parser = _parse(text, source)
    translation = Translation("supervisord")
    here = os.path.dirname(os.path.abspath(source))
    inherited: dict[str, str] = {}
    if parser.has_section("supervisord") and parser.has_option("supervisord", "environment"):
        inherited = _environment(parser.get("supervisord", "environment"), {"here": here}, translation, None)
    groups = _groups(parser, translation)
    for section in parser.sections():
        kind, _, name = section.partition(":")
        if kind == "program" and name:
            _program(translation, name, dict(parser.items(section)), here=here, group=groups.get(name),
                     inherited=inherited)
        elif kind in _UNSUPPORTED_SECTIONS:
            translation.note(FILE_NOTES, f"[{section}]: {_UNSUPPORTED_SECTIONS[kind]} are not carried over")
        elif kind == "include":
            files = parser.get(section, "files", fallback="")
            translation.note(FILE_NOTES, f"[include] files = {files}: not followed; import those files too and "
                                         "merge them, or list them under `include:`")
    if not translation.processes and not translation.notes:
        raise ConfigError.single(source, "has no [program:NAME] section: nothing to import")
    return translation


def _parse(text: str, source: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(inline_comment_prefixes=(";", "#"), strict=True)
    parser.optionxform = lambda option: option.strip().lower()  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text, source)
    except configparser.MissingSectionHeaderError as exc:
        raise ConfigError.single(source, "is not a supervisord INI file (no [section] header before the first "
                                         "setting)", line=exc.lineno, col=1) from None
    except (configparser.DuplicateSectionError, configparser.DuplicateOptionError) as exc:
        message = str(exc).split(": ", 1)[-1].split("\n")[0]
        raise ConfigError.single(source, message, line=exc.lineno or 0, col=1) from None
    except configparser.ParsingError as exc:
        line = exc.errors[0][0] if exc.errors else 0
        raise ConfigError.single(source, "is not valid INI (a line is neither `[section]` nor `key = value`)",
                                 line=line, col=1) from None
    except configparser.Error as exc:
        raise ConfigError.single(source, f"is not valid INI: {' '.join(str(exc).split())}") from None
    return parser


def _groups(parser: configparser.RawConfigParser, translation: Translation) -> dict[str, str]:
    """Program name → the `[group:x]` that lists it."""
    member_of: dict[str, str] = {}
    for section in parser.sections():
        kind, _, group = section.partition(":")
        if kind != "group" or not group:
            continue
        for program in parser.get(section, "programs", fallback="").split(","):
            if program.strip():
                member_of[program.strip()] = group
        if parser.has_option(section, "priority"):
            translation.note(FILE_NOTES, f"[{section}] priority: order processes with depends_on instead")
    return member_of


def _expand(value: str, names: dict[str, Any], translation: Translation, process: str | None) -> str:
    """supervisord's `%(name)s` expansions, the rest literal: `%(ENV_X)s` becomes `${X}`."""
    out: list[str] = []
    position = 0
    for match in _EXPANSION.finditer(value):
        out.append(literal(value[position : match.start()]))
        position = match.end()
        key, conversion = match.group(1), match.group(2)
        if match.group() == "%%":
            out.append("%")
        elif key.startswith("ENV_"):
            out.append("${" + key[4:] + "}")
            needed = f"${{{key[4:]}}} (from %({key})s) is read from the reconciler's environment: it must be set"
            if needed not in translation.notes.get(FILE_NOTES, []):
                translation.note(FILE_NOTES, needed)
        elif key in names:
            try:
                out.append(literal(("%" + conversion) % names[key]))
            except (TypeError, ValueError):
                out.append(literal(str(names[key])))
        else:
            translation.note(process, f"%({key}){conversion}: not a supervisord expansion, kept as written")
            out.append(literal(match.group()))
    out.append(literal(value[position:]))
    return "".join(out)


def _environment(value: str, names: dict[str, Any], translation: Translation, process: str | None) -> dict[str, str]:
    """`KEY="val",KEY2=val2`, split as supervisord splits it (shlex, `=` and `,` between)."""
    lexer = shlex.shlex(value)
    lexer.wordchars += "/.+-():%${}@*!~^&"
    try:
        tokens = list(lexer)
    except ValueError as exc:
        translation.note(process, f"environment: not carried over ({exc})")
        return {}
    found: dict[str, str] = {}
    for index in range(0, len(tokens), 4):
        triple = tokens[index : index + 3]
        if len(triple) != 3 or triple[1] != "=" or (index + 3 < len(tokens) and tokens[index + 3] != ","):
            translation.note(process, "environment: not KEY=value pairs separated by commas; not carried over")
            return {}
        found[triple[0]] = _expand(triple[2].strip("'\""), names, translation, process)
    return found


def _program(translation: Translation, program: str, options: dict[str, str], *, here: str, group: str | None,
             inherited: dict[str, str]) -> None:
    command = options.get("command")
    if not command:
        translation.note(FILE_NOTES, f"[program:{program}] has no command: not carried over")
        return
    count = as_int(options.get("numprocs", "1")) or 1
    first = as_int(options.get("numprocs_start", "0")) or 0
    pattern = options.get("process_name", "%(program_name)s")
    per_number = count > 1 and any("process_num" in options.get(key, "") for key in ("command", "environment",
                                                                                      "directory"))
    numbers = range(first, first + count) if per_number else [first]
    created: list[str] = []
    for number in numbers:
        names = {"program_name": program, "process_num": number, "group_name": group or program,
                 "host_node_name": os.uname().nodename, "here": here, "numprocs": count}
        name = translation.new_name(_expand(pattern, names, translation, None) if per_number else program)
        created.append(name)
        body = _body(translation, name, options, names, inherited)
        if group or per_number:
            body["group"] = group or program
        if count > 1 and not per_number:
            body["replicas"] = count
            translation.note(name, f"numprocs={count}: instances {name}.0 … {name}.{count - 1} "
                                   "(process_name is not used)")
        translation.processes[name] = body
    for key in sorted(set(options) - _CARRIED):
        translation.note(created[0], f"{key} = {options[key]}: not carried over")


def _body(translation: Translation, name: str, options: dict[str, str], names: dict[str, Any],
          inherited: dict[str, str]) -> dict[str, Any]:
    def expanded(key: str) -> str:
        return _expand(options[key], names, translation, name)

    body: dict[str, Any] = {"command": expanded("command")}
    env = dict(inherited)
    if "environment" in options:
        env.update(_environment(options["environment"], names, translation, name))
    if env:
        body["env"] = env
    if "directory" in options:
        body["cwd"] = expanded("directory")
    else:
        translation.note(name, "no directory: it runs in the directory of this file (supervisord: its own)")
    if "user" in options:
        body["user"] = expanded("user")
        translation.note(name, "user: the reconciler must run as root to switch users")
    body["restart"] = _restart(translation, name, options)
    body["stop"] = _stop(translation, name, options)
    logs = _logs(translation, name, options)
    if logs:
        body["logs"] = logs
    if options.get("autostart", "true").lower() == "false":
        translation.note(name, "autostart=false: it starts with the others here; `sentinel stop NAME` holds it "
                               "stopped")
    if "priority" in options:
        translation.note(name, f"priority={options['priority']}: order processes with depends_on instead")
    for key in ("stdout_logfile", "stderr_logfile"):
        if options.get(key, "").upper() not in ("", "AUTO", "NONE"):
            translation.note(name, f"{key}={options[key]}: output goes to the state directory's logs/ "
                                   "(`sentinel logs NAME`), stdout and stderr together")
    return body


def _restart(translation: Translation, name: str, options: dict[str, str]) -> dict[str, Any]:
    autorestart = options.get("autorestart", "unexpected").lower()
    restart: dict[str, Any] = {"policy": {"true": "always", "false": "never"}.get(autorestart, "on-failure")}
    if autorestart not in ("true", "false", "unexpected"):
        translation.note(name, f"autorestart={autorestart}: not true, false or unexpected; read as unexpected")
    codes = [as_int(code) for code in options.get("exitcodes", "0").split(",") if code.strip()]
    valid = [code for code in codes if code is not None and 0 <= code <= 255]
    if len(valid) != len(codes):
        translation.note(name, f"exitcodes={options['exitcodes']}: only the codes 0 to 255 carried over")
    restart["exit_codes"] = valid or [0]
    retries = as_int(options.get("startretries", "3"))
    if retries is not None and retries >= 0:
        restart["max_retries"] = retries
    startsecs = as_int(options.get("startsecs", "1"))
    if startsecs is not None and startsecs >= 0:
        restart["reset_after"] = seconds(startsecs)  # a run this long counts as started, as with startsecs
    return restart


def _stop(translation: Translation, name: str, options: dict[str, str]) -> dict[str, Any]:
    stop: dict[str, Any] = {"signal": options.get("stopsignal", "TERM").strip().upper()}
    wait = as_int(options.get("stopwaitsecs", "10"))
    if wait is not None and wait >= 0:
        stop["timeout"] = seconds(wait)
    as_group = options.get("stopasgroup", "false").lower() == "true"
    stop["mode"] = "group" if as_group else "mixed"
    if not as_group and MIXED_NOTE not in translation.notes.get(FILE_NOTES, []):
        translation.note(FILE_NOTES, MIXED_NOTE)
    return stop


def _logs(translation: Translation, name: str, options: dict[str, str]) -> dict[str, Any]:
    logs: dict[str, Any] = {}
    if "stdout_logfile_maxbytes" in options:
        match = _SIZE.match(options["stdout_logfile_maxbytes"])
        if match and int(match.group(1)) > 0:
            logs["max_size"] = size(int(match.group(1)) * _SIZE_UNITS[(match.group(2) or "").upper()])
        else:
            translation.note(name, f"stdout_logfile_maxbytes={options['stdout_logfile_maxbytes']}: "
                                   "logs are always rotated here")
    if "stdout_logfile_backups" in options:
        backups = as_int(options["stdout_logfile_backups"])
        if backups is not None and backups >= 1:
            logs["keep"] = min(backups, 1000)
        else:
            translation.note(name, "stdout_logfile_backups: at least one rotated file is kept here")
    return logs
