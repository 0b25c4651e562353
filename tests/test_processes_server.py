"""A revoked guest's processes end, on a real Jupyter server (issue 13, finding 2).

Real kernels and terminals: bob starts a thread, a subprocess, a ``setsid nohup`` loop
(a new session, reparented by the shell's ``&``), a child with a clean environment that
ignores SIGTERM, and a ``nohup`` loop in a terminal; revoking him ends every one within
2 s (``/proc`` polled with a deadline), while alice's kernel and her own loop live on.
Neither kernel nor terminal sees the server's hub token. Restarts keep that policy.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest
from traitlets.config import Config

from rtc_presence.processes import HUB_TOKEN_VARS, ProcessLedger, TrackedKernels, TrackedTerminals
from rtc_presence.proctable import ENV_SESSION, ENV_STARTED_BY
from rtc_presence.pytest_plugin import RTCServer
from rtc_presence.testing.kernelclient import KernelChannel, TerminalChannel
from tests.guest_processes import (
    GUEST_LOOPS,
    alive,
    grows,
    guest_code,
    loop,
    pid_of,
    until_timed,
)
from tests.reliability.util import record

SERVER_TOKEN = "server-own-hub-token"


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


BOB_CODE = (
    GUEST_LOOPS
    + """subprocess.Popen(["env", "-i", "sh", "-c", "trap '' TERM; " + {clean!r}])
print(os.getpid(), os.environ.get("JUPYTERHUB_API_TOKEN"), os.environ.get("JPY_API_TOKEN"),
      os.environ.get({by!r}), bool(os.environ.get({session!r})))
"""
)


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
        f"subprocess.Popen(['sh', '-c', {loop(beat['alice'])!r}])\n"
        "print(os.getpid(), os.environ.get('JUPYTERHUB_API_TOKEN'), "
        f"os.environ.get({ENV_STARTED_BY!r}))"
    )
    alice_pid, alice_token, alice_mark = out["stdout"].split()
    assert (alice_token, alice_mark) == ("None", "None"), out

    # bob: a kernel through the sessions API, with everything a hostile guest tries.
    bob_kid = await _kernel(rtc_server, "bob", via_session=True)
    bob = await _channel(rtc_server, "bob", bob_kid)
    out = await bob.execute(guest_code(BOB_CODE, beat, session=ENV_SESSION))
    assert out["status"] == "ok", out
    kernel_pid, token, jpy_token, started_by, has_session = out["stdout"].split()
    assert (token, jpy_token, started_by, has_session) == ("None", "None", "bob", "True")

    # bob's terminal, with a nohup loop in the background.
    resp = await rtc_server.request("bob", "POST", "api/terminals")
    assert resp.status_code == 200, resp.text
    term_name = resp.json()["name"]
    term = await TerminalChannel.open(rtc_server.ws_url, term_name, rtc_server.auth("bob"))
    await term.type(f"nohup sh -c '{loop(beat['term'])}' >/dev/null 2>&1 &\r")
    await term.type('echo "tok=${JUPYTERHUB_API_TOKEN:-none} by=$RTC_PRESENCE_STARTED_BY"\r')
    printed = await term.wait_for("by=bob")
    assert "tok=none by=bob" in printed, printed

    assert ledger.kernels_started_by("bob") == [bob_kid]
    assert ledger.kernels_started_by("alice") == [alice_kid]
    assert ledger.terminals_started_by("bob") == [term_name]
    await until_timed(lambda: all(grows(p) for p in beat.values()), 20, "every loop running")
    pids = {"kernel": int(kernel_pid), **{n: pid_of(beat[n]) for n in beat if n != "thread"}}
    alice_pids = {int(alice_pid), pids.pop("alice")}
    assert all(alive(pid) for pid in pids.values())

    t0 = time.monotonic()
    rtc_server.state.gate.evict("bob", by="alice")
    took = await until_timed(lambda: not any(alive(pid) for pid in pids.values()), 2.0, "bob's end")
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
    assert all(alive(pid) for pid in alice_pids)
    assert (await alice.execute("print(6 * 7)"))["stdout"].strip() == "42"
    assert bob_kid not in rtc_server.app.kernel_manager
    assert term_name not in rtc_server.app.web_app.settings["terminal_manager"].terminals
    os.kill(pid_of(beat["alice"]), signal.SIGKILL)
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
    await until_timed(lambda: not (alive(pids["bob"]) or alive(pids["carol"])), 2.0, "revoke all")
    assert alive(pids["mallory"])
    # A level lowered below run ends what the guest started, too.
    rtc_server.state.gate.set_access("mallory", "edit")
    await until_timed(lambda: not alive(pids["mallory"]), 2.0, "mallory's kernel at edit")
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
        f"subprocess.Popen(['sh', '-c', {loop(beats['child'])!r}])\n"
        f"subprocess.Popen(['sh', '-c', {loop(beats['own_group'])!r}], process_group=0)\n"
        f"subprocess.Popen(['sh', '-c', {loop(beats['new_session'])!r}], start_new_session=True)\n"
        f'subprocess.Popen("setsid sh -c {loop(beats["detached"])!r} &", shell=True)\n'
        "print(os.getpid())"
    )
    kernel_pid = int(out["stdout"])
    await until_timed(lambda: all(grows(p) for p in beats.values()), 20, "loops running")
    pids = {name: pid_of(path) for name, path in beats.items()}
    assert await ledger.restart_kernels([kid]) == {kid: "restarted"}
    gone = (kernel_pid, pids["child"], pids["own_group"], pids["new_session"])
    await until_timed(lambda: not any(alive(p) for p in gone), 2.0, "the kernel's tree")
    # The documented limit: left the kernel's session *and* its parent (setsid in a
    # shell that exits): nothing links it to the kernel any more.
    assert alive(pids["detached"])
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
