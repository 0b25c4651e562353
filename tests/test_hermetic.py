"""No test reads or writes the real home (issue 11: a fresh machine failed ``make test``
because the in-process server kept its file-id database in ``~/.local/share/jupyter``).

The session itself runs in a temporary home (``rtc_presence.pytest_hermetic``, which also
fails the session if the real home's Jupyter directories or ``~/.cache`` changed); these
tests pin where every server the suite starts keeps its files.
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import jupyter_core.paths
import nbformat
import psutil
import pytest
from IPython.paths import get_ipython_dir

from rtc_presence.pytest_plugin import TEST_USERS, RTCServer
from rtc_presence.testing.hermetic import HomeSnapshot, isolated_environ
from rtc_presence.testing.hubclient import DemoHub, HubBrowser
from rtc_presence.testing.yclient import open_session
from tests.reliability.util import SubprocessServer, until

#: Variables that name per-user directories: each must point inside the test's directory.
DIR_VARS = (
    "HOME",
    "JUPYTER_CONFIG_DIR",
    "JUPYTER_DATA_DIR",
    "JUPYTER_RUNTIME_DIR",
    "IPYTHONDIR",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "XDG_CACHE_HOME",
)


def _inside(path: str | Path, root: Path) -> bool:
    return Path(path).resolve().is_relative_to(root.resolve())


def test_the_session_runs_in_a_temporary_home(rtc_hermetic_home: Path) -> None:
    real = Path(pwd.getpwuid(os.getuid()).pw_dir).resolve()
    assert not _inside(rtc_hermetic_home, real)
    assert Path.home() == rtc_hermetic_home
    assert Path(os.path.expanduser("~")) == rtc_hermetic_home
    base = rtc_hermetic_home.parent
    for found in (
        jupyter_core.paths.jupyter_config_dir(),
        jupyter_core.paths.jupyter_data_dir(),
        jupyter_core.paths.jupyter_runtime_dir(),
        get_ipython_dir(),
        *(os.environ[name] for name in DIR_VARS),
    ):
        assert _inside(found, base), found
    assert "JUPYTER_PATH" not in os.environ and "JUPYTER_CONFIG_PATH" not in os.environ


def test_snapshot_reports_what_changed_in_the_guarded_directories(tmp_path: Path) -> None:
    home = tmp_path / "someone"
    (home / ".jupyter").mkdir(parents=True)
    (home / ".jupyter" / "jupyter_server_config.json").write_text("{}")
    (home / ".cache" / "pip").mkdir(parents=True)
    (home / ".cache" / "pip" / "blob").write_text("x")
    snapshot = HomeSnapshot.take([home])
    assert snapshot.changes() == []

    (home / ".bashrc").write_text("not guarded\n")
    (home / "notebooks").mkdir()
    # inside another program's cache (a desktop browser's churn): not looked at
    deep = home / ".cache" / "pip" / "http" / "a"
    deep.mkdir(parents=True)
    (home / ".cache" / "pip" / "blob").write_text("changed, and longer")
    assert snapshot.changes() == []
    # a cache created in ~/.cache is seen
    (home / ".cache" / "jupyter").mkdir()
    assert snapshot.changes() == [f"created {home / '.cache' / 'jupyter'}"]
    snapshot = HomeSnapshot.take([home])

    db = home / ".local" / "share" / "jupyter" / "file_id_manager.db"
    db.parent.mkdir(parents=True)
    db.write_bytes(b"sqlite")
    (home / ".jupyter" / "jupyter_server_config.json").unlink()
    changes = snapshot.changes()
    assert f"created {db.parent}" in changes
    assert f"created {db}" in changes
    assert f"removed {home / '.jupyter' / 'jupyter_server_config.json'}" in changes
    assert not any(".bashrc" in c or "notebooks" in c for c in changes)


def test_isolated_environ_moves_every_per_user_directory(tmp_path: Path) -> None:
    outside = {name: "/nowhere/" + name for name in DIR_VARS}
    env = isolated_environ(
        tmp_path / "w", {**outside, "JUPYTER_PATH": "/nowhere/p", "PATH": "/bin", "LANG": "C"}
    )
    for name in DIR_VARS:
        assert _inside(env[name], tmp_path / "w") and Path(env[name]).is_dir(), name
    assert "JUPYTER_PATH" not in env
    assert (env["PATH"], env["LANG"]) == ("/bin", "C")
    assert (Path(env["JUPYTER_RUNTIME_DIR"]).stat().st_mode & 0o777) == 0o700


async def test_in_process_server_keeps_every_store_in_tmp_path(
    rtc_server: RTCServer, tmp_path: Path
) -> None:
    app = rtc_server.app
    for found in (app.config_dir, app.data_dir, app.runtime_dir, os.environ["HOME"]):
        assert _inside(found, tmp_path), found
    file_ids = app.web_app.settings["file_id_manager"]
    assert Path(file_ids.db_path) == tmp_path / "file_id_manager.db"

    # The request that failed on a fresh machine: it indexes the file in the file-id db.
    path = rtc_server.notebook()
    client = await rtc_server.room("alice", path)
    await client.wait_synced(10)
    assert (tmp_path / "file_id_manager.db").stat().st_size > 0
    ydoc = app.web_app.settings["jupyter_server_ydoc"]
    (room,) = [r for r in ydoc.ywebsocket_server.rooms.values() if r.ystore is not None]
    assert Path(room.ystore.db_path) == tmp_path / "ystore.db"
    await until(lambda: (tmp_path / "ystore.db").exists(), 10, "the YStore file")


def _process_dirs(pid: int) -> dict[str, str]:
    environ = psutil.Process(pid).environ()
    return {name: environ[name] for name in DIR_VARS if name in environ}


async def test_subprocess_server_keeps_home_and_stores_in_its_workdir(tmp_path: Path) -> None:
    workdir = tmp_path / "server"
    server = SubprocessServer(workdir, TEST_USERS)
    server.start()
    try:
        await server.wait_ready_async()
        dirs = _process_dirs(server.pid)
        assert set(dirs) == set(DIR_VARS), dirs
        for name, value in dirs.items():
            assert _inside(value, workdir), (name, value)
        assert "JUPYTER_PATH" not in psutil.Process(server.pid).environ()
        nbformat.write(nbformat.v4.new_notebook(), server.root / "a.ipynb")
        client = await server.room("alice", "a.ipynb")
        await client.wait_synced(10)
        await until(lambda: (workdir / ".jupyter_ystore.db").exists(), 10, "the YStore file")
        await client.close()
        assert (workdir / "data" / "file_id_manager.db").stat().st_size > 0
        assert list((workdir / "runtime").glob("jpserver-*.json"))
    finally:
        server.stop()
    assert server.errors_in_logs() == []


def _singleuser_pid(hub: DemoHub, user: str) -> int:
    for pid in hub.leftover_pids():
        try:
            proc = psutil.Process(pid)
            if any("jupyterhub-singleuser" in part for part in proc.cmdline()) and (
                proc.environ().get("JUPYTERHUB_USER") == user
            ):
                return pid
        except psutil.Error:
            continue
    raise AssertionError(f"no server process for {user}")


@pytest.mark.hub
async def test_demo_hub_servers_keep_their_files_in_the_state_dir(tmp_path: Path) -> None:
    """What the UI tests' demo (``rtc-presence demo --state-dir <tmp>``) writes, and where."""
    state = tmp_path / "hub"
    home = Path.home()
    before = HomeSnapshot.take([home])
    async with DemoHub(state_dir=state) as hub, HubBrowser(hub.url, "alice") as alice:
        await alice.login()
        await alice.start_server()
        await alice.open_lab()
        api = alice.api()
        r = await api.put_notebook("shared.ipynb", "# shared\n")
        assert r.status_code in (200, 201), r.text
        await open_session(
            api.base_url, "shared.ipynb", headers={**api.headers(), **api.websocket_headers()}
        )
        pid = _singleuser_pid(hub, "alice")
        user_home = state.resolve() / "home" / "alice"
        # The local spawner's HOME, and nothing of the hub's own directories inherited.
        assert _process_dirs(pid) == {"HOME": str(user_home)}
        data = user_home / ".local" / "share" / "jupyter"
        assert (data / "file_id_manager.db").stat().st_size > 0
        await until(
            lambda: list((data / "runtime").glob("jpserver-*.json")), 10, "the runtime file"
        )
    # The hub and the proxy keep everything in the state directory, not in their HOME.
    changes = before.changes()
    assert changes == [], changes
