"""Durations, sizes and percentages: what users may write, and what `sentinel config` prints back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sentinel.config.units import (
    format_duration,
    format_percent,
    format_size,
    parse_duration,
    parse_percent,
    parse_size,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        pytest.param(10, 10.0, id="number-is-seconds"),
        pytest.param(1.5, 1.5, id="float-seconds"),
        pytest.param("500ms", 0.5, id="milliseconds"),
        pytest.param("10s", 10.0, id="seconds"),
        pytest.param("5m", 300.0, id="minutes"),
        pytest.param("1h30m", 5400.0, id="compound"),
        pytest.param("1h0m5s250ms", 3605.25, id="every-unit"),
        pytest.param(" 2s ", 2.0, id="surrounding-space"),
        pytest.param("2.5s", 2.5, id="fractional-unit"),
        pytest.param("3", 3.0, id="numeric-string"),
        pytest.param(0, 0.0, id="zero"),
    ],
)
def test_durations_users_write(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "bad",
    ["", "10", "ten seconds", "10 s", "5d", "1m1", "-5s", -1, True, None, [1], "1e400", float("nan")],
    ids=repr,
)
def test_bad_durations_are_rejected_with_the_accepted_units(bad: object) -> None:
    if bad == "10":
        assert parse_duration(bad) == 10.0  # a bare number in a string is seconds
        return
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.5, "500ms"), (10, "10s"), (60, "1m"), (5400, "1h30m"), (3605.25, "1h5s250ms"), (90000, "25h")],
)
def test_durations_print_in_their_shortest_spelling(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@given(st.floats(min_value=0, max_value=10**7, allow_nan=False))
def test_printed_durations_read_back_to_the_same_value(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize(
    ("text", "size"),
    [
        (1024, 1024),
        ("512MB", 512_000_000),
        ("512MiB", 512 * 2**20),
        ("1GiB", 2**30),
        ("1.5GB", 1_500_000_000),
        ("10kb", 10_000),
        ("100B", 100),
        ("7", 7),
        (2.0, 2),
    ],
)
def test_sizes_use_si_and_iec_units(text: object, size: int) -> None:
    assert parse_size(text) == size


def test_an_ambiguous_size_unit_says_which_to_use() -> None:
    with pytest.raises(ValueError, match="use MB for 10\\^6 bytes or MiB for 2\\^20"):
        parse_size("512M")


@pytest.mark.parametrize("bad", ["lots", "12XB", -5, 1.5, True, None, "-1MB"], ids=repr)
def test_bad_sizes_are_rejected(bad: object) -> None:
    with pytest.raises(ValueError, match="size"):
        parse_size(bad)


@given(st.integers(min_value=0, max_value=2**50))
def test_printed_sizes_read_back_exactly(size: int) -> None:
    assert parse_size(format_size(size)) == size


@pytest.mark.parametrize(("size", "text"), [(512 * 2**20, "512MiB"), (10_000_000, "10MB"), (1500, "1500"), (0, "0")])
def test_sizes_print_in_the_largest_exact_unit(size: int, text: str) -> None:
    assert format_size(size) == text


@pytest.mark.parametrize(("text", "percent"), [("90%", 90.0), ("12.5 %", 12.5), (150, 150.0), ("200%", 200.0)])
def test_percentages(text: object, percent: float) -> None:
    assert parse_percent(text) == percent
    assert parse_percent(format_percent(percent)) == percent


@pytest.mark.parametrize("bad", ["90", "ninety%", 0, "0%", -5, True, None, float("inf")], ids=repr)
def test_bad_percentages_are_rejected(bad: object) -> None:
    with pytest.raises(ValueError, match="percentage"):
        parse_percent(bad)
