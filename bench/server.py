"""Start and stop real ``jupyter server`` subprocesses for the benchmark."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import nbformat

from rtc_presence.testing.server import JupyterServerProcess

REPO = Path(__file__).resolve().parent.parent


class Server(JupyterServerProcess):
    """One Jupyter server, with the rtc_presence extension enabled or disabled (stock)."""

    def __init__(self, setup: str, rtc_presence: bool, workdir: Path) -> None:
        self.setup = setup
        self.rtc_presence = rtc_presence
        self.token = secrets.token_hex(16)
        config = {
            "ServerApp": {
                "allow_root": True,
                "jpserver_extensions": {"rtc_presence": rtc_presence},
                "log_level": "WARN",
            },
            "IdentityProvider": {"token": self.token},
        }
        self.dir = Path(tempfile.mkdtemp(prefix=f"{setup}-", dir=workdir))
        super().__init__(self.dir, config, {"Authorization": f"token {self.token}"}, setup)

    @property
    def headers(self) -> dict[str, str]:
        return dict(self.ready_headers)

    def start(self) -> None:
        self.source_digest = source_digest()
        super().start()

    def new_notebook(self, name: str, cells: int = 1) -> str:
        nb = nbformat.v4.new_notebook()
        for i in range(cells):
            nb.cells.append(nbformat.v4.new_code_cell(f"# cell {i}\n"))
        (self.root / name).write_text(nbformat.writes(nb, version=4))
        return name

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
