"""``rtc-presence demo`` as a test fixture: :class:`DemoHub` starts it in a subprocess on
a free loopback port with its own state directory, and stops everything it started.

Example::

    async with DemoHub() as hub, HubBrowser(hub.url, "alice") as alice:
        await alice.login()
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

import httpx

from ..demo.hubside import DEFAULT_PASSWORD
from ..demo.launcher import READY_LINE
from ..demo.processes import child_environment, free_port, kill_marked, marked_pids
from .closing import AsyncClosing
from .hubapi import HubClientError
from .server import log_tail

__all__ = ["DemoHub", "which_rtc_presence"]


class DemoHub(AsyncClosing):
    """``rtc-presence demo`` in a subprocess, on a free loopback port.

    ``url`` is the hub's public URL (``http://127.0.0.1:PORT/``). The demo's output goes
    to ``log_path`` (inside the state directory unless given). ``start()`` waits until
    ``/hub/api/`` answers; ``stop()`` sends SIGTERM and waits for the demo to stop the
    hub, the proxy and every user server, then kills whatever is left.
    """

    def __init__(
        self,
        state_dir: Path | str | None = None,
        *,
        port: int | None = None,
        password: str = DEFAULT_PASSWORD,
        extra_args: list[str] | None = None,
        log_path: Path | str | None = None,
        startup_timeout: float = 60.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="rtc-presence-hub-")
            state_dir = Path(self._tmp.name) / "state"
        self.state_dir = Path(state_dir).resolve()
        self.port = port or free_port()
        self.password = password
        self.url = f"http://127.0.0.1:{self.port}/"
        self.extra_args = list(extra_args or [])
        self.log_path = Path(log_path) if log_path else self.state_dir.parent / "demo.log"
        self.startup_timeout = startup_timeout
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_seconds: float | None = None
        self.leftovers_at_exit: list[int] = []
        self._log_start = 0
        self._log_file: IO[bytes] | None = None

    def command(self) -> list[str]:
        """The command line: the ``rtc-presence`` script of this environment if installed."""
        script = Path(sys.executable).parent / "rtc-presence"
        base = [str(script)] if script.exists() else [sys.executable, "-m", "rtc_presence.cli"]
        return [
            *base,
            "demo",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--state-dir",
            str(self.state_dir),
            "--password",
            self.password,
            *self.extra_args,
        ]

    def environment(self) -> dict[str, str]:
        """The launcher's environment: ``env`` (default: ours) as the demo's children get it."""
        return child_environment(self.env)

    async def start(self) -> DemoHub:
        self.state_dir.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = self._open_log()
        self._log_start = self._log_file.tell()
        started = time.monotonic()
        # A plain Popen, not an asyncio subprocess: a session-wide hub may be stopped from
        # another event loop than the one that started it.
        self.process = subprocess.Popen(  # noqa: ASYNC220
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=self.environment(),
        )
        deadline = started + self.startup_timeout
        async with httpx.AsyncClient(timeout=5) as client:
            while True:
                if self.process.poll() is not None:
                    raise HubClientError(
                        f"rtc-presence demo exited with {self.process.returncode}"
                        f" before the hub answered:\n{self.log_tail()}"
                    )
                # The launcher says its own hub is ready (another process could answer on
                # the port, e.g. a leftover the launcher is about to stop), and it answers.
                if READY_LINE.encode() in self._read_log():
                    with contextlib.suppress(httpx.HTTPError):
                        r = await client.get(self.url + "hub/api/")
                        if r.status_code == 200:
                            break
                if time.monotonic() > deadline:
                    await self.stop()
                    raise HubClientError(
                        f"hub did not answer within {self.startup_timeout} s:\n{self.log_tail()}"
                    )
                await asyncio.sleep(0.1)
        self.startup_seconds = time.monotonic() - started
        return self

    async def stop(self, timeout: float = 30.0, sig: int = signal.SIGTERM) -> float:
        """Stop the demo (``sig``, then SIGKILL after ``timeout``); return seconds taken.

        ``sig=signal.SIGINT`` is what Ctrl-C in a terminal sends.
        """
        started = time.monotonic()
        proc = self.process
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            try:
                await asyncio.to_thread(proc.wait, timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                await asyncio.to_thread(proc.wait)
        # What the demo left behind by itself (tests assert it is nothing), then clean up.
        self.leftovers_at_exit = self.leftover_pids()
        kill_marked(f"{self.state_dir}:")
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return time.monotonic() - started

    def _read_log(self) -> bytes:
        """What the demo wrote to the log since this start."""
        try:
            return self.log_path.read_bytes()[self._log_start :]
        except OSError:
            return b""

    def _open_log(self) -> IO[bytes]:
        return self.log_path.open("ab")

    def leftover_pids(self) -> list[int]:
        """Processes started by this demo (hub, proxy, servers, kernels) still running."""
        return marked_pids(f"{self.state_dir}:")

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.returncode

    def log_tail(self, lines: int = 60) -> str:
        return log_tail(self.log_path, lines)

    def cleanup(self) -> None:
        """Remove the temporary state directory (only one this object created)."""
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    async def aclose(self) -> None:
        """Stop everything and remove what this object created (``async with`` ends here)."""
        await self.stop()
        self.cleanup()

    async def __aenter__(self) -> DemoHub:
        try:
            return await self.start()
        except BaseException:
            await self.aclose()
            raise


def which_rtc_presence() -> str | None:
    """The ``rtc-presence`` script next to this Python, or on PATH."""
    script = Path(sys.executable).parent / "rtc-presence"
    return str(script) if script.exists() else shutil.which("rtc-presence")
