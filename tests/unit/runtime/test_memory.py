"""Returning freed memory to the OS (sentinel/runtime/memory.py): the platform's call, or only a collection."""

from __future__ import annotations

import sys

import pytest

from sentinel.runtime.memory import allocator_trim, release


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim is Linux's")
def test_linux_with_glibc_has_malloc_trim_and_release_uses_it() -> None:
    trim = allocator_trim("linux")
    assert trim is not None
    assert release(trim) is True


def test_a_platform_without_a_known_call_only_collects_garbage() -> None:
    assert allocator_trim("sunos5") is None
    calls: list[int] = []
    assert release(None) is False
    assert release(lambda: calls.append(1)) is True
    assert calls == [1]
