"""Access levels and "no owner by proxy" end to end on a real JupyterHub.

bob is invited as a viewer through the owner's API, then raised to edit and
to run, while he tries what each level refuses; with run access he reads the
server's own API token from the server process (what any code he runs can
do) and tries to act as the owner with it; then he is lowered to view with a
kernel socket open.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from rtc_presence.closecodes import CloseCode
from rtc_presence.testing.hubapi import ServerAPI
from rtc_presence.testing.kernelclient import KernelChannel
from rtc_presence.testing.sharingflows import owner_and_guest
from rtc_presence.testing.waiting import until

pytestmark = pytest.mark.hub

STEAL = (
    "import os\n"
    "env = open(f'/proc/{os.getppid()}/environ', 'rb').read().split(b'\\0')\n"
    "print([v.split(b'=', 1)[1].decode() for v in env "
    "if v.startswith(b'JUPYTERHUB_API_TOKEN=')][0])\n"
)


def _ws_base(api: ServerAPI) -> str:
    return "ws" + api.base_url[len("http") :]


async def _closed_code(channel: KernelChannel) -> int | None:
    try:
        while True:
            await asyncio.wait_for(channel.ws.recv(), timeout=2)
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None


async def _put_file(api: ServerAPI, name: str) -> int:
    body = {"type": "file", "format": "text", "content": name}
    return (await api.put(f"api/contents/{name}", json=body)).status_code


async def test_view_edit_run_and_the_stolen_server_token(tmp_path: Path) -> None:
    async with owner_and_guest(tmp_path / "hub", invite={"access": "view"}) as shared:
        hub, alice, bob = shared.hub, shared.owner, shared.guest
        owner = alice.api()
        assert shared.invite["access"] == "view"
        guest = bob.api("alice")

        # -- view: reads, nothing else -------------------------------------------
        me = (await guest.get("api/me")).json()["identity"]
        assert (me["role"], me["access"]) == ("guest", "view")
        assert (await guest.get("api/contents")).status_code == 200
        assert await _put_file(guest, "by-bob.txt") == 403
        r = await guest.post("api/kernels", json={"name": "python3"})
        assert r.status_code == 403
        assert "view" in r.json()["message"]
        listed = {
            g["username"]: g for g in (await owner.get("api/rtc-presence/guests")).json()["guests"]
        }
        assert listed["bob"]["access"] == "view"
        hub_api = await alice.hub_api()
        (share,) = await hub_api.shares("alice")
        assert "custom:rtc-presence:view!server=alice/" in share["scopes"]

        # -- edit: documents, no code --------------------------------------------
        r = await owner.patch("api/rtc-presence/guests/bob", json={"access": "edit"})
        assert r.status_code == 200, r.text
        assert r.json()["access"] == "edit"
        assert await _put_file(guest, "by-bob.txt") == 201
        assert (await guest.post("api/kernels", json={"name": "python3"})).status_code == 403
        (share,) = await hub_api.shares("alice")
        assert "custom:rtc-presence:edit!server=alice/" in share["scopes"]
        assert "custom:rtc-presence:view!server=alice/" not in share["scopes"]

        # -- run: code runs as alice's account ... -------------------------------
        r = await owner.patch("api/rtc-presence/guests/bob", json={"access": "run"})
        assert r.status_code == 200, r.text
        r = await guest.post("api/kernels", json={"name": "python3"})
        assert r.status_code == 201, r.text
        kernel_id = r.json()["id"]
        channel = await KernelChannel.open(_ws_base(guest), kernel_id, guest.websocket_headers())
        result = await channel.execute(STEAL)
        assert result["status"] == "ok", result
        stolen = result["stdout"].strip()
        assert len(stolen) >= 16

        # -- ... but the server's own token is nobody on it ----------------------
        async with httpx.AsyncClient(trust_env=False, timeout=20) as http:
            as_server = {"Authorization": f"token {stolen}"}
            for method, path in (
                ("GET", "api/me"),
                ("GET", "api/contents"),
                ("POST", "api/kernels"),
                ("GET", "api/rtc-presence/guests"),
                ("POST", "api/rtc-presence/guests/bob/allow"),
                ("POST", "api/rtc-presence/invites"),
            ):
                r = await http.request(method, owner.url(path), headers=as_server, json={})
                assert r.status_code in (401, 403), (method, path, r.status_code, r.text)
            # nor may it share the server on the hub.
            r = await http.post(hub.url + "hub/api/share-codes/alice/", headers=as_server, json={})
            assert r.status_code == 403, r.text

        # -- lowered to view with a kernel socket open: closed at once -----------
        started = time.monotonic()
        r = await owner.patch("api/rtc-presence/guests/bob", json={"access": "view"})
        assert r.status_code == 200, r.text
        code = await _closed_code(channel)
        assert code == CloseCode.ACCESS_CHANGED
        assert time.monotonic() - started < 1.5
        assert (await guest.get("api/me")).json()["identity"]["access"] == "view"
        assert await _put_file(guest, "again.txt") == 403


LOOP = (
    "import threading, time\n"
    "def tick():\n"
    "    while True:\n"
    "        open({path!r}, 'a').write('x')\n"
    "        time.sleep(0.05)\n"
    "threading.Thread(target=tick, daemon=True).start()\n"
)


async def test_revoke_can_restart_the_shared_kernels_the_guest_ran_code_in(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "bob-was-here.txt"
    async with owner_and_guest(tmp_path / "hub", invite={"access": "run"}) as shared:
        owner = shared.owner.api()
        guest = shared.guest.api("alice")
        # alice's kernel; bob runs code in it that keeps running in a thread.
        r = await owner.post("api/kernels", json={"name": "python3"})
        assert r.status_code == 201, r.text
        kernel_id = r.json()["id"]
        channel = await KernelChannel.open(_ws_base(guest), kernel_id, guest.websocket_headers())
        result = await channel.execute(LOOP.format(path=str(marker)))
        assert result["status"] == "ok", result
        await until(lambda: marker.exists() and marker.stat().st_size > 3, 10, "bob's thread")

        listed = (await owner.get("api/rtc-presence/guests")).json()["guests"]
        (entry,) = [g for g in listed if g["username"] == "bob"]
        assert [k["kernel_id"] for k in entry["ran_code_in"]] == [kernel_id]

        r = await owner.delete("api/rtc-presence/guests/bob?restart_kernels=maybe")
        assert r.status_code == 400
        r = await owner.delete("api/rtc-presence/guests/bob?restart_kernels=true")
        assert r.status_code == 200, r.text
        assert r.json()["restarted_kernels"] == {kernel_id: "restarted"}
        revoked_at = time.monotonic()

        async def stopped() -> bool:
            before = marker.stat().st_size
            await asyncio.sleep(0.3)
            return marker.stat().st_size == before

        await until(stopped, 2.0, "bob's thread to stop writing")
        assert time.monotonic() - revoked_at < 2.5
        # alice's kernel lives on, restarted, and is hers to use.
        kernels = (await owner.get("api/kernels")).json()
        assert [k["id"] for k in kernels] == [kernel_id]
        mine = await KernelChannel.open(_ws_base(owner), kernel_id, owner.websocket_headers())
        assert (await mine.execute("print(1 + 1)"))["stdout"].strip() == "2"
