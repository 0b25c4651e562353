"""anyio finds its worker threads' root task at once on tornado's loop."""

from __future__ import annotations

import asyncio
import inspect

import anyio
from anyio._backends import _asyncio as backend

from rtc_presence.threadroot import hold_thread_root


def test_anyio_caches_its_root_task_in_the_runvar_we_set() -> None:
    # hold_thread_root writes anyio's private _root_task RunVar; find_root_task
    # must still read it first (else every to_thread call scans all tasks).
    source = inspect.getsource(backend.find_root_task)
    first = source.index("_root_task.get(None)")
    assert first < source.index("all_tasks()")
    assert isinstance(backend._root_task, anyio.lowlevel.RunVar)


def test_under_run_forever_the_held_task_is_the_root() -> None:
    # tornado runs the loop with run_forever: no run_until_complete task to find.
    loop = asyncio.new_event_loop()
    seen: dict[str, object] = {}

    async def main() -> None:
        try:
            holder = asyncio.ensure_future(hold_thread_root())
            await asyncio.sleep(0)
            seen["root_is_holder"] = backend.find_root_task() is holder
            seen["result"] = await anyio.to_thread.run_sync(lambda: 6 * 7)
            holder.cancel()
            await asyncio.gather(holder, return_exceptions=True)
            # Once it has ended anyio searches again, and threads still work.
            seen["after"] = await anyio.to_thread.run_sync(lambda: "ok")
            seen["root_after"] = backend.find_root_task() is not holder
        finally:
            loop.stop()

    task = loop.create_task(main())
    try:
        loop.run_forever()
    finally:
        loop.close()
    assert task.done() and task.exception() is None
    assert seen == {"root_is_holder": True, "result": 42, "after": "ok", "root_after": True}
