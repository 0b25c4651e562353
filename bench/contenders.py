"""The servers a benchmark run compares, behind one small interface.

- ``stock-nodelay``: stock jupyter-collaboration plus only TCP_NODELAY on room sockets
  (``bench.nodelay``): the fair baseline;
- ``stock``: stock jupyter-collaboration as installed (Nagle on);
- ``rtc-presence``: the same server with the rtc_presence extension;
- ``pycrdt``: a bare pycrdt-websocket server (``bench.bare_server``), no Jupyter;
- ``node``: Node's y-websocket server (``@y/websocket-server``, stock
  ``src/server.js``), pinned in ``bench/node/package-lock.json`` and installed there
  with ``npm ci`` at first use (npm cache in ``bench/node/.npm-cache``, never ``~/.npm``).

Each contender is a subprocess on 127.0.0.1; ``pid`` is the server process itself, so
its CPU time and RSS are the server's. ``room(name)`` gives the websocket URL of a
notebook room and whether the bench must seed the notebook into it (the bare servers
start rooms empty; the Jupyter ones load the file).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from rtc_presence.testing.hermetic import isolated_environ
from rtc_presence.testing.server import PACKAGE_PARENT, free_port
from rtc_presence.testing.yclient import open_session, room_url

from .server import Server

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "node"
NODE_SERVER = NODE_DIR / "node_modules" / "@y" / "websocket-server" / "src" / "server.js"

#: Every kind a run may name in ``--contenders``.
KINDS = ("stock-nodelay", "stock", "rtc-presence", "pycrdt", "node")
DEFAULT = ("stock-nodelay", "rtc-presence", "pycrdt", "node")


def notebook_text(cells: int = 1) -> str:
    """The benchmark's notebook (nbformat 4.5): ``cells`` code cells (``# cell <i>``)."""
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"cell-{i}",
                "metadata": {},
                "outputs": [],
                "source": f"# cell {i}\n",
            }
            for i in range(cells)
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(nb, indent=1)


@dataclass
class RoomSpec:
    url: str
    headers: dict[str, str]
    #: the notebook (nbformat JSON) to seed into the room; None when the server loads it
    seed: str | None


class Contender:
    """One server under test."""

    label: str
    kind: str

    def start(self) -> None:
        raise NotImplementedError

    def wait_ready(self, timeout: float = 90) -> float:
        raise NotImplementedError

    @property
    def pid(self) -> int:
        raise NotImplementedError

    def room(self, name: str) -> RoomSpec:
        raise NotImplementedError

    def terminate(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def errors_in_logs(self) -> list[str]:
        return []


class JupyterContender(Contender):
    """A real ``jupyter server`` with jupyter-collaboration (stock, +nodelay, or ours)."""

    def __init__(self, label: str, kind: str, workdir: Path) -> None:
        self.label = label
        self.kind = kind
        extensions = {"rtc_presence": kind == "rtc-presence"}
        if kind == "stock-nodelay":
            extensions["bench.nodelay"] = True
        # A class is 300 people; the bench's clients are all one token, so the
        # per-person bound (max_room_connections, 100 by default) is lifted.
        extra = {"RTCPresence": {"max_room_connections": 0}} if kind == "rtc-presence" else {}
        self.server = Server(label, extensions, workdir, extra)

    def start(self) -> None:
        self.server.start()

    def wait_ready(self, timeout: float = 90) -> float:
        return self.server.wait_ready(timeout)

    @property
    def pid(self) -> int:
        return self.server.pid

    @property
    def source_digest(self) -> str:
        return self.server.source_digest

    def room(self, name: str) -> RoomSpec:
        (self.server.root / name).write_text(notebook_text())
        headers = self.server.headers
        room_id, session_id = asyncio.run(open_session(self.server.http_url, name, headers=headers))
        return RoomSpec(room_url(self.server.ws_url, room_id, session_id), headers, None)

    def terminate(self) -> None:
        self.server.terminate()

    def stop(self) -> None:
        self.server.stop()

    def errors_in_logs(self) -> list[str]:
        return self.server.errors_in_logs()


class ProcessContender(Contender):
    """A plain websocket server subprocess answering HTTP GET / when ready."""

    def __init__(self, label: str, kind: str, workdir: Path) -> None:
        self.label = label
        self.kind = kind
        self.dir = Path(tempfile.mkdtemp(prefix=f"{label}-", dir=workdir))
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        self.port = free_port()
        env = isolated_environ(self.dir)
        env["PYTHONPATH"] = str(PACKAGE_PARENT)
        env["HOST"] = "127.0.0.1"
        env["PORT"] = str(self.port)
        env["NODE_ENV"] = "production"
        with (self.dir / "server.log").open("wb") as log:
            self.proc = subprocess.Popen(
                self.command(),
                cwd=self.dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 90) -> float:
        t0 = time.monotonic()
        while True:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"{self.label} exited: {self.log_tail()}")
            try:
                # websockets answers a plain GET with 426, Node's server with 200.
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=2):
                    return time.monotonic() - t0
            except urllib.error.HTTPError:
                return time.monotonic() - t0
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() - t0 > timeout:
                raise TimeoutError(f"{self.label} not ready in {timeout} s: {self.log_tail()}")
            time.sleep(0.1)

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError(f"{self.label} is not running")
        return self.proc.pid

    def room(self, name: str) -> RoomSpec:
        return RoomSpec(f"ws://127.0.0.1:{self.port}/{name}", {}, notebook_text())

    def terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()

    def stop(self) -> None:
        if self.proc is None:
            return
        self.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = (self.dir / "server.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def errors_in_logs(self) -> list[str]:
        tail = self.log_tail(400).splitlines()
        return [line for line in tail if "Error" in line or line.startswith("Traceback")]


class PycrdtContender(ProcessContender):
    def command(self) -> list[str]:
        return [sys.executable, "-m", "bench.bare_server", str(self.port)]


class NodeContender(ProcessContender):
    def command(self) -> list[str]:
        return [node_executable(), str(ensure_node_server())]


def node_executable() -> str:
    exe = shutil.which("node")
    if exe is None:
        raise RuntimeError("the node contender needs Node.js (node) on PATH")
    return exe


def ensure_node_server() -> Path:
    """Install the pinned y-websocket server into bench/node (npm ci, once)."""
    if NODE_SERVER.is_file():
        return NODE_SERVER
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("the node contender needs npm on PATH to install y-websocket")
    cache = NODE_DIR / ".npm-cache"
    # --ignore-scripts: leveldown (an optional persistence backend the server imports
    # but does not use without YPERSISTENCE) would build a native addon.
    subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--cache", str(cache)],
        cwd=NODE_DIR,
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=300,
    )
    if not NODE_SERVER.is_file():
        raise RuntimeError(f"npm ci in {NODE_DIR} did not install {NODE_SERVER}")
    return NODE_SERVER


def make(label: str, kind: str, workdir: Path) -> Contender:
    if kind not in KINDS:
        raise ValueError(f"unknown contender {kind!r} (one of {', '.join(KINDS)})")
    if kind == "pycrdt":
        return PycrdtContender(label, kind, workdir)
    if kind == "node":
        return NodeContender(label, kind, workdir)
    return JupyterContender(label, kind, workdir)
