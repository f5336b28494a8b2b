"""Reading YAML with positions: what is accepted, and the one-line errors for what is not."""

from __future__ import annotations

import pytest

from sentinel.config.source import LocDict, LocList, Pos, parse_or_raise
from sentinel.errors import ConfigError


def test_positions_of_keys_values_and_items() -> None:
    doc = parse_or_raise(b"processes:\n  web:\n    command: [a, b]\n", "f.yaml")
    web = doc["processes"]["web"]
    assert isinstance(web, LocDict)
    assert web.key_pos["command"] == Pos("f.yaml", 3, 5)
    assert web.val_pos["command"] == Pos("f.yaml", 3, 14)
    command = web["command"]
    assert isinstance(command, LocList)
    assert command.item_pos == [Pos("f.yaml", 3, 15), Pos("f.yaml", 3, 18)]


def test_yaml_1_2_scalars() -> None:
    doc = parse_or_raise(
        b"a: yes\nb: on\nc: 0o17\nd: 1.5\ne: ~\nf: true\ng: '12'\nh: !!str 12\ni: 1_000\nj: 2026-12-01T03:00:00Z\n",
        "f.yaml",
    )
    assert doc["a"] == "yes"  # YAML 1.1 would say True: the "Norway problem" does not apply
    assert doc["b"] == "on"
    assert doc["c"] == 15
    assert doc["d"] == 1.5
    assert doc["e"] is None
    assert doc["f"] is True
    assert doc["g"] == "12"
    assert doc["h"] == "12"
    assert doc["i"] == 1000
    assert doc["j"].isoformat() == "2026-12-01T03:00:00+00:00"


def test_anchors_and_merge_keys() -> None:
    doc = parse_or_raise(b"base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\nlist: [*b]\n", "f.yaml")
    assert doc["other"] == {"x": 1, "y": 3}
    assert doc["list"] == [{"x": 1, "y": 2}]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        pytest.param(b"a: 1\na: 2\n", "f.yaml:2:1: duplicate key 'a' (first defined at line 1)", id="duplicate-key"),
        pytest.param(b"a:\n\tb: 1\n", "f.yaml:2:1: a tab character is not allowed in indentation; indent with spaces",
                     id="tab"),
        pytest.param(b"- 1\n- 2\n", "f.yaml:1:1: the top level must be a mapping of keys (got a list)",
                     id="top-level-list"),
        pytest.param(b"just text\n", "f.yaml:1:1: the top level must be a mapping of keys (got 'just text')",
                     id="top-level-scalar"),
        pytest.param(b"", "f.yaml:1:1: is empty; expected a mapping with a 'processes' key", id="empty"),
        pytest.param(b"# only a comment\n", "f.yaml:1:1: is empty; expected a mapping with a 'processes' key",
                     id="only-comments"),
        pytest.param(b"a: \xff\n", "f.yaml:1:4: is not valid UTF-8 (byte 0xff)", id="not-utf8"),
        pytest.param(b"a: 1\0\n", "f.yaml: is a binary file (it contains NUL bytes), not YAML", id="binary"),
        pytest.param(b"a: [1, 2\n", "f.yaml:2:1: invalid YAML: did not find expected ',' or ']'", id="unclosed-flow"),
        pytest.param(b"a: 1\n---\nb: 2\n", "f.yaml:2:1: invalid YAML: but found another document",
                     id="two-documents"),
        pytest.param(b"a: !!python/object:os.system x\n",
                     "f.yaml:1:4: unsupported YAML tag !!python/object:os.system", id="python-tag"),
        pytest.param(b"? [a]\n: 1\n", "f.yaml:1:3: a key must be plain text, not a list or mapping", id="complex-key"),
        pytest.param(b"a:\n  <<: 1\n", "f.yaml:2:7: a merge key (<<) must name a mapping", id="merge-scalar"),
        pytest.param(b"a: *nope\n", "f.yaml:1:4: invalid YAML: found undefined alias", id="undefined-alias"),
    ],
)
def test_unreadable_files_give_one_line(data: bytes, error: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_or_raise(data, "f.yaml")
    assert str(caught.value) == error


# Both of these spend seconds of CPU in ruamel's pure-Python parser, where branch coverage's tracer costs several times
# the parse itself (deep nesting: ~2.5 s, ~18 s under coverage on a loaded machine) and measures nothing of ours:
# the suite runs them without it (`untraced`: pytest-cov's `no_cover`, tests/conftest.py).
@pytest.mark.untraced
def test_a_billion_laughs_is_refused_not_expanded() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    with pytest.raises(ConfigError, match="too many aliases"):
        parse_or_raise("\n".join(lines).encode(), "f.yaml")


# The input stays this deep: the C parser crashes from ~30,000 levels on (what this guards). On a loaded machine the
# parse can take tens of seconds: a deadline of its own.
@pytest.mark.timeout(180)
@pytest.mark.untraced
def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(ConfigError, match=r"nested too deeply|invalid YAML"):
        parse_or_raise(b"a: " + b"[" * 50_000, "f.yaml")


def test_oversized_files_are_refused() -> None:
    with pytest.raises(ConfigError, match="file is too large"):
        parse_or_raise(b"#" * (9 * 1024 * 1024), "f.yaml")


def test_explicit_tags_are_read_right_however_many_files_were_read_before() -> None:
    """Regression: tags were told apart by id(), and ids of freed tags were reused."""
    for _ in range(200):
        parse_or_raise(b"a: {b: [1, x]}\n", "f.yaml")
        doc = parse_or_raise(b"m: {k: !!str 1}\nn: !!int '7'\ns: !!str x\n", "f.yaml")
        assert doc == {"m": {"k": "1"}, "n": 7, "s": "x"}
