"""Checks before the demo starts a hub: each problem is a :class:`DemoError` whose
message tells the user what to do (another ``--port``, ``make setup``...)."""

from __future__ import annotations

import errno
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from .options import DemoOptions

__all__ = ["DemoError", "check_state_dir", "find_configurable_http_proxy", "preflight"]


class DemoError(Exception):
    """A problem found before starting the hub; the message is meant for the user."""


def find_configurable_http_proxy() -> Path | None:
    """The proxy from this Python's environment (``make setup`` links it there), else PATH."""
    here = Path(sys.executable).parent / "configurable-http-proxy"
    if here.exists():
        return here
    found = shutil.which("configurable-http-proxy")
    return Path(found) if found else None


def _check_port(ip: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # Same options as the proxy (node sets SO_REUSEADDR): TIME_WAIT leftovers are fine.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((ip, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise DemoError(
                    f"port {port} on {ip} is already in use; stop what uses it"
                    f" or choose another port with --port"
                ) from None
            raise DemoError(f"cannot listen on {ip}:{port}: {e.strerror}") from None


def check_state_dir(state_dir: Path) -> None:
    """The state directory exists (created if needed) and is writable."""
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        probe = state_dir / f".write-test-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as e:
        raise DemoError(
            f"state directory {state_dir} is not writable ({e.strerror or e});"
            " choose another one with --state-dir"
        ) from None


def _check_proxy() -> Path:
    chp = find_configurable_http_proxy()
    hint = (
        "install it with `make setup` (or `npm install --prefix .venv/chp"
        " configurable-http-proxy@^4.6` and link .venv/chp/node_modules/.bin/"
        "configurable-http-proxy into .venv/bin)"
    )
    if chp is None:
        raise DemoError(f"configurable-http-proxy not found; {hint}")
    if shutil.which("node") is None:
        raise DemoError(
            "node (Node.js) not found on PATH; configurable-http-proxy needs it."
            " Install Node.js 18 or later (e.g. `apt-get install nodejs`)"
        )
    try:
        subprocess.run(
            [str(chp), "--version"],
            check=True,
            capture_output=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError) as e:
        raise DemoError(f"configurable-http-proxy at {chp} does not run ({e}); {hint}") from None
    return chp


def preflight(options: DemoOptions) -> Path:
    """Check everything the hub needs before starting it; return the proxy's path."""
    if not 0 < options.port < 65536:
        raise DemoError(f"invalid port {options.port}")
    if not options.password:
        raise DemoError("the password must not be empty")
    check_state_dir(options.state_dir)
    _check_port(options.ip, options.port)
    return _check_proxy()
