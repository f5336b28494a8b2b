"""Pure resolution steps over parsed documents: deep merge, environment overlay, extends, defaults.

Each step takes plain data (LocDict/LocList from `sentinel.config.source`, or ordinary dicts
in tests) and returns new data, never mutating its input and keeping every value's position.
The loader runs them in order: includes → environment overlay → templates → defaults →
interpolation → validation.

Merge rules: mappings merge key by key, scalars and lists from the overriding side replace,
and an explicit `null` on the overriding side removes what it would override.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sentinel.config.budget import Budget
from sentinel.config.keypath import dotted, join
from sentinel.config.source import LocDict, Pos
from sentinel.errors import ConfigError, Problem

NOWHERE = Pos("", 0, 0)


def _pos(data: Mapping[str, Any]) -> Pos:
    return data.pos if isinstance(data, LocDict) else NOWHERE


def _key_pos(data: Mapping[str, Any], key: str) -> Pos:
    return data.key_pos.get(key, data.pos) if isinstance(data, LocDict) else NOWHERE


def _val_pos(data: Mapping[str, Any], key: str) -> Pos:
    return data.val_pos.get(key, data.pos) if isinstance(data, LocDict) else NOWHERE


def copy_map(data: Mapping[str, Any], *, without: tuple[str, ...] = ()) -> LocDict:
    """A shallow copy (positions kept), leaving out the keys in `without`."""
    out = LocDict(_pos(data))
    for key, value in data.items():
        if key not in without:
            out.put(key, value, _key_pos(data, key), _val_pos(data, key))
    return out


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> LocDict:
    """`over` deep-merged onto `base`: maps by key, scalars and lists replaced, null deletes."""
    return merge_all([base, over], _pos(base))


def merge_all(layers: list[Mapping[str, Any]], pos: Pos = NOWHERE) -> LocDict:
    """The layers merged in order, later ones winning. Neither layer is changed.

    The result is built in place: each mapping of a layer is copied once, when a later layer
    first merges into it, so n layers cost the size of their values, not n times the result's.
    """
    out = LocDict(pos)
    owned: dict[int, LocDict] = {id(out): out}  # the mappings this call made, which it may change
    for layer in layers:
        _merge_into(out, layer, owned)
    return out


def _merge_into(out: LocDict, over: Mapping[str, Any], owned: dict[int, LocDict]) -> None:
    if _pos(over) is not NOWHERE:
        out.pos = _pos(over)
    for key, value in over.items():
        if value is None and key in out:
            del out[key]
            continue
        mine = out.get(key)
        merged = value
        if isinstance(mine, Mapping) and isinstance(value, Mapping):
            target = owned.get(id(mine))
            if target is None:
                target = copy_map(mine)
                owned[id(target)] = target
            _merge_into(target, value, owned)
            merged = target
        out.put(key, merged, _key_pos(over, key), _val_pos(over, key))


def overlay_environment(doc: Mapping[str, Any], name: str | None) -> LocDict:
    """Apply `environments[name]` over the document and drop the `environments` section.

    Applied before templates and defaults, so an environment may change templates and
    defaults too, and a process it adds gets them like any other.
    """
    envs = doc.get("environments") or {}
    result = copy_map(doc, without=("environments",))
    if name is None:
        return result
    if not isinstance(envs, Mapping) or name not in envs:
        known = sorted(envs) if isinstance(envs, Mapping) else []
        where = _key_pos(doc, "environments") if "environments" in doc else _pos(doc)
        raise ConfigError([_unknown("environment", name, known, where, "--env")])
    overlay = envs[name]
    if overlay is None:
        return result
    if not isinstance(overlay, Mapping):
        where = _val_pos(envs, name)
        path = dotted("environments", name)
        raise ConfigError([Problem(where.file, where.line, where.col, path, "must be a mapping")])
    return merge(result, overlay)


def expand_process(name: str, process: Mapping[str, Any], templates: Mapping[str, Any],
                   defaults: Mapping[str, Any] | None, budget: Budget | None = None) -> LocDict:
    """One process with its `extends` templates (in order) and then `defaults` merged under it.

    Each layer is charged to `budget` (a fresh one when not given) before it is merged.
    """
    budget = budget or Budget()
    path = dotted("processes", name)
    layers: list[Mapping[str, Any]] = []
    if defaults:
        budget.charge(defaults, _pos(process), path)
        layers.append(defaults)
    layers.extend(_template_layers(path, process, templates, (), budget))
    layers.append(copy_map(process, without=("extends",)))
    return merge_all(layers, _pos(process))


def _template_layers(path: str, body: Mapping[str, Any], templates: Mapping[str, Any],
                     seen: tuple[str, ...], budget: Budget) -> list[Mapping[str, Any]]:
    extends = body.get("extends")
    if extends is None:
        return []
    where = _val_pos(body, "extends")
    names = [extends] if isinstance(extends, str) else extends
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ConfigError([Problem(where.file, where.line, where.col, join(path, "extends"),
                                   "must be a template name or a list of them")])
    layers: list[Mapping[str, Any]] = []
    for template_name in names:
        if template_name in seen:
            cycle = " -> ".join((*seen, template_name))
            raise ConfigError([Problem(where.file, where.line, where.col, join(path, "extends"),
                                       f"templates extend each other in a cycle: {cycle}")])
        template = templates.get(template_name)
        if not isinstance(template, Mapping):
            if template_name in templates:
                tpos = _val_pos(templates, template_name)
                raise ConfigError([Problem(tpos.file, tpos.line, tpos.col, dotted("templates", template_name),
                                           "must be a mapping")])
            raise ConfigError([_unknown("template", template_name, sorted(templates), where, join(path, "extends"))])
        layers.extend(_template_layers(dotted("templates", template_name), template, templates, (*seen, template_name),
                                       budget))
        budget.charge_template(template, len(layers) + 1, where, join(path, "extends"))
        layers.append(copy_map(template, without=("extends",)))
    return layers


def _unknown(kind: str, name: str, known: list[str], where: Pos, path: str) -> Problem:
    from sentinel.config.hints import did_you_mean

    listed = ", ".join(known) if known else "none"
    message = f"unknown {kind} '{name}'{did_you_mean(name, known)} (defined: {listed})"
    return Problem(where.file, where.line, where.col, path, message)
