"""Hypothesis strategies for config files drawn from the JSON Schema's own ranges (`schema/sentinel.schema.json`).

Every number comes from its property's `minimum`/`exclusiveMinimum`/`maximum` (the edges
themselves are drawn often), every choice from its `enum`, every `at` from `formatMinimum` to
`formatMaximum`. Free-text fields (commands, cron lines, time zones) come from small lists of
real values, since the schema cannot say which strings mean something. `replicas` is capped at
2 so that an example stays cheap to start; no other range is narrowed.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

SCHEMA = Path(__file__).resolve().parents[2] / "schema" / "sentinel.schema.json"
MAX_REPLICAS = 2
UNBOUNDED_SPAN = 1000  # a number with no maximum in the schema is drawn from [minimum, minimum + this]
TIME_ZONES = ["UTC", "Etc/GMT+12", "Etc/GMT-14", "Pacific/Kiritimati", "America/St_Johns", "Asia/Kathmandu"]
CRON_LINES = ["* * * * *", "*/5 * * * * *", "0 3 * * *", "@daily", "59 23 31 12 *", "0 0 29 2 *"]
SIGNALS = ["TERM", "INT", "HUP", "KILL", 15]


@cache
def definitions() -> dict[str, Any]:
    defs: dict[str, Any] = json.loads(SCHEMA.read_text())["$defs"]
    return defs


def _numeric(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The number or integer branch of a property (through `anyOf`s), or None."""
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "number" in kinds or "integer" in kinds:
        return schema
    for option in schema.get("anyOf", []):
        found = _numeric(option)
        if found is not None:
            return found
    return None


def number(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A number in the range the schema gives, its edges drawn often."""
    branch = _numeric(schema)
    assert branch is not None, schema
    integer = "integer" in (branch["type"] if isinstance(branch["type"], list) else [branch["type"]])
    exclusive = "exclusiveMinimum" in branch
    low = branch.get("minimum", branch.get("exclusiveMinimum", 0))
    high = branch.get("maximum", low + UNBOUNDED_SPAN)
    if integer:
        low = low + 1 if exclusive else low
        return st.one_of(st.sampled_from([low, high]), st.integers(low, high))
    floats = st.floats(low, high, exclude_min=exclusive, allow_nan=False, allow_infinity=False)
    edges = [high] if exclusive else [low, high]
    return st.one_of(st.sampled_from(edges), floats)


def _enum(schema: dict[str, Any]) -> list[Any]:
    if "enum" in schema:
        return list(schema["enum"])
    for option in schema.get("anyOf", []):
        found = _enum(option)
        if found:
            return found
    return []


def choice(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    return st.sampled_from(_enum(schema))


def moment(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    """An `at` from formatMinimum to formatMaximum, naive or with an offset."""
    earliest = dt.datetime.fromisoformat(schema["formatMinimum"]).replace(tzinfo=None)
    latest = dt.datetime.fromisoformat(schema["formatMaximum"]).replace(tzinfo=None)
    edges = st.sampled_from([earliest, latest])
    times = st.one_of(edges, st.datetimes(min_value=earliest, max_value=latest))
    offsets = st.sampled_from(["", "Z", "+14:00", "-12:00"])
    return st.builds(lambda when, offset: when.isoformat(timespec="seconds") + offset, times, offsets)


def section(name: str, skip: tuple[str, ...] = ()) -> st.SearchStrategy[dict[str, Any]]:
    """Some of the numeric and enum properties of definition `name`, each from its range."""
    properties = definitions()[name]["properties"]
    drawn: dict[str, st.SearchStrategy[Any]] = {}
    for key, schema in properties.items():
        if key in skip:
            continue
        if _numeric(schema) is not None:
            drawn[key] = number(schema)
        elif _enum(schema):
            drawn[key] = choice(schema)
        elif schema.get("type") in ("boolean", ["boolean", "null"]):
            drawn[key] = st.booleans()
    return st.fixed_dictionaries({}, optional=drawn)


def schedules() -> st.SearchStrategy[dict[str, Any]]:
    props = definitions()["Schedule"]["properties"]
    zone = st.sampled_from(TIME_ZONES)
    return st.one_of(
        st.fixed_dictionaries({"every": number(props["every"])}),
        st.fixed_dictionaries({"cron": st.sampled_from(CRON_LINES)}, optional={"timezone": zone}),
        st.fixed_dictionaries({"at": moment(props["at"])}, optional={"timezone": zone}),
    )


def processes(*, job: bool) -> st.SearchStrategy[dict[str, Any]]:
    props = definitions()["Process"]["properties"]
    restart = st.builds(lambda base, backoff: {**base, **({"backoff": backoff} if backoff else {})},
                        section("Restart", skip=("backoff",)), section("Backoff"))
    health = st.builds(lambda body: {"exec": "true", **body}, section("Health", skip=("expect_status",)))
    stop = st.builds(lambda body, signal: {**body, **signal}, section("Stop"),
                     st.fixed_dictionaries({}, optional={"signal": st.sampled_from(SIGNALS)}))
    optional: dict[str, st.SearchStrategy[Any]] = {
        "restart": restart, "stop": stop, "limits": section("Limits"), "logs": section("Logs"),
        "replicas": st.integers(props["replicas"]["minimum"], MAX_REPLICAS),
    }
    if job:
        fixed = {"command": st.just("true"), "schedule": schedules()}
        optional.update(timeout=number(props["timeout"]), keep_runs=number(props["keep_runs"]),
                        concurrency=choice(props["concurrency"]), on_missed=choice(props["on_missed"]))
    else:
        fixed = {"command": st.just("sleep 1000")}
        optional.update(health=health)
    return st.fixed_dictionaries(fixed, optional=optional)


def configs() -> st.SearchStrategy[dict[str, Any]]:
    """A config of one or two services and one or two jobs."""
    services = st.lists(processes(job=False), min_size=1, max_size=2)
    jobs = st.lists(processes(job=True), min_size=1, max_size=2)
    return st.builds(
        lambda svc, job: {"processes": {**{f"svc{i}": body for i, body in enumerate(svc)},
                                        **{f"job{i}": body for i, body in enumerate(job)}}},
        services, jobs,
    )
