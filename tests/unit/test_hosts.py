"""`hosts:` selectors (sentinel/config/hosts.py, README.md#hosts-selectors): their syntax, which hosts they match,
and the one function that cuts a config to a host."""

from __future__ import annotations

from fnmatch import fnmatchcase

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sentinel.config.hosts import (
    LABEL_MAX,
    LABELS_MAX,
    Host,
    check_hostname,
    check_selector_item,
    host_from_json,
    host_json,
    host_of,
    on_host,
    parse_label,
    select,
)
from sentinel.config.models import Config

WEB1 = Host("web-1", {"role": "web", "zone": "eu-west"})


@pytest.mark.parametrize(("selector", "matches"), [
    (None, True),
    (["web-1"], True),
    (["WEB-*"], True),  # hostnames are case-insensitive
    (["web-?"], True),
    (["web-[12]"], True),
    (["web-[!1]"], False),
    (["db-*"], False),
    (["db-*", "role=web"], True),  # any item
    (["role=db"], False),
    (["zone=eu-*"], True),
    (["zone=EU-*"], False),  # label values are not
    (["missing=*"], False),  # a label the host does not have never matches, even with `*`
])
def test_an_item_matches_the_hostname_or_a_label(selector: list[str] | None, matches: bool) -> None:
    assert on_host(selector, WEB1) is matches


@pytest.mark.parametrize(("item", "message"), [
    ("", "is not a hostname pattern"),
    ("web 1", "is not a hostname pattern"),
    ("web-[", "'[' without a matching ']'"),
    ("web-[]", "'[' without a matching ']'"),
    ("web-[!]", "'[' without a matching ']'"),
    ("web-[a[b]", "'[' without a matching ']'"),
    ("web]", "']' without '['"),
    ("x" * 254, "is not a hostname pattern"),
    ("=web", "label key ''"),
    ("-x=web", "label key '-x'"),
    ("role=", "label pattern ''"),
    ("role=a b", "label pattern 'a b'"),
    ("role=[ab", "'[' without a matching ']'"),
    (f"role={'v' * (LABEL_MAX + 1)}", "label pattern"),
])
def test_a_bad_item_says_what_is_wrong(item: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        check_selector_item(item)


@given(st.text(alphabet="ab*?[]!-.", min_size=1, max_size=12), st.text(alphabet="ab-.", min_size=1, max_size=8))
def test_an_item_accepted_matches_as_fnmatch_does(item: str, hostname: str) -> None:
    try:
        check_selector_item(item)
    except ValueError:
        return
    assert on_host([item], Host(hostname)) is fnmatchcase(hostname, item)


def test_labels_and_hostnames_given_on_the_command_line() -> None:
    assert parse_label("role=web") == ("role", "web")
    assert host_of("web-1", ("role=web", "role=db")).labels == {"role": "db"}  # the last wins
    assert host_of("web-1", ("zone=eu", "role=web")).describe() == "web-1 (role=web, zone=eu)"
    assert Host("web-1").describe() == "web-1"
    for bad, message in (("role", "not KEY=VALUE"), ("role=", "label value ''"), ("role=w*", "label value 'w\\*'"),
                         ("=web", "label key ''")):
        with pytest.raises(ValueError, match=message):
            parse_label(bad)
    with pytest.raises(ValueError, match=f"at most {LABELS_MAX} labels"):
        host_of("web-1", tuple(f"k{n}=v" for n in range(LABELS_MAX + 1)))
    for bad in ("", "web 1", "-web", "x" * 254):
        with pytest.raises(ValueError, match="hostname"):
            check_hostname(bad)


def _config(processes: dict[str, dict[str, object]], groups: dict[str, object] | None = None) -> Config:
    return Config.model_validate({"processes": processes, "groups": groups or {}})


def test_select_keeps_what_the_host_runs_and_names_what_it_leaves_out() -> None:
    config = _config({
        "web": {"command": "sleep 1", "hosts": ["web-*"]},
        "pg": {"command": "sleep 1", "group": "db"},
        "both": {"command": "sleep 1", "group": "db", "hosts": "role=web"},  # group and process must both match
        "free": {"command": "sleep 1", "group": "undeclared"},  # a group with no settings selects nothing
        "all": {"command": "sleep 1"},
    }, {"db": {"hosts": ["db-*", "role=web"]}, "other": {"hosts": "x"}})
    selected = select(config, WEB1)
    assert sorted(selected.config.processes) == ["all", "both", "free", "pg", "web"]
    assert sorted(selected.config.groups) == ["db"]
    db = select(config, Host("db-1"))
    assert (sorted(db.config.processes), db.left_out) == (["all", "free", "pg"], ("both", "web"))
    assert db.issues == ()


def test_a_dependency_left_out_is_an_issue_at_its_entry() -> None:
    config = _config({"web": {"command": "sleep 1", "depends_on": ["cache", "all"]},
                      "cache": {"command": "sleep 1", "hosts": "cache-*"},
                      "all": {"command": "sleep 1"}})
    assert select(config, Host("cache-1")).issues == ()
    assert select(config, WEB1).issues == ((
        ("processes", "web", "depends_on", "cache"),
        "'cache' does not run on host web-1 (role=web, zone=eu-west) (its hosts: or its group's leave it out)"),)


def test_a_host_kept_in_the_state_directory_reads_back_or_says_why_not() -> None:
    assert host_from_json(host_json(WEB1)) == WEB1
    for bad in ("", "{", "[]", '{"hostname": "a b", "labels": {}}', '{"hostname": "a", "labels": {"k": ""}}',
                '{"hostname": 5, "labels": {}}', '{"labels": {}}', '{"hostname": "a", "labels": []}'):
        with pytest.raises(ValueError, match="is not a hostname and labels"):
            host_from_json(bad)
