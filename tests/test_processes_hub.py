"""A revoked guest's processes end, end to end on a real JupyterHub (issue 13, finding 2).

alice presses Revoke: every process bob started in her server (a kernel's thread,
subprocess and ``setsid nohup`` loop, a terminal's ``nohup`` loop) ends within 2 s; her
kernel lives on, and she sees the startup file bob left, across a restart.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

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
        out = await bob.execute(guest_code(HUB_BOB, beat))
        assert out["status"] == "ok", out
        kernel_pid, token, started_by = out["stdout"].split()
        assert (token, started_by) == ("None", "bob"), out  # the hub's token is not there
        r = await guest.post("api/terminals")
        assert r.status_code == 200, r.text
        term = await TerminalChannel.open(ws_base, r.json()["name"], guest.websocket_headers())
        await term.type(f"nohup sh -c '{loop(beat['term'])}' >/dev/null 2>&1 &\r")
        await term.type('echo "tok=${JUPYTERHUB_API_TOKEN:-none}-$((40+2))"\r')
        assert "tok=none-42" in await term.wait_for("-42")
        await until_timed(lambda: all(grows(p) for p in beat.values()), 20, "every loop running")
        pids = {"kernel": int(kernel_pid), **{n: pid_of(beat[n]) for n in beat if n != "thread"}}

        # alice presses Revoke: every process bob started ends within 2 s.
        t0 = time.monotonic()
        r = await owner.delete("api/rtc-presence/guests/bob")
        assert r.status_code == 200, r.text
        call = time.monotonic() - t0
        await until_timed(lambda: not any(alive(p) for p in pids.values()), 2.0 - call, "bob's end")
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
        assert alive(alice_pid)
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
