"""``rtc-presence demo``: a real JupyterHub, logged into through its forms like a browser."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest
from jupyter_core.paths import jupyter_path
from traitlets.config.loader import PyFileConfigLoader

from rtc_presence import cli, demo
from rtc_presence.demo import DemoAuthenticator, DemoError, DemoOptions, prepare_home
from rtc_presence.demo.options import from_arguments
from rtc_presence.demo.processes import child_environment
from rtc_presence.testing.hubclient import DemoHub, HubBrowser, free_port

FIGURES: dict[str, float] = {}


def rtc_presence_labextension_installed() -> bool:
    return any(
        (Path(p) / "rtc-presence" / "package.json").exists() for p in jupyter_path("labextensions")
    )


def alive(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.NoSuchProcess:
            pass
    return out


def run_cli(hub: DemoHub, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        hub.command(),
        env=hub.environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


# ---------------------------------------------------------------- the real thing


@pytest.mark.hub
async def test_demo_boots_a_hub_alice_gets_jupyterlab_and_ctrl_c_stops_everything(
    tmp_path: Path,
) -> None:
    hub = DemoHub(tmp_path / "state", log_path=tmp_path / "demo.log")
    await hub.start()
    try:
        assert hub.startup_seconds is not None
        FIGURES["hub answers (s)"] = hub.startup_seconds
        async with HubBrowser(hub.url, "alice") as alice:
            await alice.login()
            FIGURES["alice's server up (s)"] = await alice.start_server()

            page = await alice.open_lab()
            assert page.page_config["appName"] == "JupyterLab"
            assert "jupyter-config-data" in page.html
            extensions = page.labextension_names()
            assert "@jupyter/collaboration-extension" in extensions
            if rtc_presence_labextension_installed():
                assert "rtc-presence" in extensions

            r = await alice.api().get("api/me")
            assert r.status_code == 200
            identity = r.json()["identity"]
            assert identity["username"] == "alice"
            assert identity["display_name"] == "Alice Martin"
            assert identity["initials"] == "AM"

            # the sample notebook, and real-time collaboration switched on
            r = await alice.api().get("api/contents/welcome.ipynb")
            assert r.status_code == 200
            assert len(r.json()["content"]["cells"]) >= 3
            r = await alice.api().put(
                "api/collaboration/session/welcome.ipynb",
                json={"format": "json", "type": "notebook"},
            )
            assert r.status_code in (200, 201), r.text

            # the hub, the proxy and alice's server (and her kernel-less children)
            running = hub.leftover_pids()
            assert len(running) >= 3
            names = {psutil.Process(p).name() for p in running}
            assert any("node" in n for n in names), names  # configurable-http-proxy
    finally:
        FIGURES["stop after Ctrl-C (s)"] = elapsed = await hub.stop(sig=signal.SIGINT)
        hub.cleanup()
    print(f"\nrtc-presence demo figures: {FIGURES}")
    assert elapsed < 30
    assert hub.returncode == 0, hub.log_tail()
    assert hub.leftovers_at_exit == []
    assert alive(running) == []
    log = hub.log_path.read_text()
    assert "Cleaning up single-user servers" in log
    assert "left behind" not in log  # the hub cleaned up by itself, no fallback needed


@pytest.mark.hub
async def test_second_start_reuses_the_state_dir_even_after_the_launcher_was_killed(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    first = DemoHub(state, log_path=tmp_path / "first.log")
    await first.start()
    try:
        async with HubBrowser(first.url, "bob") as bob:
            await bob.login()
            token = (await bob.hub_api(note="kept across restarts")).token
        # the launcher dies without cleaning up (kill -9): its hub and proxy live on
        assert first.process is not None
        first.process.kill()
        first.process.wait()
        orphans = first.leftover_pids()
        assert orphans

        async with DemoHub(state, port=first.port, log_path=tmp_path / "second.log") as hub:
            assert "leftover process(es) of an earlier run" in hub.log_path.read_text()
            assert alive(orphans) == []
            async with HubBrowser(hub.url, "bob") as bob:
                r = await bob.client.get(
                    hub.url + "hub/api/user", headers={"Authorization": f"token {token}"}
                )
                assert r.status_code == 200
                assert r.json()["name"] == "bob"
            # while it runs, nobody else may use its state directory
            result = run_cli(DemoHub(state, log_path=tmp_path / "third.log"))
            assert result.returncode != 0
            assert "another rtc-presence demo" in result.stderr
            assert str(state) in result.stderr
        assert hub.leftovers_at_exit == []
    finally:
        await first.stop()


# ---------------------------------------------------------------- refusing to start


def test_port_taken_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        hub = DemoHub(tmp_path / "state", port=port)
        result = run_cli(hub)
    assert result.returncode != 0
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "--port" in result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_state_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    hub = DemoHub(blocker / "state")
    result = run_cli(hub)
    assert result.returncode != 0
    assert "is not writable" in result.stderr
    assert "--state-dir" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_state_dir_is_a_clear_error(tmp_path: Path) -> None:
    state = tmp_path / "ro"
    state.mkdir()
    state.chmod(stat.S_IRUSR | stat.S_IXUSR)
    result = run_cli(DemoHub(state))
    assert result.returncode != 0
    assert "is not writable" in result.stderr


def test_missing_node_is_a_clear_error(tmp_path: Path) -> None:
    hub = DemoHub(tmp_path / "state")
    env = hub.environment()
    env["PATH"] = str(tmp_path / "empty")  # no node anywhere (the proxy is still found)
    args = ["demo", "--port", str(hub.port), "--state-dir", str(hub.state_dir)]
    result = subprocess.run(
        [sys.executable, "-m", "rtc_presence.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "node (Node.js) not found" in result.stderr


def test_missing_proxy_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    assert demo.find_configurable_http_proxy() is None
    options = DemoOptions(port=free_port(), state_dir=tmp_path / "state")
    with pytest.raises(DemoError, match=r"configurable-http-proxy not found.*make setup"):
        demo.preflight(options)


# ---------------------------------------------------------------- pieces


def test_urls() -> None:
    assert DemoOptions().url == "http://127.0.0.1:8000/"
    assert DemoOptions(ip="0.0.0.0", port=9000).url == "http://127.0.0.1:9000/"
    assert DemoOptions(ip="::1", port=9000).url == "http://[::1]:9000/"
    behind_proxy = DemoOptions(public_url="https://hub.example.org", port=9000)
    assert behind_proxy.url == "https://hub.example.org/"
    assert behind_proxy.local_url == "http://127.0.0.1:9000/"


def test_generated_config_is_a_complete_hub_config(tmp_path: Path) -> None:
    options = DemoOptions(port=8123, state_dir=tmp_path, password="s3cret")
    path = demo.write_config(
        options, Path("/opt/chp"), "marker", hub_port=18081, proxy_api_port=18001
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    c = PyFileConfigLoader(path.name, str(path.parent)).load_config()
    assert c.JupyterHub.ip == "127.0.0.1"
    assert c.JupyterHub.port == 8123
    assert c.JupyterHub.public_url == "http://127.0.0.1:8123/"
    assert c.JupyterHub.hub_port == 18081
    assert c.ConfigurableHTTPProxy.api_url == "http://127.0.0.1:18001"
    assert c.ConfigurableHTTPProxy.command == ["/opt/chp"]
    assert c.JupyterHub.db_url == f"sqlite:///{tmp_path.resolve()}/jupyterhub.sqlite"
    assert c.JupyterHub.cleanup_servers is True
    assert c.JupyterHub.cleanup_proxy is True
    assert c.JupyterHub.authenticator_class is DemoAuthenticator
    assert c.DemoAuthenticator.password == "s3cret"
    assert c.DemoAuthenticator.user_infos["carol"]["display_name"] == "Carol Nguyen"
    assert c.Authenticator.allowed_users == {"alice", "bob", "carol"}
    assert c.JupyterHub.spawner_class == "simple"
    assert c.SimpleLocalProcessSpawner.home_dir_template.startswith(str(tmp_path.resolve()))
    assert c.Spawner.cmd == [str(Path(sys.executable).parent / "jupyterhub-singleuser")]
    assert ("--ServerApp.allow_root=True" in c.Spawner.args) == (os.geteuid() == 0)
    assert c.Spawner.default_url == "/lab"
    assert c.Spawner.environment["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    assert c.Spawner.environment["RTC_PRESENCE_DEMO"] == "marker"
    # rtc_presence.hub.configure(c) ran, composing with the demo's own pre_spawn_hook
    user_role = next(r for r in c.JupyterHub.load_roles if r["name"] == "user")
    assert "shares!user" in user_role["scopes"]
    assert "shares!server" in c.Spawner.oauth_client_allowed_scopes
    assert c.Spawner.pre_spawn_hook.__wrapped__ is prepare_home


async def test_demo_authenticator_sets_user_info() -> None:
    auth = DemoAuthenticator(password="pw", user_infos=demo.DEMO_USERS)
    ok = await auth.authenticate(None, {"username": "alice", "password": "pw"})
    assert ok == {
        "name": "alice",
        "user_info": {"name": "Alice Martin", "display_name": "Alice Martin", "initials": "AM"},
    }
    assert await auth.authenticate(None, {"username": "alice", "password": "nope"}) is None
    assert await auth.authenticate(None, {"username": "mallory", "password": "pw"}) is None


def test_prepare_home_copies_the_sample_notebook_once(tmp_path: Path) -> None:
    spawner = SimpleNamespace(home_dir=str(tmp_path / "home" / "alice"))
    prepare_home(spawner)
    notebook = tmp_path / "home" / "alice" / "welcome.ipynb"
    assert notebook.exists()
    notebook.unlink()  # the user deleted it: it does not come back
    prepare_home(spawner)
    assert not notebook.exists()


def test_every_cli_option_reaches_demo_options(tmp_path: Path) -> None:
    parser = cli.build_parser()
    assert from_arguments(parser.parse_args(["demo"])) == DemoOptions()
    argv = ["demo", "--ip", "0.0.0.0", "--port", "9001", "--state-dir", str(tmp_path)]
    argv += ["--password", "pw", "--public-url", "https://hub.example.org/"]
    args = parser.parse_args([*argv, "--log-level", "DEBUG", "--students", "30"])
    assert from_arguments(args) == DemoOptions(
        ip="0.0.0.0",
        port=9001,
        state_dir=tmp_path,
        password="pw",
        public_url="https://hub.example.org/",
        log_level="DEBUG",
        students=30,
    )
    for bad in (["--log-level", "LOUD"], ["--students", "-1"], ["--students", "501"]):
        with pytest.raises(SystemExit):
            parser.parse_args(["demo", *bad])


def test_students_are_a_class_of_extra_demo_users(tmp_path: Path) -> None:
    options = DemoOptions(state_dir=tmp_path, students=3)
    path = demo.write_config(options, Path("/opt/chp"), "m", hub_port=18081, proxy_api_port=18001)
    c = PyFileConfigLoader(path.name, str(path.parent)).load_config()
    students = {"student1", "student2", "student3"}
    assert c.Authenticator.allowed_users == {"alice", "bob", "carol", *students}
    assert c.DemoAuthenticator.user_infos["student3"] == {
        "name": "Student 3",
        "display_name": "Student 3",
    }
    assert set(demo.demo_users(0)) == {"alice", "bob", "carol"}
    with pytest.raises(ValueError, match="between 0 and 500"):
        demo.demo_users(501)


def test_child_environment_puts_this_python_first_and_marks_the_child() -> None:
    env = child_environment({"PATH": "/usr/bin", "KEEP": "1"}, marker="/state:run")
    assert env["PATH"].split(os.pathsep) == [str(Path(sys.executable).parent), "/usr/bin"]
    assert env["KEEP"] == "1"
    assert env["RTC_PRESENCE_DEMO"] == "/state:run"
    assert "RTC_PRESENCE_DEMO" not in child_environment({"PATH": "/usr/bin"})
