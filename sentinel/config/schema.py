"""The JSON Schema of the `sentinel.yaml` language, for editors (`sentinel schema`).

Generated from the Pydantic models, then widened from "a resolved config" to "a file as
users write it": `include`, `defaults`, `templates`, `environments` and `extends` are added,
and a process needs no `command` of its own (a template or `defaults` may supply it).
`schema/sentinel.schema.json` is this output, checked in; a test fails when they drift.
"""

from __future__ import annotations

import copy
import json
from typing import Any

_NAME_PATTERN_KEY = "patternProperties"


def source_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a sentinel.yaml file."""
    from sentinel.config.fields import NAME_MAX, NAME_PATTERN
    from sentinel.config.models import Config

    schema = Config.model_json_schema()
    defs = schema["$defs"]
    process = defs["Process"]
    process.pop("required", None)
    depends = process["properties"]["depends_on"]
    process["properties"]["depends_on"] = {
        "anyOf": [
            {key: value for key, value in depends.items() if key not in ("default", "description", "title")},
            {"type": "array", "items": {"type": "string", "pattern": NAME_PATTERN}},
        ],
        "description": depends.get("description", ""),
    }
    # In a source file `null` deletes an inherited value (a template's, an include's, …).
    for definition in defs.values():
        _nullable(definition)
    command = process["properties"]["command"]["anyOf"][1]
    command["items"] = {"type": ["string", "number"]}
    for name, prop in process["properties"].items():
        if name == "env":
            prop["additionalProperties"] = _nullable(prop["additionalProperties"])
        process["properties"][name] = _nullable(prop)
    defaults = copy.deepcopy(process)
    defaults["title"] = "Defaults"
    process["properties"]["extends"] = {
        "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
        "description": "template name(s) merged under this process, in order",
    }
    defs["Defaults"] = defaults

    def named(ref: str) -> dict[str, Any]:
        return {
            "type": "object",
            _NAME_PATTERN_KEY: {NAME_PATTERN: {"$ref": ref}},
            "additionalProperties": False,
            "propertyNames": {"maxLength": NAME_MAX},
        }

    sections: dict[str, Any] = {
        "defaults": {"$ref": "#/$defs/Defaults", "description": "deep-merged under every process"},
        "templates": {**named("#/$defs/Process"), "description": "named bodies that processes `extends`"},
        "processes": named("#/$defs/Process"),
        "groups": {**named("#/$defs/Group"), "description": schema["properties"]["groups"]["description"]},
        "api": schema["properties"]["api"],
        "log": schema["properties"]["log"],
        "notify": schema["properties"]["notify"],
    }
    defs["Environment"] = {
        "type": ["object", "null"],
        "additionalProperties": False,
        "properties": copy.deepcopy(sections),
        "description": "deep-merged over the file when selected with --env or SENTINEL_ENV",
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "sentinel.yaml",
        "description": "SentinelZero process supervisor configuration",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "version": schema["properties"]["version"],
            "include": {
                "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
                "description": "files or globs merged under this file, relative to it",
            },
            **sections,
            "source": schema["properties"]["source"],
            "environments": {
                "type": "object",
                "additionalProperties": {"$ref": "#/$defs/Environment"},
            },
        },
        "$defs": dict(sorted(defs.items())),
    }


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema`, or null. (Widening "type" rather than wrapping keeps editors' messages precise;
    sub-models referenced by `$ref` are widened where they are defined.)"""
    options = schema.get("anyOf")
    if options is not None and {"type": "null"} not in options:
        options.append({"type": "null"})
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        kind.append("null")
    return schema


def schema_text() -> str:
    """The schema as the checked-in file holds it: 2-space JSON and a final newline."""
    return json.dumps(source_schema(), indent=2, ensure_ascii=False) + "\n"
