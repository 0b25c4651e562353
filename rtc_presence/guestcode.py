"""What a guest's code leaves behind, wired to the gate.

:class:`~.processes.ProcessLedger` (who started which kernel and terminal,
ending them) and :class:`~.startupfiles.StartupWatch` (changed startup files)
follow the gate's decisions: a guest admitted with run access starts the
startup watch; a guest evicted, or whose level drops below run, has their
processes ended and stops counting as having run access once they are gone.
"""

from __future__ import annotations

from typing import Any

from .processes import ProcessLedger, install
from .startupfiles import StartupWatch


def connect(gate: Any, ledger: ProcessLedger, watch: StartupWatch) -> None:
    """Subscribe ``ledger`` and ``watch`` to ``gate`` (:class:`~.gate.Gate`)."""

    def evicted(username: str, by: str, closed: int) -> None:
        ledger.on_evicted(username, by, closed)
        watch.left(username)

    def access_changed(username: str, level: str) -> None:
        if level != "run":
            # Kernels and terminals are refused below run: what they started goes too.
            ledger.spawn(ledger.end_processes_of(username))
        watch.admitted(username, level)

    gate.on_evicted(evicted)
    gate.on_access_changed(access_changed)
    # Every counted request of a person (page loads, API calls) and every kernel
    # or terminal a guest starts tells the watch who has run access now.
    previous = gate.on_request

    def on_request(username: str) -> None:
        if previous is not None:
            previous(username)
        if gate.role_of(username) == "guest":
            watch.admitted(username, gate.access_of(username))

    gate.on_request = on_request
    ledger.on_start = lambda username: watch.admitted(username, gate.access_of(username))


def install_managers(serverapp: Any, ledger: ProcessLedger) -> None:
    """Hook the server's kernel and terminal managers (once every extension loaded:
    jupyter_server_terminals creates its manager in its own initialize_settings)."""
    terminals = serverapp.web_app.settings.get("terminal_manager")
    install(serverapp.kernel_manager, terminals, ledger)
