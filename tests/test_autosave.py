"""MaxWaitAutosave on its own: when it forces saves, and what it does when one is lost."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from rtc_presence.autosave import MaxWaitAutosave
from rtc_presence.testing.waiting import until

LOG = logging.getLogger("test_autosave")


class Saves:
    """A stand-in for the room: records when a save was started; the test decides its fate."""

    def __init__(self) -> None:
        self.started: list[float] = []
        self.tasks: list[asyncio.Future[Any]] = []
        self.busy = False

    def __call__(self) -> asyncio.Future[Any] | bool:
        if self.busy:
            return False
        self.started.append(time.monotonic())
        task: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.tasks.append(task)
        return task


async def test_a_change_forces_a_save_after_max_wait_however_often_it_changes() -> None:
    saves = Saves()
    autosave = MaxWaitAutosave(0.3, saves, LOG)
    first = time.monotonic()
    while not saves.started:
        autosave.changed()  # keeps changing, as typing does
        await asyncio.sleep(0.02)
        assert time.monotonic() - first < 5, "no forced save"
    assert saves.started[0] - first >= 0.3
    assert autosave.forced == 1
    autosave.cancel()


async def test_a_save_cancelled_before_it_took_the_content_is_started_again_at_once() -> None:
    saves = Saves()
    autosave = MaxWaitAutosave(30.0, saves, LOG)
    autosave.changed()
    autosave.dirty_since = time.monotonic() - 30.0  # as if 30 s of typing went by
    autosave.cancel()
    autosave.changed()  # re-arms for now
    await until(lambda: len(saves.started) == 1, 5, "the forced save")
    # upstream's next change cancels the save task before it took a snapshot:
    # its coroutine swallows the cancellation and ends normally
    saves.tasks[0].set_result(None)
    await until(lambda: len(saves.started) == 2, 5, "the save started again")
    assert autosave.restarted == 1
    # this one takes the content and writes it: no more saves until more changes
    snap = autosave.snapshot()
    saves.tasks[1].set_result(None)
    autosave.saved(snap)
    assert autosave.dirty_since is None
    await asyncio.sleep(0)  # let the done callbacks run
    assert len(saves.started) == 2 and autosave.restarted == 1
    autosave.cancel()


async def test_a_save_that_took_the_content_is_not_started_again() -> None:
    saves = Saves()
    autosave = MaxWaitAutosave(30.0, saves, LOG)
    autosave.changed()
    autosave.dirty_since = time.monotonic() - 30.0
    autosave.cancel()
    autosave.changed()
    await until(lambda: len(saves.started) == 1, 5, "the forced save")
    autosave.snapshot()  # it took the content; the loader's write is shielded
    autosave.changed()  # and then the document changed again, cancelling the task
    saves.tasks[0].set_result(None)
    await asyncio.sleep(0.05)
    assert len(saves.started) == 1 and autosave.restarted == 0
    autosave.cancel()


async def test_a_busy_room_is_tried_again_soon_and_autosave_off_needs_nothing() -> None:
    saves = Saves()
    saves.busy = True
    autosave = MaxWaitAutosave(0.05, saves, LOG)
    autosave.changed()
    await asyncio.sleep(0.1)
    assert saves.started == [] and autosave.forced == 0
    saves.busy = False
    await until(lambda: len(saves.started) == 1, 5, "the retry once the room is free")
    autosave.cancel()

    off = MaxWaitAutosave(0.05, lambda: True, LOG)
    off.changed()
    await until(lambda: off.forced == 1, 5, "the forced save with autosave off")
    assert off.restarted == 0
    off.cancel()
    assert MaxWaitAutosave(None, saves, LOG).max_wait is None
