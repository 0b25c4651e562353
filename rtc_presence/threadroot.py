"""A root task for anyio's worker threads on tornado's event loop.

Every ``anyio.to_thread.run_sync`` (sqlite_anyio's cursor, execute and commit
for each YStore write; jupyter_server_ydoc's file checks) asks
``find_root_task()`` which task owns the worker threads. Under ``anyio.run``
or ``run_until_complete`` that task is found once and cached; tornado runs
the loop with ``run_forever``, so nothing is cached and every call scans all
the loop's tasks, two or more per room connection: at 300 clients that scan
was a tenth of the server's time (bench/README.md "Where the time goes").

:func:`hold_thread_root` runs as one task for the server's lifetime and puts
itself in anyio's cache (the ``_root_task`` RunVar of
``anyio._backends._asyncio``, private; pinned by ``tests/test_threadroot.py``)
when nothing live is there: worker threads then stop when it ends, at server
stop, and anyio goes back to its own search afterwards.
"""

from __future__ import annotations

import asyncio


async def hold_thread_root() -> None:
    """Be anyio's root task until cancelled (see the module docstring)."""
    try:
        from anyio._backends import _asyncio as backend
    except ImportError:
        return
    root_var = getattr(backend, "_root_task", None)
    if root_var is not None:
        current = root_var.get(None)
        if current is None or current.done():
            root_var.set(asyncio.current_task())
    await asyncio.Event().wait()
