"""A revoked guest's processes end (issue 13, finding 2).

Real kernels and terminals on a real Jupyter server: bob starts a thread, a
subprocess, a ``setsid nohup`` loop (a new session, reparented by the shell's
``&``), a child with a clean environment that ignores SIGTERM, and a ``nohup``
loop in a terminal; revoking him ends every one within 2 s (``/proc`` polled
with a deadline), while alice's kernel and her own loop live on. Neither
kernel nor terminal sees the server's hub token.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from rtc_presence.processes import HUB_TOKEN_VARS, ProcessLedger, TrackedKernels, TrackedTerminals
from rtc_presence.proctable import (
    ENV_SESSION,
    ENV_STARTED_BY,
    Proc,
    end_sessions,
    read_proc,
    targets,
)
from rtc_presence.pytest_plugin import RTCServer
from rtc_presence.testing.kernelclient import KernelChannel, TerminalChannel
from rtc_presence.testing.waiting import until
from tests.reliability.util import record

SERVER_TOKEN = "server-own-hub-token"


def _alive(pid: int) -> bool:
    proc = read_proc(pid)
    return proc is not None and proc.alive


async def _until(predicate: Any, timeout: float, what: str) -> float:
    """Poll ``predicate`` with a deadline (the kit's one helper); return the seconds taken."""
    t0 = time.monotonic()
    await until(predicate, timeout, what, interval=0.02)
    return time.monotonic() - t0


# ---------------------------------------------------------------- the rules, on their own


def _p(pid: int, ppid: int, pgrp: int, sid: int, session: str | None = None, state: str = "S"):
    return Proc(pid, ppid, pgrp, sid, start=pid, state=state, session=session)


def test_targets_follow_markers_children_groups_and_sessions() -> None:
    procs = {
        p.pid: p
        for p in (
            _p(1, 0, 1, 1),  # init
            _p(10, 1, 10, 10),  # the server
            _p(20, 10, 20, 20, "s-bob"),  # bob's kernel, leads its session
            _p(21, 20, 20, 20),  # a clean-env child in the kernel's session
            _p(22, 1, 22, 22, "s-bob"),  # setsid + double fork: reparented, still marked
            _p(23, 22, 22, 22),  # its clean-env child
            _p(24, 1, 24, 20),  # own group, kernel's session
            _p(25, 20, 20, 20, state="Z"),  # a zombie: already dead
            _p(30, 10, 30, 30, "s-carol"),  # carol's
            _p(40, 10, 40, 40),  # alice's kernel
            _p(41, 40, 40, 40),
        )
    }
    assert targets(procs, {"s-bob"}, keep=set()) == {20, 21, 22, 23, 24}
    assert targets(procs, {"s-bob"}, keep={21}) == {20, 22, 23, 24}
    assert targets(procs, {"s-carol"}, keep=set()) == {30}
    assert targets(procs, set(), keep=set()) == set()
    # A leader found once keeps its group targeted after it is gone.
    leaders: set[int] = set()
    targets(procs, {"s-bob"}, set(), leaders)
    del procs[20]
    assert {21, 24} <= targets(procs, {"s-bob"}, set(), leaders)


async def test_end_sessions_terms_then_kills_and_spares_the_rest(tmp_path: Path) -> None:
    def start(script: str, session: str | None) -> subprocess.Popen[bytes]:
        env = {"PATH": os.environ["PATH"]}
        if session:
            env[ENV_SESSION] = session
        return subprocess.Popen(["sh", "-c", script], env=env, start_new_session=True)

    stubborn = start("trap '' TERM; while :; do sleep 0.05; done", "s-bob")
    # A child with a clean environment, in the marked leader's session.
    pidfile = tmp_path / "clean.pid"
    parent = start(f"env -i sh -c 'echo $$ > {pidfile}; exec sleep 60' & wait", "s-bob")
    bystander = start("exec sleep 60", None)
    carol = start("exec sleep 60", "s-carol")
    await _until(lambda: pidfile.exists() and pidfile.read_text().strip(), 10, "clean child")
    clean = int(pidfile.read_text())
    try:
        t0 = time.monotonic()
        report = await end_sessions({"s-bob"}, grace=0.5)
        took = time.monotonic() - t0
        for pid in (stubborn.pid, parent.pid, clean):
            assert not _alive(pid), pid
        assert stubborn.pid in report.killed  # ignored SIGTERM
        assert clean in report.terminated
        assert report.survivors == []
        assert took < 2.0, took
        assert _alive(bystander.pid) and _alive(carol.pid)
    finally:
        for proc in (stubborn, parent, bystander, carol):
            proc.kill()
            proc.wait(5)


def test_env_policy() -> None:
    import logging

    ledger = ProcessLedger(
        lambda name: "owner" if name == "alice" else "guest", logging.getLogger()
    )
    base = {"PATH": "/bin", ENV_SESSION: "inherited", **dict.fromkeys(HUB_TOKEN_VARS, "t")}
    from rtc_presence.access import REQUESTER

    for who in ("alice", "bob", None):
        token = REQUESTER.set(who)
        try:
            env, mark = ledger.prepare_env(base, "kernel")
        finally:
            REQUESTER.reset(token)
        assert not set(HUB_TOKEN_VARS) & env.keys()
        assert env["PATH"] == "/bin"
        assert mark.started_by == who
        if who == "bob":
            assert env[ENV_STARTED_BY] == "bob"
            assert env[ENV_SESSION] == mark.session
            assert ledger.sessions_of("bob") == {mark.session}
        else:
            assert ENV_STARTED_BY not in env and ENV_SESSION not in env
            assert mark.session is None
    ledger.keep_hub_token = True
    env, _ = ledger.prepare_env(base, "terminal")
    assert env["JUPYTERHUB_API_TOKEN"] == "t"


def _ledger() -> ProcessLedger:
    import logging

    return ProcessLedger(lambda name: "guest", logging.getLogger("test.processes"))


def test_spawn_outside_a_loop_logs_instead_of_raising(caplog: pytest.LogCaptureFixture) -> None:
    _ledger().on_evicted("bob", "alice", 0)  # the gate's listener call must not raise
    assert "not ended" in caplog.text


async def test_a_failing_ending_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def boom() -> None:
        raise RuntimeError("boom")

    ledger = _ledger()
    ledger.spawn(boom())
    await ledger.settled()
    assert "ending a guest's processes failed" in caplog.text


# ---------------------------------------------------------------- a real server


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    jp_server_config.ServerApp.jpserver_extensions["jupyter_server_terminals"] = True
    return jp_server_config


@pytest.fixture
def server_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's own hub token in its environment, as JupyterHub's spawner sets it."""
    for name in HUB_TOKEN_VARS:
        monkeypatch.setenv(name, SERVER_TOKEN)


@pytest.fixture
def ledger(rtc_server: RTCServer, server_token: None) -> ProcessLedger:
    ledger: ProcessLedger = rtc_server.state.processes
    return ledger


async def _kernel(server: RTCServer, user: str, via_session: bool = False) -> str:
    if via_session:
        body = {"path": f"{user}.ipynb", "type": "notebook", "kernel": {"name": "python3"}}
        resp = await server.request(user, "POST", "api/sessions", body=body)
        assert resp.status_code == 201, resp.text
        return str(resp.json()["kernel"]["id"])
    resp = await server.request(user, "POST", "api/kernels", body={"name": "python3"})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


async def _channel(server: RTCServer, user: str, kernel_id: str) -> KernelChannel:
    return await KernelChannel.open(server.ws_url, kernel_id, server.auth(user))


def _loop(path: Path) -> str:
    """Shell: write our pid to path.pid, then a line to path every 0.05 s."""
    return f"echo $$ > {path}.pid; while :; do echo x >> {path}; sleep 0.05; done"


GUEST_LOOPS = """
import os, subprocess, threading, time
def beat():
    while True:
        with open({thread!r}, "a") as f:
            f.write("x\\n")
        time.sleep(0.05)
threading.Thread(target=beat, daemon=True).start()
subprocess.Popen(["sh", "-c", {sub!r}])
subprocess.Popen("setsid nohup sh -c {detached!r} >/dev/null 2>&1 &", shell=True)
"""
"""What a hostile guest's kernel starts, on both servers: a thread, a subprocess and a
``setsid nohup`` loop (a new session, reparented by the shell's ``&``)."""

BOB_CODE = (
    GUEST_LOOPS
    + """subprocess.Popen(["env", "-i", "sh", "-c", "trap '' TERM; " + {clean!r}])
print(os.getpid(), os.environ.get("JUPYTERHUB_API_TOKEN"), os.environ.get("JPY_API_TOKEN"),
      os.environ.get({by!r}), bool(os.environ.get({session!r})))
"""
)


def _guest_code(template: str, beat: dict[str, Path], **more: str) -> str:
    """``template`` with the loops writing to ``beat``'s files."""
    loops = {name: _loop(beat[name]) for name in ("sub", "detached", "clean") if name in beat}
    return template.format(thread=str(beat["thread"]), by=ENV_STARTED_BY, **loops, **more)


def _pid(path: Path) -> int:
    return int(Path(f"{path}.pid").read_text())


def _grows(path: Path) -> bool:
    return path.exists() and path.stat().st_size > 0


async def test_revoke_ends_every_process_the_guest_started(
    rtc_server: RTCServer, ledger: ProcessLedger, tmp_path: Path
) -> None:
    work = tmp_path / "beats"
    work.mkdir()
    beat = {name: work / name for name in ("thread", "sub", "detached", "clean", "term", "alice")}

    # alice's own kernel and a loop in it: they must survive bob's revocation.
    alice_kid = await _kernel(rtc_server, "alice")
    alice = await _channel(rtc_server, "alice", alice_kid)
    out = await alice.execute(
        "import os, subprocess\n"
        f"subprocess.Popen(['sh', '-c', {_loop(beat['alice'])!r}])\n"
        "print(os.getpid(), os.environ.get('JUPYTERHUB_API_TOKEN'), "
        f"os.environ.get({ENV_STARTED_BY!r}))"
    )
    alice_pid, alice_token, alice_mark = out["stdout"].split()
    assert (alice_token, alice_mark) == ("None", "None"), out

    # bob: a kernel through the sessions API, with everything a hostile guest tries.
    bob_kid = await _kernel(rtc_server, "bob", via_session=True)
    bob = await _channel(rtc_server, "bob", bob_kid)
    out = await bob.execute(_guest_code(BOB_CODE, beat, session=ENV_SESSION))
    assert out["status"] == "ok", out
    kernel_pid, token, jpy_token, started_by, has_session = out["stdout"].split()
    assert (token, jpy_token, started_by, has_session) == ("None", "None", "bob", "True")

    # bob's terminal, with a nohup loop in the background.
    resp = await rtc_server.request("bob", "POST", "api/terminals")
    assert resp.status_code == 200, resp.text
    term_name = resp.json()["name"]
    term = await TerminalChannel.open(rtc_server.ws_url, term_name, rtc_server.auth("bob"))
    await term.type(f"nohup sh -c '{_loop(beat['term'])}' >/dev/null 2>&1 &\r")
    await term.type('echo "tok=${JUPYTERHUB_API_TOKEN:-none} by=$RTC_PRESENCE_STARTED_BY"\r')
    printed = await term.wait_for("by=bob")
    assert "tok=none by=bob" in printed, printed

    assert ledger.kernels_started_by("bob") == [bob_kid]
    assert ledger.kernels_started_by("alice") == [alice_kid]
    assert ledger.terminals_started_by("bob") == [term_name]
    await _until(lambda: all(_grows(p) for p in beat.values()), 20, "every loop running")
    pids = {"kernel": int(kernel_pid), **{n: _pid(beat[n]) for n in beat if n != "thread"}}
    alice_pids = {int(alice_pid), pids.pop("alice")}
    assert all(_alive(pid) for pid in pids.values())

    t0 = time.monotonic()
    rtc_server.state.gate.evict("bob", by="alice")
    took = await _until(lambda: not any(_alive(pid) for pid in pids.values()), 2.0, "bob's end")
    # Nothing writes any more (the thread died with its kernel).
    sizes = {name: beat[name].stat().st_size for name in beat}
    await asyncio.sleep(0.3)
    for name in ("thread", "sub", "detached", "clean", "term"):
        assert beat[name].stat().st_size == sizes[name], name
    assert beat["alice"].stat().st_size > sizes["alice"]
    await ledger.settled()
    report = ledger.last_report["bob"]
    assert report["kernels"] == [bob_kid] and report["terminals"] == [term_name]
    assert report["survivors"] == []
    record("processes_revoke", {"ended_in_s": round(took, 3), "processes": len(pids), **report})
    assert time.monotonic() - t0 < 5

    # alice's kernel and loop live on, and her kernel still runs code.
    assert all(_alive(pid) for pid in alice_pids)
    assert (await alice.execute("print(6 * 7)"))["stdout"].strip() == "42"
    assert bob_kid not in rtc_server.app.kernel_manager
    assert term_name not in rtc_server.app.web_app.settings["terminal_manager"].terminals
    os.kill(_pid(beat["alice"]), signal.SIGKILL)
    await alice.close()


async def test_revoke_all_and_lowered_level(rtc_server: RTCServer, ledger: ProcessLedger) -> None:
    # "Revoke all users" evicts each guest in turn (ownerapi GuestsHandler.delete).
    kernels = {who: await _kernel(rtc_server, who) for who in ("bob", "carol", "mallory")}
    pids = {}
    for who, kid in kernels.items():
        channel = await _channel(rtc_server, who, kid)
        pids[who] = int((await channel.execute("import os; print(os.getpid())"))["stdout"])
    for who in ("bob", "carol"):
        rtc_server.state.gate.evict(who, by="alice")
    await _until(lambda: not (_alive(pids["bob"]) or _alive(pids["carol"])), 2.0, "revoke all")
    assert _alive(pids["mallory"])
    # A level lowered below run ends what the guest started, too.
    rtc_server.state.gate.set_access("mallory", "edit")
    await _until(lambda: not _alive(pids["mallory"]), 2.0, "mallory's kernel at edit")
    await ledger.settled()


async def test_restarts_keep_the_policy_and_shared_kernels_restart(
    rtc_server: RTCServer, ledger: ProcessLedger
) -> None:
    kid = await _kernel(rtc_server, "bob", via_session=True)
    channel = await _channel(rtc_server, "bob", kid)
    probe = (
        "import os; print(os.getpid(), os.environ.get('JPY_API_TOKEN'), "
        f"os.environ.get({ENV_STARTED_BY!r}))"
    )
    before = (await channel.execute(probe))["stdout"].split()
    # The sessions API puts all of os.environ back on a rename (update_env).
    sessions = (await rtc_server.request("alice", "GET", "api/sessions")).json()
    (session,) = [s for s in sessions if s["kernel"]["id"] == kid]
    resp = await rtc_server.request(
        "alice", "PATCH", f"api/sessions/{session['id']}", body={"path": "renamed.ipynb"}
    )
    assert resp.status_code == 200, resp.text
    outcome = await ledger.restart_kernels([kid, "no-such-kernel"])
    assert outcome == {kid: "restarted", "no-such-kernel": "not found"}
    await channel.close()
    channel = await _channel(rtc_server, "bob", kid)
    after = (await channel.execute(probe))["stdout"].split()
    assert after[0] != before[0]  # a new process
    assert before[1:] == after[1:] == ["None", "bob"]
    assert ledger.kernels[kid].restarts  # who restarted it, when
    await channel.close()


async def test_restarting_a_shared_kernel_ends_what_ran_in_it(
    rtc_server: RTCServer, ledger: ProcessLedger, tmp_path: Path
) -> None:
    """bob ran code in alice's kernel: nothing is marked; restart_kernels ends what it can."""
    kid = await _kernel(rtc_server, "alice")
    channel = await _channel(rtc_server, "bob", kid)
    names = ("child", "own_group", "new_session", "detached")
    beats = {name: tmp_path / name for name in names}
    out = await channel.execute(
        "import os, subprocess\n"
        f"subprocess.Popen(['sh', '-c', {_loop(beats['child'])!r}])\n"
        f"subprocess.Popen(['sh', '-c', {_loop(beats['own_group'])!r}], process_group=0)\n"
        f"subprocess.Popen(['sh', '-c', {_loop(beats['new_session'])!r}], start_new_session=True)\n"
        f'subprocess.Popen("setsid sh -c {_loop(beats["detached"])!r} &", shell=True)\n'
        "print(os.getpid())"
    )
    kernel_pid = int(out["stdout"])
    await _until(lambda: all(_grows(p) for p in beats.values()), 20, "loops running")
    pids = {name: _pid(path) for name, path in beats.items()}
    assert await ledger.restart_kernels([kid]) == {kid: "restarted"}
    gone = (kernel_pid, pids["child"], pids["own_group"], pids["new_session"])
    await _until(lambda: not any(_alive(p) for p in gone), 2.0, "the kernel's tree")
    # The documented limit: left the kernel's session *and* its parent (setsid in a
    # shell that exits): nothing links it to the kernel any more.
    assert _alive(pids["detached"])
    os.kill(pids["detached"], signal.SIGKILL)
    await channel.close()


async def test_hooks_are_the_managers_own(rtc_server: RTCServer, ledger: ProcessLedger) -> None:
    """Pins the upstream hooks processes.py relies on."""
    from jupyter_client.manager import KernelManager
    from terminado.management import TermManagerBase

    km = rtc_server.app.kernel_manager
    tm = rtc_server.app.web_app.settings["terminal_manager"]
    assert isinstance(km, TrackedKernels) and isinstance(tm, TrackedTerminals)
    # Restarts relaunch with KernelManager._launch_args (jupyter_client/manager.py).
    assert "_launch_args" in KernelManager.class_traits()
    # terminado builds every terminal's environment in make_term_env.
    assert "make_term_env" in vars(TermManagerBase) and "new_terminal" in vars(TermManagerBase)
    # A terminal websocket never creates a terminal (jupyter_server_terminals 404s).
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus) as refused:
        await TerminalChannel.open(rtc_server.ws_url, "no-such-term", rtc_server.auth("bob"))
    assert refused.value.response.status_code == 404


@pytest.mark.parametrize("rtc_config", [{"kernel_hub_token": True}])
async def test_kernel_hub_token_keeps_it(rtc_server: RTCServer, ledger: ProcessLedger) -> None:
    channel = await _channel(rtc_server, "bob", await _kernel(rtc_server, "bob"))
    out = await channel.execute(
        f"import os; print(os.environ.get('JUPYTERHUB_API_TOKEN'), os.environ[{ENV_STARTED_BY!r}])"
    )
    assert out["stdout"].split() == [SERVER_TOKEN, "bob"], out
    await channel.close()


# ---------------------------------------------------------------- end to end, on a real hub

HUB_BOB = (
    GUEST_LOOPS
    + """from pathlib import Path
config = Path.home() / ".jupyter" / "jupyter_server_config.py"
config.parent.mkdir(exist_ok=True)
config.write_text("# bob was here: this runs in alice's next server\\n")
print(os.getpid(), os.environ.get("JUPYTERHUB_API_TOKEN"), os.environ.get({by!r}))
"""
)


@pytest.mark.hub
async def test_revoke_on_a_real_hub_ends_the_guests_processes(tmp_path: Path) -> None:
    from rtc_presence.testing.sharingflows import owner_and_guest

    work = tmp_path / "beats"
    work.mkdir()
    beat = {name: work / name for name in ("thread", "sub", "detached", "term")}
    async with owner_and_guest(tmp_path / "hub", guests=("bob",)) as shared:
        owner, guest = shared.owner.api(), shared.guest.api("alice")
        ws_base = "ws" + guest.base_url[len("http") :]
        r = await owner.post("api/kernels", json={"name": "python3"})
        assert r.status_code == 201, r.text
        alice_kid = r.json()["id"]
        alice = await KernelChannel.open(ws_base, alice_kid, owner.websocket_headers())
        alice_out = await alice.execute("import os; print(os.getpid())")
        alice_pid = int(alice_out["stdout"])

        r = await guest.post("api/kernels", json={"name": "python3"})
        assert r.status_code == 201, r.text
        bob = await KernelChannel.open(ws_base, r.json()["id"], guest.websocket_headers())
        out = await bob.execute(_guest_code(HUB_BOB, beat))
        assert out["status"] == "ok", out
        kernel_pid, token, started_by = out["stdout"].split()
        assert (token, started_by) == ("None", "bob"), out  # the hub's token is not there
        r = await guest.post("api/terminals")
        assert r.status_code == 200, r.text
        term = await TerminalChannel.open(ws_base, r.json()["name"], guest.websocket_headers())
        await term.type(f"nohup sh -c '{_loop(beat['term'])}' >/dev/null 2>&1 &\r")
        await term.type('echo "tok=${JUPYTERHUB_API_TOKEN:-none}-$((40+2))"\r')
        assert "tok=none-42" in await term.wait_for("-42")
        await _until(lambda: all(_grows(p) for p in beat.values()), 20, "every loop running")
        pids = {"kernel": int(kernel_pid), **{n: _pid(beat[n]) for n in beat if n != "thread"}}

        # alice presses Revoke: every process bob started ends within 2 s.
        t0 = time.monotonic()
        r = await owner.delete("api/rtc-presence/guests/bob")
        assert r.status_code == 200, r.text
        call = time.monotonic() - t0
        await _until(lambda: not any(_alive(p) for p in pids.values()), 2.0 - call, "bob's end")
        took = time.monotonic() - t0  # from pressing Revoke (the hub check included)
        sizes = {name: path.stat().st_size for name, path in beat.items()}
        await asyncio.sleep(0.3)
        assert {name: path.stat().st_size for name, path in beat.items()} == sizes
        record(
            "processes_revoke_hub",
            {
                "all_ended_after_revoke_s": round(took, 3),
                "revoke_call_s": round(call, 3),
                "processes": len(pids),
            },
        )
        # alice's kernel lives on; she sees bob's persistence file, bob named.
        assert _alive(alice_pid)
        assert (await alice.execute("print(6 * 7)"))["stdout"].strip() == "42"
        r = await owner.get("api/rtc-presence/startup-changes")
        assert r.status_code == 200, r.text
        (change,) = [c for c in r.json()["changes"] if c["path"].endswith("server_config.py")]
        assert (change["change"], change["guests"]) == ("added", ["bob"])
        await alice.close()

        # alice stops and starts her server (where bob's file would run): the new
        # server still shows it.
        await shared.owner.stop_server()
        await shared.owner.start_server()
        await shared.owner.open_lab()
        r = await shared.owner.api().get("api/rtc-presence/startup-changes")
        assert r.status_code == 200, r.text
        assert change in r.json()["changes"]
