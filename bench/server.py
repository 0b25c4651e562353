"""Start and stop real ``jupyter server`` subprocesses for the benchmark."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import nbformat

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """One Jupyter server, with the rtc_presence extension enabled or disabled (stock)."""

    def __init__(self, setup: str, rtc_presence: bool, workdir: Path) -> None:
        self.setup = setup
        self.rtc_presence = rtc_presence
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.dir = Path(tempfile.mkdtemp(prefix=f"{setup}-", dir=workdir))
        self.root = self.dir / "root"
        self.root.mkdir()
        self.log_path = self.dir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        self.source_digest = source_digest()
        env = dict(os.environ)
        for name in ("config", "data", "runtime"):
            (self.dir / name).mkdir(exist_ok=True)
        env["JUPYTER_CONFIG_DIR"] = str(self.dir / "config")
        env["JUPYTER_DATA_DIR"] = str(self.dir / "data")
        env["JUPYTER_RUNTIME_DIR"] = str(self.dir / "runtime")
        env["JUPYTER_PLATFORM_DIRS"] = "1"
        # rtc_presence importable even when the package is not pip-installed yet.
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
        enabled = "True" if self.rtc_presence else "False"
        cmd = [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--port={self.port}",
            "--port-retries=0",
            f"--ServerApp.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            f"--ServerApp.jpserver_extensions=rtc_presence={enabled}",
            "--ServerApp.log_level=WARN",
        ]
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            cmd, cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()

    def wait_ready(self, timeout: float = 90) -> float:
        """Poll ``/api/status`` until it answers; return the seconds it took."""
        t0 = time.monotonic()
        deadline = t0 + timeout
        req = urllib.request.Request(self.http_url + "api/status", headers=self.headers)
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.setup} server exited; log: {self.log_tail()}")
            try:
                with urllib.request.urlopen(req, timeout=2) as resp:
                    if resp.status == 200:
                        return time.monotonic() - t0
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.setup} server not ready in {timeout} s: {self.log_tail()}")

    def extensions(self) -> dict[str, Any]:
        """What the running server reports about its extensions (sanity check)."""
        req = urllib.request.Request(self.http_url + "api/rtc-presence/info", headers=self.headers)
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                return {"rtc_presence_info": resp.status}
        except urllib.error.HTTPError as exc:
            return {"rtc_presence_info": exc.code}

    def new_notebook(self, name: str, cells: int = 1) -> str:
        nb = nbformat.v4.new_notebook()
        for i in range(cells):
            nb.cells.append(nbformat.v4.new_code_cell(f"# cell {i}\n"))
        (self.root / name).write_text(nbformat.writes(nb, version=4))
        return name

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def errors_in_log(self) -> list[str]:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        return [line for line in text.splitlines() if line.startswith("[E ")][:20]

    def terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def cleanup(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str] = {}
    for dist in (
        "jupyter_server",
        "jupyter-collaboration",
        "jupyter-server-ydoc",
        "pycrdt",
        "pycrdt-websocket",
        "websockets",
        "tornado",
        "psutil",
    ):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "missing"
    return out


def git_revision() -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except OSError:
        return ""


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=1, sort_keys=True)


def source_digest() -> str:
    """Hash of rtc_presence/*.py as the server imports it (the tree may change mid-run)."""
    import hashlib

    h = hashlib.sha256()
    for path in sorted((REPO / "rtc_presence").glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def git_dirty() -> bool:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "rtc_presence"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout
    except OSError:
        return False
    return bool(out.strip())
