"""SIGINT stops a server under JupyterHub gracefully (rtc_presence.stopping)."""

from __future__ import annotations

import logging
import signal
from typing import Any

from jupyter_server.serverapp import ServerApp

from rtc_presence.stopping import stop_gracefully_on_sigint


def test_sigint_gets_jupyter_servers_graceful_stop() -> None:
    # Pins the upstream method JupyterHub means for SIGINT (jupyter_server's
    # ServerApp._signal_stop, jupyterhub PR 4864).
    assert callable(ServerApp._signal_stop)
    calls: list[Any] = []

    class App:
        def _signal_stop(self, sig: Any, frame: Any) -> None:
            calls.append(sig)

    before = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        app = App()
        assert stop_gracefully_on_sigint(app, logging.getLogger("test"))
        signal.raise_signal(signal.SIGINT)  # no KeyboardInterrupt: a graceful stop
        assert calls == [signal.SIGINT]
        # someone else's handler (an interactive prompt) is left alone
        assert not stop_gracefully_on_sigint(App(), logging.getLogger("test"))
    finally:
        signal.signal(signal.SIGINT, before)
