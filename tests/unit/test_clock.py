"""The machine's time zone (`sentinel.clock.system_zone`): a zone with its daylight-saving rules, never a
fixed offset, found the ways Linux and macOS record it."""

from __future__ import annotations

import importlib.resources
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

from sentinel.clock import system_zone

SUMMER, WINTER = datetime(2026, 7, 1, 12, tzinfo=UTC), datetime(2026, 1, 1, 12, tzinfo=UTC)


def _paris_file() -> bytes:
    return importlib.resources.files("tzdata.zoneinfo").joinpath("Europe/Paris").read_bytes()


def _offsets(zone: tzinfo) -> tuple[float, float]:
    """Hours ahead of UTC in summer and in winter."""
    return (_hours(SUMMER.astimezone(zone).utcoffset()), _hours(WINTER.astimezone(zone).utcoffset()))


def _hours(offset: timedelta | None) -> float:
    assert offset is not None
    return offset.total_seconds() / 3600


def test_tz_names_the_zone_with_or_without_a_colon(tmp_path: Path) -> None:
    missing = tmp_path / "localtime"
    assert str(system_zone({"TZ": "Europe/Paris"}, missing)) == "Europe/Paris"
    assert str(system_zone({"TZ": ":America/New_York"}, missing)) == "America/New_York"
    assert _offsets(system_zone({"TZ": "Europe/Paris"}, missing)) == (2.0, 1.0)


def test_localtime_linked_into_a_zoneinfo_directory_names_the_zone(tmp_path: Path) -> None:
    # /etc/localtime -> /usr/share/zoneinfo/Europe/Paris (Linux), /var/db/timezone/zoneinfo/... (macOS)
    target = tmp_path / "share" / "zoneinfo" / "Europe" / "Paris"
    target.parent.mkdir(parents=True)
    target.write_bytes(_paris_file())
    link = tmp_path / "localtime"
    link.symlink_to(target)
    assert str(system_zone({}, link)) == "Europe/Paris"
    assert str(system_zone({"TZ": "Not/AZone"}, link)) == "Europe/Paris"  # a bad TZ falls through


def test_a_copied_localtime_file_keeps_its_rules(tmp_path: Path) -> None:
    copy = tmp_path / "localtime"
    copy.write_bytes(_paris_file())
    assert _offsets(system_zone({}, copy)) == (2.0, 1.0)  # summer and winter time, not one fixed offset


def test_no_zone_anywhere_is_utc(tmp_path: Path) -> None:
    assert system_zone({}, tmp_path / "missing") is UTC
