"""Start and stop real ``jupyter server`` subprocesses for the benchmark."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from rtc_presence.testing.server import JupyterServerProcess

REPO = Path(__file__).resolve().parent.parent


class Server(JupyterServerProcess):
    """One Jupyter server with the given ``jpserver_extensions`` (rtc_presence on or
    off, bench.nodelay) and extra config sections."""

    def __init__(
        self,
        setup: str,
        extensions: dict[str, bool],
        workdir: Path,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.setup = setup
        self.token = secrets.token_hex(16)
        config = {
            "ServerApp": {
                "allow_root": True,
                "jpserver_extensions": extensions,
                "log_level": "WARN",
            },
            "IdentityProvider": {"token": self.token},
            **(extra or {}),
        }
        self.dir = Path(tempfile.mkdtemp(prefix=f"{setup}-", dir=workdir))
        super().__init__(self.dir, config, {"Authorization": f"token {self.token}"}, setup)

    @property
    def headers(self) -> dict[str, str]:
        return dict(self.ready_headers)

    def start(self) -> None:
        self.source_digest = source_digest()
        super().start()

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
