"""Loading a `sentinel.yaml`: files → resolved, validated `Config`, or a ConfigError listing every problem.

The pipeline, each step named once here (docs/conventions.md#named-pipeline-steps):
  read files and includes → environment overlay → templates (`extends`) → `defaults` →
  per-process `env_file`, interpolation and paths → validation → cross-process checks.
The environment overlay comes before templates and defaults, so an environment can change
those too and a process it adds is expanded like any other.

Loading has no side effects beyond reading files, never exits, and never prints: callers
(the CLI, later the reconciler) decide what an error means for them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sentinel.config import resolve
from sentinel.config.budget import Budget, BudgetExceeded
from sentinel.config.hosts import Host
from sentinel.config.localize import interpolate_tree, resolve_process
from sentinel.config.reading import UnreadableFile, read_regular_file
from sentinel.config.secrets import EVENT_MASK_MIN, Tainted, TrackedVariables, all_secrets, is_secret, redact
from sentinel.config.source import MAX_FILE_BYTES, LocDict, LocList, Pos, parse_or_raise
from sentinel.errors import ConfigError, Problem, SentinelError

if TYPE_CHECKING:
    from sentinel.config.models import Config  # imported lazily at run time: pydantic is slow to import

_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True, slots=True)
class Loaded:
    """A loaded config and what it was made from."""

    config: Config
    files: tuple[str, ...]  # every config file read, root first, then includes in merge order
    env_files: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # process → env_file variables
    environment: str | None = None
    tainted: Tainted = field(default_factory=dict)  # key path → secret values in that string (config.secrets)
    # process → {file in `reload.watch`: digest of its content}; a change reloads the process
    watched: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    host: Host | None = None  # the host `config` was cut to (`hosts:` selectors); None: every process
    left_out: tuple[str, ...] = ()  # the processes of the file that do not run on `host`

    def watched_paths(self) -> frozenset[str]:
        """The absolute paths of every file in a `reload.watch` (the reconciler watches them with its config)."""
        return frozenset(watch_path(process.cwd or ".", name) for process in self.config.processes.values()
                         if process.reload is not None for name in process.reload.watch)


def load(path: str, *, env: str | None = None, environ: Mapping[str, str] | None = None,
         host: Host | None = None) -> Loaded:
    """Load, resolve and validate the config at `path` for environment `env`.

    `environ` is the environment `${VAR}` reads (default: this process's). With `host`, only what runs
    there (`hosts:` selectors, config.hosts.select); every process of the file is validated all the same.
    """
    environ = dict(os.environ if environ is None else environ)  # a plain dict: os.environ decodes on every read
    problems: list[Problem] = []
    files: list[str] = []
    budget = Budget()
    doc = _read_with_includes(path, Pos(path, 0, 0), (), files, problems, budget=budget)
    doc = resolve.overlay_environment(doc, env)
    tainted: dict[str, frozenset[str]] = {}
    resolved, env_files = _expand(doc, path, environ, problems, budget=budget, tainted=tainted)
    config, left_out = _validate(resolved, path, problems, host)
    if problems or config is None:
        raise ConfigError([_masked(problem, tainted) for problem in problems])
    env_files = {name: variables for name, variables in env_files.items() if name in config.processes}
    return Loaded(config=config, files=tuple(files), env_files=env_files, environment=env, tainted=tainted,
                  watched=_watched_digests(config), host=host, left_out=left_out)


def watch_path(cwd: str, name: str) -> str:
    """Where a `reload.watch` entry points: relative to the process's cwd."""
    return os.path.abspath(os.path.join(cwd, os.path.expanduser(name)))


def _watched_digests(config: Config) -> dict[str, dict[str, str]]:
    """The digest of each watched file's content; an unreadable or missing file has a digest too, so
    that its coming back is a change."""
    import hashlib

    out: dict[str, dict[str, str]] = {}
    for name, process in config.processes.items():
        if process.reload is None or not process.reload.watch:
            continue
        digests = out.setdefault(name, {})
        for entry in process.reload.watch:
            try:
                with open(watch_path(process.cwd or ".", entry), "rb") as handle:
                    digests[entry] = hashlib.file_digest(handle, "sha256").hexdigest()[:16]
            except OSError as err:
                digests[entry] = f"unreadable: {err.strerror}"
    return out


def _masked(problem: Problem, tainted: Tainted) -> Problem:
    """The problem with the secrets its value took in masked, and any other secret long enough to tell."""
    secrets = tainted.get(problem.path, frozenset()) | all_secrets(tainted, min_length=EVENT_MASK_MIN)
    message = redact(problem.message, secrets)
    if message == problem.message:
        return problem
    return Problem(problem.file, problem.line, problem.col, problem.path, message)


def _read_file(path: str) -> LocDict:
    return parse_or_raise(read_bytes(path), path)


def read_bytes(path: str) -> bytes:
    """The bytes of the file at `path` (a regular file of at most MAX_FILE_BYTES), or a one-line ConfigError
    saying why not. Also what `sentinel import` reads its source with."""
    try:
        return read_regular_file(path, MAX_FILE_BYTES)
    except UnreadableFile as exc:
        raise ConfigError.single(path, str(exc)) from None
    except FileNotFoundError:
        raise ConfigError.single(path, "file not found") from None
    except IsADirectoryError:
        raise ConfigError.single(path, "is a directory, not a file") from None
    except PermissionError:
        raise ConfigError.single(path, "cannot be read: permission denied") from None
    except OSError as exc:
        raise ConfigError.single(path, f"cannot be read: {exc.strerror or exc}") from None


def _read_with_includes(path: str, where: Pos, chain: tuple[str, ...], files: list[str], problems: list[Problem],
                        *, budget: Budget) -> LocDict:
    """The file at `path` (included at `where`) merged over its includes, each charged to `budget`."""
    from sentinel.config.keys import unknown_keys_in_document

    budget.charge_file(where, "include" if chain else "")
    doc = _read_file(path)
    budget.charge(doc, where, "include" if chain else "")
    files.append(path)
    problems.extend(unknown_keys_in_document(doc))
    layers: list[Mapping[str, Any]] = []
    real = os.path.realpath(path)
    for include, included_at in _include_paths(doc, path, problems):
        if os.path.realpath(include) in (*chain, real):
            problems.append(Problem(included_at.file, included_at.line, included_at.col, "include",
                                    f"'{include}' includes itself (directly or through other files)"))
            continue
        layers.append(_read_with_includes(include, included_at, (*chain, real), files, problems, budget=budget))
    layers.append(resolve.copy_map(doc, without=("include",)))
    return resolve.merge_all(layers, doc.pos)


def _include_paths(doc: LocDict, path: str, problems: list[Problem]) -> list[tuple[str, Pos]]:
    import glob

    raw = doc.get("include")
    if raw is None:
        return []
    where = doc.val_pos["include"]
    if isinstance(raw, str):
        entries = [(raw, where)]
    elif isinstance(raw, LocList):
        entries = list(zip(raw, raw.item_pos, strict=True))
    else:
        problems.append(Problem(where.file, where.line, where.col, "include", "must be a path or a list of paths"))
        return []
    base = os.path.dirname(path)
    found: list[tuple[str, Pos]] = []
    for i, (pattern, pos) in enumerate(entries):
        if not isinstance(pattern, str) or not pattern:
            problems.append(Problem(pos.file, pos.line, pos.col, f"include[{i}]", "must be a path or glob pattern"))
            continue
        full = os.path.normpath(os.path.join(base, os.path.expanduser(pattern)))
        if _GLOB_CHARS & set(pattern):
            found.extend((match, pos) for match in sorted(glob.glob(full)) if os.path.isfile(match))
        elif os.path.isfile(full):
            found.append((full, pos))
        elif os.path.isdir(full):
            hint = f"is a directory; to include the files in it, write '{os.path.join(pattern, '*.yaml')}'"
            problems.append(Problem(pos.file, pos.line, pos.col, f"include[{i}]", f"'{full}' {hint}"))
        else:
            problems.append(Problem(pos.file, pos.line, pos.col, f"include[{i}]", f"'{full}' does not exist"))
    return found


def _expand(doc: LocDict, path: str, environ: Mapping[str, str], problems: list[Problem], *,
            budget: Budget, tainted: dict[str, frozenset[str]]) -> tuple[LocDict, dict[str, dict[str, str]]]:
    """Templates and defaults merged into each process, then env_file, interpolation and paths."""
    out = resolve.copy_map(doc, without=("templates", "defaults"))
    templates = _mapping_or_problem(doc, "templates", problems)
    defaults = _mapping_or_problem(doc, "defaults", problems)
    processes = doc.get("processes")
    env_files: dict[str, dict[str, str]] = {}
    if isinstance(processes, Mapping):
        expanded = resolve.copy_map(processes)
        for name, body in processes.items():
            if not isinstance(body, Mapping):
                continue  # validation reports it with its place
            try:
                process = resolve.expand_process(name, body, templates, defaults, budget)
            except BudgetExceeded:
                raise
            except ConfigError as exc:
                problems.extend(exc.problems)
                del expanded[name]  # what it would be is unknown: validating it would only add noise
                continue
            process, env_files[name] = resolve_process(name, process, path, environ, problems, tainted=tainted)
            expanded[name] = process
        out["processes"] = expanded
    for section in ("api", "log", "notify", "source"):
        body = doc.get(section)
        if isinstance(body, LocDict | LocList):
            out[section] = interpolate_tree(body, TrackedVariables(environ, is_secret, tainted), section, problems)
    return out, env_files


def _mapping_or_problem(doc: LocDict, key: str, problems: list[Problem]) -> Mapping[str, Any]:
    value = doc.get(key)
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return value
    pos = doc.val_pos[key]
    problems.append(Problem(pos.file, pos.line, pos.col, key, "must be a mapping"))
    return {}


def _validate(doc: LocDict, path: str, problems: list[Problem],
              host: Host | None) -> tuple[Config | None, tuple[str, ...]]:
    """The validated config, cut to `host` if given, and the processes left out; None when invalid."""
    from pydantic import ValidationError

    from sentinel.config.graph import check_processes
    from sentinel.config.hosts import select
    from sentinel.config.models import Config, Process
    from sentinel.config.report import locate_issue, problems_from

    # Process's own validator and serializer first (once: a no-op afterwards), so that Config's are built from
    # them: the desired state dumps each Process (reconcile.desired), which would otherwise build them again.
    Process.model_rebuild()
    try:
        config = Config.model_validate(doc)
    except ValidationError as exc:
        # A place already reported (an unknown key, a variable that is not set) is not reported twice.
        seen = {(p.file, p.line, p.col) for p in problems}
        problems.extend(p for p in problems_from(exc, doc, path) if (p.file, p.line, p.col) not in seen)
        return None, ()
    if problems:
        return None, ()  # cross-process checks on a partly broken config would mostly report echoes
    left_out: tuple[str, ...] = ()
    issues: list[tuple[tuple[str | int, ...], str]] = []
    if host is not None:
        selected = select(config, host)
        config, left_out, issues = selected.config, selected.left_out, list(selected.issues)
    reported = {loc for loc, _ in issues}
    issues += [issue for issue in check_processes(config) if issue[0] not in reported]
    for loc, message in [*issues, *_token_file_issues(config, path), *_notify_issues(config, path)]:
        problems.append(locate_issue(doc, loc, message, path))
    return config, left_out


def _notify_issues(config: Config, path: str) -> list[tuple[tuple[str | int, ...], str]]:
    """A name given to two notify targets (`sentinel notify test NAME` picks one), and the secret files that
    cannot be read (or are empty): a target with one signs every request."""
    issues: list[tuple[tuple[str | int, ...], str]] = []
    names: list[str | None] = []
    for index, target in enumerate(config.notify):
        if target.name is not None and target.name in names:
            issues.append((("notify", index, "name"), f"is the name of notify[{names.index(target.name)}] too"))
        names.append(target.name)
        if target.secret_file is not None:
            from sentinel.webhook import read_secret  # only then: it brings http.client and ssl

            try:
                read_secret(target.secret_file, path)
            except SentinelError as err:
                issues.append((("notify", index, "secret_file"), str(err).removeprefix("secret_file ")))
    return issues


def _token_file_issues(config: Config, path: str) -> list[tuple[tuple[str, ...], str]]:
    """The token files of a TCP API that are there but would be refused (a missing one is created at `up`):
    placed at their key, or at `api.listen` for the default file (docs/security.md#the-tcp-api)."""
    api = config.api
    if api is None or api.listen is None:
        return []
    from sentinel import tokens

    issues: list[tuple[tuple[str, ...], str]] = []
    for key, configured in (("token_file", api.token_file), ("read_token_file", api.read_token_file)):
        if key == "read_token_file" and configured is None:
            continue
        try:
            tokens.check(tokens.token_path(configured, path))
        except FileNotFoundError:
            continue
        except SentinelError as err:
            issues.append((("api", key if configured is not None else "listen"), str(err)))
    return issues
