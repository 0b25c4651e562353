"""The owner's server stopping under JupyterHub: a graceful stop, so guests are told.

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

import logging
import signal
import threading
from typing import Any


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
