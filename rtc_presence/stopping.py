"""The owner's server stopping: guests are told, under JupyterHub too.

:func:`close_for_stop` closes the guests' websockets with 4403 "server
stopping" (``Gate.shutdown`` calls it from the extension's stop hook).

JupyterHub's local spawners stop a server with SIGINT (then SIGTERM after
``interrupt_timeout``). jupyter_server handles SIGINT only when its stdin is
a terminal (``ServerApp.init_signal``); a spawned server has none, so SIGINT
is Python's KeyboardInterrupt, which ends the event loop at once: no
extension's ``stop_extension`` runs, and every websocket just drops (1006),
which a guest's JupyterLab reads as "the server went away, restart it?".
JupyterHub means SIGINT to stop the server like SIGTERM does (it replaces
``_handle_sigint`` with ``_signal_stop`` for that, jupyterhub/singleuser/
mixins.py, jupyterhub PR 4864, but that handler is only installed with a
terminal). :func:`stop_gracefully_on_sigint` installs ``_signal_stop`` for
SIGINT when nothing else handles it. Pinned by tests/test_stopping.py and,
on a real hub, tests/test_hub_access_ended.py.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Sequence
from typing import Any

from tornado.websocket import WebSocketHandler

from .closecodes import REASON_STOPPING, CloseCode


async def close_for_stop(
    sockets: Sequence[WebSocketHandler], log: logging.Logger, timeout: float = 1.0
) -> int:
    """Close ``sockets`` (the guests') because the server is stopping, say why.

    Code 4403 (their access ends with the server) and the reason
    "server stopping", so their Lab says the owner stopped the server
    instead of offering to restart it. Waits up to ``timeout`` seconds
    for the closing handshakes, so the frames leave before the process
    does. Returns how many closed.
    """
    for sock in sockets:
        sock.close(CloseCode.REVOKED, REASON_STOPPING)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    # tornado gives no future for a finished closing handshake: poll it.
    while any(s.ws_connection is not None for s in sockets) and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    if sockets:
        log.info("rtc-presence: server stopping: closed %d guest connection(s)", len(sockets))
    return len(sockets)


def stop_gracefully_on_sigint(serverapp: Any, log: logging.Logger) -> bool:
    """Make SIGINT stop ``serverapp`` as SIGTERM does; True if installed.

    Only when SIGINT still has Python's default handler (KeyboardInterrupt):
    an interactive server's confirmation prompt, or anyone else's handler,
    is left alone.
    """
    stop = getattr(serverapp, "_signal_stop", None)
    if stop is None or threading.current_thread() is not threading.main_thread():
        return False
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return False
    signal.signal(signal.SIGINT, stop)
    log.debug("rtc-presence: SIGINT stops the server gracefully (guests are told)")
    return True
