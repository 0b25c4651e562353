"""What the demo starts, as processes of this machine: free ports, child environments,
and the mark every process it starts carries.

Public: the launcher and the test kit (:mod:`rtc_presence.testing.demohub`) both use it.
Every process the demo starts (hub, proxy, servers, kernels, terminals) inherits
``RTC_PRESENCE_DEMO=<state dir>:<run id>`` in its environment, so leftovers of one demo
are found and stopped precisely, never by name.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "MARKER_ENV",
    "child_environment",
    "free_port",
    "kill_marked",
    "marked_pids",
    "needs_pythonpath",
    "pid_alive",
]

#: Environment variable that marks every process the demo starts.
MARKER_ENV = "RTC_PRESENCE_DEMO"
#: The directory holding the ``rtc_presence`` package (a source checkout or site-packages).
PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])


def free_port(ip: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((ip, 0))
        return int(sock.getsockname()[1])


def needs_pythonpath(package_parent: str = PACKAGE_PARENT) -> bool:
    """Is this package outside the interpreter's site directories (a source checkout)?"""
    import site

    dirs = [*site.getsitepackages(), site.getusersitepackages()]
    return all(Path(d).resolve() != Path(package_parent) for d in dirs)


def child_environment(
    base: Mapping[str, str] | None = None, *, marker: str | None = None
) -> dict[str, str]:
    """``base`` (default: this process's environment) for a child of the demo.

    This Python's ``bin`` directory first on PATH (jupyterhub, the proxy and the
    single-user server come from the same environment), the package importable from a
    source checkout, and the demo's mark when given.
    """
    env = dict(os.environ if base is None else base)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", os.defpath)])
    if needs_pythonpath():
        env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_PARENT, env.get("PYTHONPATH")) if p)
    if marker is not None:
        env[MARKER_ENV] = marker
    return env


def marked_pids(prefix: str) -> list[int]:
    """Processes whose environment has ``RTC_PRESENCE_DEMO`` starting with ``prefix``."""
    needle = f"{MARKER_ENV}={prefix}".encode()
    found = []
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if any(var.startswith(needle) for var in environ.split(b"\0")):
            found.append(int(entry.name))
    return found


def pid_alive(pid: int) -> bool:
    """Running and not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def kill_marked(prefix: str, *, grace: float = 3.0) -> list[int]:
    """SIGTERM, then SIGKILL, every process marked with ``prefix``; return their pids."""
    pids = marked_pids(prefix)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
        time.sleep(0.1)
    for pid in pids:
        if pid_alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    return pids
