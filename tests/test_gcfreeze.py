"""Start-up objects frozen out of full collections (rtc_presence/gcfreeze.py)."""

from __future__ import annotations

import gc
import logging
import weakref
from collections.abc import Iterator

import pytest

from rtc_presence.app import RTCPresence
from rtc_presence.gcfreeze import freeze_long_lived


@pytest.fixture
def unfrozen_after() -> Iterator[None]:
    try:
        yield
    finally:
        gc.unfreeze()  # this test process is not a server


class _Cyclic:
    def __init__(self) -> None:
        self.me = self


def test_freeze_keeps_what_lives_and_still_collects_what_comes_after(
    unfrozen_after: None,
) -> None:
    before = _Cyclic()
    frozen = freeze_long_lived(logging.getLogger("test"))
    assert frozen == gc.get_freeze_count() > 1000
    later = _Cyclic()  # the collector still runs for new objects
    ref = weakref.ref(later)
    del later
    gc.collect()
    assert ref() is None
    # A frozen cycle is skipped by collections (what the module says it costs).
    ref_before = weakref.ref(before)
    del before
    gc.collect()
    assert ref_before() is not None


def test_on_by_default_and_can_be_turned_off() -> None:
    assert RTCPresence().freeze_startup_objects is True
    assert RTCPresence(freeze_startup_objects=False).freeze_startup_objects is False
