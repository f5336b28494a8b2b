"""YAML text → plain data that remembers where every key and value came from.

`parse_document(data, file)` turns one file's bytes into a `LocDict`: a dict whose keys and
values carry their `Pos` (file, line, column). Every later step (includes, templates,
environments, validation) keeps those positions, so an error in a merged value still points
at the line the user wrote. Called by `sentinel.config.loader` only.

YAML is parsed with ruamel.yaml (YAML 1.2: `yes`/`no`/`on` stay strings) through its C
composer when available, which is several times faster than the round-trip loader.
"""

from __future__ import annotations

import functools
import re
from typing import Any, NamedTuple

from sentinel.errors import ConfigError, Problem

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_NODES = 500_000

_MERGE_TAG = "tag:yaml.org,2002:merge"
_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}


class Pos(NamedTuple):
    """A place in a config file; line and col are 1-based. (A tuple: made for every YAML node.)"""

    file: str
    line: int
    col: int


class LocDict(dict[str, Any]):
    """A mapping that knows the position of each key and of each value, and of itself."""

    __slots__ = ("key_pos", "pos", "val_pos")

    def __init__(self, pos: Pos) -> None:
        super().__init__()
        self.pos = pos
        self.key_pos: dict[str, Pos] = {}
        self.val_pos: dict[str, Pos] = {}

    def put(self, key: str, value: Any, key_pos: Pos, val_pos: Pos) -> None:
        self[key] = value
        self.key_pos[key] = key_pos
        self.val_pos[key] = val_pos


class LocList(list[Any]):
    """A sequence that knows the position of each item, and of itself."""

    __slots__ = ("item_pos", "pos")

    def __init__(self, pos: Pos) -> None:
        super().__init__()
        self.pos = pos
        self.item_pos: list[Pos] = []

    def add(self, value: Any, pos: Pos) -> None:
        self.append(value)
        self.item_pos.append(pos)


def decode(data: bytes, file: str) -> str:
    """UTF-8 text from a file's bytes, or a ConfigError saying why it is not a text file."""
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError.single(file, f"file is too large ({len(data)} bytes; the limit is {MAX_FILE_BYTES})")
    if b"\0" in data:
        raise ConfigError.single(file, "is a binary file (it contains NUL bytes), not YAML")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        head = data[: exc.start]
        line = head.count(b"\n") + 1
        col = exc.start - (head.rfind(b"\n") + 1) + 1
        message = f"is not valid UTF-8 (byte 0x{data[exc.start]:02x})"
        raise ConfigError.single(file, message, line=line, col=col) from exc


def parse_document(text: str, file: str) -> LocDict:
    """The single YAML document in `text` as a LocDict; ConfigError for anything else."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    # The C parser recurses on the C stack and crashes the interpreter on very deep nesting;
    # such (odd) files go to the pure-Python parser, which stops with a RecursionError instead.
    yaml = YAML(typ="safe", pure=_nesting_bound(text) > _C_PARSER_MAX_DEPTH)
    yaml.Resolver = _fast_resolver()
    try:
        root = yaml.compose(text)
    except MarkedYAMLError as exc:
        raise _yaml_problem(exc, text, file) from exc
    except YAMLError as exc:
        raise ConfigError.single(file, f"is not valid YAML: {_one_line(str(exc))}") from exc
    except RecursionError as exc:
        raise ConfigError.single(file, "is nested too deeply to read") from exc
    if root is None:
        raise ConfigError.single(file, "is empty; expected a mapping with a 'processes' key", line=1, col=1)
    builder = _Builder(file, yaml)
    try:
        value = builder.build(root)
    except RecursionError as exc:
        raise ConfigError.single(file, "is nested too deeply to read") from exc
    if builder.problems:
        raise ConfigError(builder.problems)
    if not isinstance(value, LocDict):
        pos = builder.pos(root)
        got = "a list" if isinstance(value, list) else f"{value!r}"
        message = f"the top level must be a mapping of keys (got {got})"
        raise ConfigError.single(file, message, line=pos.line, col=pos.col)
    return value


_C_PARSER_MAX_DEPTH = 300
_INDENT = re.compile(r"^[ \t]*(?:-[ \t]+)*", re.MULTILINE)
_BRACKETS = re.compile(r"[\[\]{}]")


def _nesting_bound(text: str) -> int:
    """An upper bound on how deeply `text` nests: flow brackets, plus the widest indentation."""
    depth = deepest = 0
    for match in _BRACKETS.finditer(text):
        depth += 1 if match.group() in "[{" else -1
        deepest = max(deepest, depth)
    indent = max((len(m.group()) for m in _INDENT.finditer(text)), default=0)
    return deepest + indent


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _yaml_problem(exc: Any, text: str, file: str) -> ConfigError:
    mark = exc.problem_mark or exc.context_mark
    problem = f"invalid YAML: {_one_line(str(exc.problem or exc.context or 'syntax error'))}"
    if mark is None:
        return ConfigError.single(file, problem)
    lines = text.splitlines()
    line_text = lines[mark.line] if mark.line < len(lines) else ""
    if "\t" in line_text[: mark.column + 1]:
        problem = "a tab character is not allowed in indentation; indent with spaces"
    elif "unexpected ':'" in problem:
        problem += " (quote values that contain ':', such as times: at: \"2026-12-01T03:00:00Z\")"
    return ConfigError.single(file, problem, line=mark.line + 1, col=mark.column + 1)


class _Builder:
    """Walks composed YAML nodes into LocDict/LocList/scalars, collecting problems."""

    def __init__(self, file: str, yaml: Any) -> None:
        from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

        self.mapping_node, self.sequence_node, self.scalar_node = MappingNode, SequenceNode, ScalarNode
        self.file = file
        self.constructor = yaml.constructor
        self.problems: list[Problem] = []
        self.nodes = 0

    def pos(self, node: Any) -> Pos:
        mark = node.start_mark
        return Pos(self.file, mark.line + 1, mark.column + 1)

    def problem(self, node: Any, message: str) -> None:
        pos = self.pos(node)
        self.problems.append(Problem(self.file, pos.line, pos.col, "", message))

    def build(self, node: Any) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooBig
        if isinstance(node, self.mapping_node):
            return self._mapping(node)
        if isinstance(node, self.sequence_node):
            seq = LocList(self.pos(node))
            for item in node.value:
                seq.add(self.build(item), self.pos(item))
            return seq
        return self._scalar(node)

    def _scalar(self, node: Any) -> Any:
        tag = _TAG_NAMES.get(id(node.ctag)) or str(node.ctag)
        if tag == _STR:
            return str(node.value)
        if tag not in _SCALAR_TAGS:
            self.problem(node, f"unsupported YAML tag {tag.replace('tag:yaml.org,2002:', '!!')}")
            return None
        try:
            value = self.constructor.construct_object(node, deep=True)
        except Exception as exc:  # noqa: BLE001 - ruamel raises assorted errors for bad scalars
            self.problem(node, f"cannot read this value: {_one_line(str(exc))}")
            return None
        return str(value) if isinstance(value, str) else value  # str subclasses become plain str

    def _mapping(self, node: Any) -> LocDict:
        mapping = LocDict(self.pos(node))
        merges: list[Any] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                sources = value_node.value if isinstance(value_node, self.sequence_node) else [value_node]
                merges.extend(sources)
                continue
            if not isinstance(key_node, self.scalar_node):
                self.problem(key_node, "a key must be plain text, not a list or mapping")
                continue
            key = str(key_node.value)
            if key in mapping:
                first = mapping.key_pos[key]
                self.problem(key_node, f"duplicate key '{key}' (first defined at line {first.line})")
                continue
            mapping.put(key, self.build(value_node), self.pos(key_node), self.pos(value_node))
        for source in merges:
            if not isinstance(source, self.mapping_node):
                self.problem(source, "a merge key (<<) must name a mapping")
                continue
            merged = self._mapping(source)
            for key, value in merged.items():
                if key not in mapping:
                    mapping.put(key, value, merged.key_pos[key], merged.val_pos[key])
        return mapping


_STR = "tag:yaml.org,2002:str"
_TAG_NAMES: dict[int, str] = {}


@functools.cache
def _fast_resolver() -> Any:
    """A YAML 1.2 resolver that skips ruamel's per-scalar version lookups (a third of load time).

    It returns one shared Tag object per tag, so the builder can tell tags apart by identity.
    Built once (cached): the shared tags must live as long as `_TAG_NAMES` refers to their ids.
    """
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode
    from ruamel.yaml.resolver import VersionedResolver, implicit_resolvers
    from ruamel.yaml.tag import Tag

    table: dict[str | None, list[tuple[Tag, Any]]] = {}
    shared: dict[str, Tag] = {}
    for versions, name, regexp, firsts in implicit_resolvers:
        if (1, 2) in versions:
            tag = shared.setdefault(name, Tag(suffix=name))
            for first in firsts:
                table.setdefault(first, []).append((tag, regexp))
    for name in (_STR, "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"):
        shared.setdefault(name, Tag(suffix=name))
    for name, tag in shared.items():
        _TAG_NAMES[id(tag)] = name
    str_tag, seq_tag, map_tag = shared[_STR], shared["tag:yaml.org,2002:seq"], shared["tag:yaml.org,2002:map"]

    class FastResolver(VersionedResolver):
        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            if kind is ScalarNode:
                if implicit[0]:
                    for tag, regexp in table.get(value[:1], ()):
                        if regexp.match(value):
                            return tag
                return str_tag
            return seq_tag if kind is SequenceNode else map_tag if kind is MappingNode else None

    return FastResolver


class _TooBig(Exception):
    pass


def parse_or_raise(data: bytes, file: str) -> LocDict:
    """decode + parse_document, the loader's single entry point for one file."""
    text = decode(data, file)
    try:
        return parse_document(text, file)
    except _TooBig:
        raise ConfigError.single(file, f"has more than {MAX_NODES} values (too many aliases?)") from None
