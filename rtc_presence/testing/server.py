"""Real ``jupyter server`` subprocesses, for the reliability suite and the benchmark.

:class:`JupyterServerProcess` starts ``python -m jupyter_server`` with a JSON
config of your choice, everything (home, config, data, runtime, file ids,
YStore, logs, root) under one work directory, so a server restarted on the
same directory finds the same files and stored updates, and none of it
touches the real home. It binds 127.0.0.1 on a free port, is ready
when ``/api/status`` answers, and is stopped by whoever started it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import rtc_presence

from .hermetic import isolated_environ

#: The directory rtc_presence is imported from: put first on the server's
#: PYTHONPATH so it runs the same code as the test, installed or not.
PACKAGE_PARENT = Path(rtc_presence.__file__).resolve().parent.parent

#: pycrdt-store creates its SQLite tables from each room that opens first on a
#: fresh YStore (``SQLiteYStore.start``, also called by jupyter_server_ydoc's
#: ``DocumentRoom.initialize``); rooms opened together race: one logs "table
#: yupdates already exists", or reads between the creator's two CREATE TABLEs
#: and logs "no such table: ycheckpoints". Upstream's, not rtc-presence's; the
#: suites check the documents themselves (every marker saved, nothing lost).
KNOWN_UPSTREAM_ERRORS = ("table yupdates already exists", "no such table: ycheckpoints")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class JupyterServerProcess:
    """One ``jupyter server`` subprocess.

    ``config`` is written to ``jupyter_server_config.json``; the ``ServerApp``
    address, port and root directory are filled in. ``ready_headers`` are
    sent with the ``/api/status`` polls.
    """

    def __init__(
        self,
        workdir: Path,
        config: dict[str, Any],
        ready_headers: dict[str, str] | None = None,
        name: str = "server",
    ) -> None:
        self.workdir = workdir
        self.config = config
        self.ready_headers = ready_headers or {}
        self.name = name
        self.root = workdir / "root"
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.starts = 0

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError(f"{self.name} is not running")
        return self.proc.pid

    def _log_path(self, start: int) -> Path:
        return self.workdir / f"server-{start}.log"

    def environment(self) -> dict[str, str]:
        """The server's environment: this one, with its home, Jupyter config, data and
        runtime directories, IPython and XDG directories all under ``workdir``
        (``home``, ``config``, ``data``, ``runtime``, ``ipython``); kernels and
        terminals it starts inherit them."""
        env = isolated_environ(self.workdir)
        env["JUPYTER_PLATFORM_DIRS"] = "1"
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(PACKAGE_PARENT), env.get("PYTHONPATH")) if p
        )
        return env

    def full_config(self) -> dict[str, Any]:
        """``config`` with the address, port and root filled in, and the stores (the
        file-id database, the YStore) in ``workdir`` unless ``config`` names them."""
        server_app = {
            **self.config.get("ServerApp", {}),
            "ip": "127.0.0.1",
            "port": self.port,
            "port_retries": 0,
            "open_browser": False,
            "root_dir": str(self.root),
        }
        stores = {
            # jupyter_server_fileid's default is jupyter_data_dir(), computed at import.
            "BaseFileIdManager": str(self.workdir / "data" / "file_id_manager.db"),
            # jupyter_server_ydoc's default is relative to the working directory.
            "SQLiteYStore": str(self.workdir / ".jupyter_ystore.db"),
        }
        config = {**self.config, "ServerApp": server_app}
        for section, db_path in stores.items():
            config[section] = {"db_path": db_path, **self.config.get(section, {})}
        return config

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        env = self.environment()
        config_file = Path(env["JUPYTER_CONFIG_DIR"]) / "jupyter_server_config.json"
        config_file.write_text(json.dumps(self.full_config()))
        self.starts += 1
        with self._log_path(self.starts).open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jupyter_server", "--no-browser"],
                cwd=self.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 90) -> float:
        """Poll ``/api/status`` until it answers 200; return the seconds it took."""
        t0 = time.monotonic()
        request = urllib.request.Request(self.http_url + "api/status", headers=self.ready_headers)
        while True:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_tail()}")
            try:
                with urllib.request.urlopen(request, timeout=2) as response:
                    if response.status == 200:
                        return time.monotonic() - t0
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() - t0 > timeout:
                raise TimeoutError(f"{self.name} not ready in {timeout} s: {self.log_tail()}")
            time.sleep(0.1)

    async def wait_ready_async(self, timeout: float = 90) -> float:
        """:meth:`wait_ready` without blocking the running event loop."""
        return await asyncio.to_thread(self.wait_ready, timeout)

    def kill9(self) -> None:
        """SIGKILL the server (no shutdown hooks, no final save)."""
        if self.proc is None:
            return
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def terminate(self) -> None:
        """Ask the server to stop, without waiting (see :meth:`stop`)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()

    def stop(self, timeout: float = 15) -> None:
        """Stop the server: SIGTERM, then SIGKILL after ``timeout`` s."""
        if self.proc is None:
            return
        self.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self._log_path(self.starts), lines)

    def errors_in_logs(self, ignore: tuple[str, ...] = KNOWN_UPSTREAM_ERRORS) -> list[str]:
        """ERROR lines and the exception line of each traceback of every start,
        less the known upstream ones in ``ignore``."""
        found = []
        for start in range(1, self.starts + 1):
            try:
                lines = self._log_path(start).read_text(errors="replace").splitlines()
            except OSError:
                continue
            in_traceback = False
            for line in lines:
                if line.startswith("Traceback"):
                    in_traceback = True
                elif in_traceback and line and not line.startswith((" ", "During handling")):
                    in_traceback = False
                    found.append(line)
                elif line.startswith("[E "):
                    found.append(line)
        return [e for e in found if not any(known in e for known in ignore)]


def log_tail(path: Path, lines: int) -> str:
    """The last ``lines`` lines of the log file at ``path`` ("" when it cannot be read)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
