"""The recording handlers `sentinel` installs first (sentinel/early_signals.py,
docs/reliability.md#f40-signals-to-the-reconciler)."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from sentinel import early_signals


@pytest.fixture
def handlers_restored() -> Iterator[None]:
    saved = {number: signal.getsignal(number) for number in early_signals.HELD}
    yield
    early_signals._received.clear()  # what a test left recorded is not acted on
    early_signals._holding.clear()
    for number, handler in saved.items():
        signal.signal(number, handler)


def test_a_reload_is_recorded_and_is_no_stop(handlers_restored: None) -> None:
    early_signals.hold()
    signal.raise_signal(signal.SIGHUP)
    assert not early_signals.stop_received()
    early_signals.hold_again()
    signal.raise_signal(signal.SIGINT)
    assert early_signals.stop_received()


def test_a_command_other_than_up_takes_a_recorded_signal_when_it_releases_them(handlers_restored: None) -> None:
    early_signals.hold()
    signal.raise_signal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        early_signals.release()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert not early_signals.stop_received()
    early_signals.release()  # a second release has nothing to give back
