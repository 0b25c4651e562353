from __future__ import annotations

import threading

import pytest

# rtc_presence.pytest_hermetic moves HOME and the Jupyter directories into a
# temporary directory before the tests are collected, and fails the session if
# the real home was written to.
pytest_plugins = [
    "rtc_presence.pytest_hermetic",
    "pytest_jupyter.jupyter_server",
    "rtc_presence.pytest_plugin",
]


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Let idle AnyIO worker threads end so the interpreter can exit.

    jupyter_server_ydoc's stores run work in AnyIO threads whose root task is
    a room task that never finishes on pytest-jupyter's per-test loops, so
    AnyIO never tells them to stop and Python would wait for them forever at
    exit. AnyIO's ``WorkerThread`` ends when it reads ``None`` from its queue
    (anyio/_backends/_asyncio.py, ``WorkerThread.run``); there is no public
    API for this. Pinned by CI: without it, pytest hangs after its summary.
    """
    for thread in threading.enumerate():
        queue = getattr(thread, "queue", None)
        if type(thread).__name__ == "WorkerThread" and queue is not None:
            queue.put_nowait(None)
