"""The wheel: built like a release (``python -m build --wheel``), installed, enabled."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LABEXT = "share/jupyter/labextensions/rtc-presence"
SERVER_CONFIG = "etc/jupyter/jupyter_server_config.d/rtc_presence.json"


def run(cmd: list[str], env: dict[str, str] | None = None, timeout: float = 120) -> str:
    result = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(cmd)} exited {result.returncode}:\n{out[-4000:]}"
    return out


def plain(text: str) -> str:
    """Without the terminal colors jupyter's listings use."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def config_dir_blocks(listing: str) -> dict[str, list[str]]:
    """``jupyter server extension list`` output: config dir -> its lines."""
    blocks: dict[str, list[str]] = {}
    current: list[str] = []
    for line in plain(listing).splitlines():
        if line.strip().startswith("Config dir:"):
            current = blocks.setdefault(line.split(":", 1)[1].strip(), [])
        else:
            current.append(line.strip())
    return blocks


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    env = dict(os.environ, PATH=os.pathsep.join([str(BIN), os.environ.get("PATH", "")]))
    run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(REPO)], env, 900)
    wheels = list(out.glob("rtc_presence-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_ships_the_prebuilt_labextension_and_the_server_config(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        data = next(n.split("/data/")[0] + "/data/" for n in names if ".data/data/" in n)

        def read(path: str) -> str:
            return zf.read(data + path).decode()

        package = json.loads(read(f"{LABEXT}/package.json"))
        assert package["name"] == "rtc-presence"
        assert package["jupyterlab"]["_build"]["load"].startswith("static/remoteEntry.")
        static = [n for n in names if n.startswith(data + f"{LABEXT}/static/")]
        assert any(n.endswith(".js") and "/remoteEntry." in n for n in static)
        assert any(n.endswith("/style.js") for n in static)
        install = json.loads(read(f"{LABEXT}/install.json"))
        assert install["packageName"] == "rtc-presence"
        assert install["packageManager"] == "python"
        server = json.loads(read(SERVER_CONFIG))
        assert server["ServerApp"]["jpserver_extensions"]["rtc_presence"] is True

        assert "rtc_presence/hub.py" in names
        assert "rtc_presence/demo_content/welcome.ipynb" in names
        info = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        entry_points = zf.read(info).decode()
        assert "rtc-presence = rtc_presence.cli:main" in entry_points


def test_installed_wheel_enables_the_server_and_lab_extensions(wheel: Path, tmp_path: Path) -> None:
    """A fresh environment, its dependencies borrowed from this one: only the wheel's own
    files can enable rtc-presence there."""
    env_dir = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)])
    python = env_dir / "bin" / "python"
    purelib = Path(
        run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).strip()
    )
    # dependencies from this environment, after the new one's own site-packages
    (purelib / "borrowed.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", str(wheel)])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "PYTHON"))}

    listing = run([str(python), "-m", "jupyter_server.extension.serverextension", "list"], env)
    ours = config_dir_blocks(listing).get(str(env_dir / "etc" / "jupyter"), [])
    assert "rtc_presence enabled" in ours, listing
    assert any(ln.startswith("rtc_presence") and ln.endswith("OK") for ln in ours), listing

    labext = run([str(python), "-m", "jupyterlab.labextensions", "list"], env)
    line = next((ln for ln in plain(labext).splitlines() if "rtc-presence" in ln), "")
    assert "enabled" in line and "OK" in line, labext
    assert str(env_dir / "share" / "jupyter" / "labextensions") in labext

    version = run([str(env_dir / "bin" / "rtc-presence"), "--version"], env)
    assert version.strip() == "rtc-presence 0.1.0"


def test_development_install_has_the_server_extension_enabled() -> None:
    """What ``make setup`` does (editable install + ``extension enable --sys-prefix``)."""
    listing = run([str(BIN / "jupyter"), "server", "extension", "list"])
    lines = [ln.strip() for ln in plain(listing).splitlines()]
    assert "rtc_presence enabled" in lines, listing
    assert any(ln.startswith("rtc_presence") and ln.endswith("OK") for ln in lines), listing
