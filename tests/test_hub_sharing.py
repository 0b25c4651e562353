"""Sharing and eviction end to end on a real JupyterHub (CHP, local spawner, sqlite).

People are driven as browsers (login form, accept-share form, OAuth consent
page); the single-user servers run jupyter-collaboration and rtc-presence.
The measured seconds from revoke to cut-off are written to
``bench/results/revocation.json`` for the benchmark report.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from rtc_presence.testing.hubclient import HubClientError, ServerAPI, owner_and_guest
from rtc_presence.testing.waiting import until
from rtc_presence.testing.yclient import YClient, append_text, cell_source, open_session, room_url

pytestmark = pytest.mark.hub

RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results" / "revocation.json"


async def _room(api: ServerAPI, path: str) -> YClient:
    headers = {**api.headers(), **api.websocket_headers()}
    room_id, session = await open_session(api.base_url, path, headers=headers)
    ws_base = "ws" + api.base_url[len("http") :]
    return await YClient.connect(
        room_url(ws_base, room_id, session), headers=api.websocket_headers()
    )


async def _kernel_ws(api: ServerAPI) -> tuple[str, Any]:
    r = await api.post("api/kernels", json={"name": "python3"})
    assert r.status_code == 201, r.text
    kernel_id = r.json()["id"]
    ws_url = "ws" + api.url(f"api/kernels/{kernel_id}/channels")[len("http") :]
    return kernel_id, await connect(ws_url, additional_headers=api.websocket_headers(), proxy=None)


async def _ws_closed_code(ws: Any, timeout: float) -> int | None:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None


async def _status(api: ServerAPI, path: str = "api/contents") -> int:
    try:
        r = await api.get(path)
    except httpx.HTTPError:
        return 0
    return r.status_code


def _record(key: str, value: Any) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data[key] = value
    RESULTS.write_text(json.dumps(data, indent=2) + "\n")


async def test_invites_guests_and_instant_revocation(tmp_path: Path) -> None:
    # -- an invite link, accepted by two people --------------------------
    async with owner_and_guest(tmp_path / "hub", guests=["bob", "carol"]) as shared:
        hub, alice, (bob, carol) = shared.hub, shared.owner, shared.guests
        owner = alice.api()
        invite = shared.invite
        assert invite["url"].startswith(hub.url.rstrip("/"))
        assert "accept-share?code=" in invite["url"]
        expected = 3600
        created = shared.invite_created_at
        assert invite["id"].startswith("sc_")
        me = (await bob.api("alice").get("api/me")).json()["identity"]
        assert (me["username"], me["role"], me["display_name"]) == ("bob", "guest", "Bob Dupont")

        r = await owner.get("api/rtc-presence/guests")
        assert r.status_code == 200, r.text
        guests = {g["username"]: g for g in r.json()["guests"]}
        assert set(guests) == {"bob", "carol"}
        assert all(g["accepted_at"] for g in guests.values())
        r = await owner.get("api/rtc-presence/invites")
        (listed,) = r.json()["invites"]
        assert listed["uses"] == 2
        assert "url" not in listed  # the code is shown once, at creation
        assert abs(_epoch(listed["expires_at"]) - (created + expected)) < 60

        # -- guests may not manage sharing ------------------------------------
        for method, path in (
            ("POST", "api/rtc-presence/invites"),
            ("GET", "api/rtc-presence/guests"),
            ("DELETE", "api/rtc-presence/guests/carol"),
            ("DELETE", "api/rtc-presence/invites"),
        ):
            r = await bob.api("alice").request(method, path, json={})
            assert r.status_code == 403, (method, path, r.text)
            assert r.json()["message"]
        r = await owner.get("api/rtc-presence/invites")
        assert len(r.json()["invites"]) == 1
        anon = await httpx.AsyncClient(trust_env=False).get(
            owner.url("api/rtc-presence/guests"), follow_redirects=False
        )
        assert anon.status_code in (302, 403)  # API requests are refused, never served
        assert anon.status_code == 403 or "/hub/" in anon.headers.get("location", "")

        # -- bob and carol are in a notebook and a kernel ------------------------
        r = await owner.put_notebook("shared.ipynb", "# shared\n")
        assert r.status_code in (200, 201), r.text
        a_room = await _room(owner, "shared.ipynb")
        b_room = await _room(bob.api("alice"), "shared.ipynb")
        c_room = await _room(carol.api("alice"), "shared.ipynb")
        kernel_id, b_kernel = await _kernel_ws(bob.api("alice"))
        await b_room.set_awareness({"cursor": 1})
        await a_room.wait_awareness(lambda s: s.get(b_room.client_id) is not None, 10)

        # -- alice revokes bob: everything of his closes within 1 s -------------
        t0 = time.monotonic()
        r = await owner.delete("api/rtc-presence/guests/bob")
        assert r.status_code == 200, r.text
        assert r.json()["closed_connections"] >= 2
        code, reason = await b_room.wait_closed(1.0)
        assert (code, reason) == (4403, "access revoked")
        assert await _ws_closed_code(b_kernel, 1.0) == 4403
        socket_cutoff = time.monotonic() - t0
        await a_room.wait_awareness(lambda s: s.get(b_room.client_id) is None, 1.0)
        assert await _status(bob.api("alice")) == 403
        http_cutoff = time.monotonic() - t0
        assert http_cutoff < 1.0, http_cutoff
        _record(
            "rtc_presence_api_revoke",
            {"socket_cutoff_s": round(socket_cutoff, 3), "http_cutoff_s": round(http_cutoff, 3)},
        )
        # carol is unaffected
        append_text(a_room.doc, 0, "still-shared")
        await c_room.wait_until(lambda: "still-shared" in str(cell_source(c_room.doc, 0)), 5)
        assert await _status(carol.api("alice")) == 200

        # -- bob comes back through the still-active link: refused ---------------
        await bob.accept_share(invite["url"])
        assert await _status(bob.api("alice")) == 403
        r = await owner.get("api/rtc-presence/guests")
        body = r.json()
        assert [g["username"] for g in body["guests"]] == ["carol"]
        assert [g["username"] for g in body["revoked"]] == ["bob"]
        hub_api = await alice.hub_api()
        assert {s["user"]["name"] for s in await hub_api.shares("alice")} == {"carol"}
        # ... until alice allows him again
        r = await owner.post("api/rtc-presence/guests/bob/allow")
        assert r.status_code == 204
        await bob.accept_share(invite["url"])
        await bob.open_lab("alice")
        assert await _status(bob.api("alice")) == 200

        # -- revoke all links, then all guests ---------------------------------
        r = await owner.delete("api/rtc-presence/invites")
        assert r.status_code == 204
        assert (await owner.get("api/rtc-presence/invites")).json()["invites"] == []
        r = await owner.delete("api/rtc-presence/guests")
        assert r.status_code == 200, r.text
        assert set(r.json()["revoked"]) >= {"bob", "carol"}
        await c_room.wait_closed(1.0)
        for guest in (bob, carol):
            assert await _status(guest.api("alice")) == 403
            with pytest.raises(HubClientError) as refused:
                await guest.accept_share(invite["url"])
            assert refused.value.response is not None
            assert refused.value.response.status_code == 404
        assert await hub_api.shares("alice") == []
        await owner.delete(f"api/kernels/{kernel_id}")
        for client in (a_room,):
            await client.close()

        # -- bad input is refused with a clear message ---------------------------
        for body_in in ({"expires_in": 5}, {"expires_in": 10**9}, {"expires_in": "soon"}):
            r = await owner.post("api/rtc-presence/invites", json=body_in)
            assert r.status_code == 400, r.text
            assert "expires_in" in r.json()["message"]
        r = await owner.delete("api/rtc-presence/invites/not-an-id")
        assert r.status_code == 400
        assert (await owner.get("api/rtc-presence/invites")).json()["invites"] == []


async def test_revocation_elsewhere_restart_and_expiry(tmp_path: Path) -> None:
    async with owner_and_guest(tmp_path / "hub") as shared:
        alice, bob = shared.owner, shared.guest
        owner = alice.api()
        hub_api = await alice.hub_api()

        # -- revoked directly through the hub REST API ----------------------------
        g_room = await YClient.connect(
            room_url("ws" + bob.api("alice").base_url[len("http") :], "JupyterLab:globalAwareness"),
            headers=bob.api("alice").websocket_headers(),
        )
        t0 = time.monotonic()
        r = await hub_api.patch("shares/alice/", json={"user": "bob"})
        assert r.status_code == 200, r.text
        info = (await owner.get("api/rtc-presence/info")).json()
        assert info["sharing"]["available"] is True
        interval = 5.0  # RTCPresence.revalidate_interval default
        code, _ = await g_room.wait_closed(interval + 3)
        socket_cutoff = time.monotonic() - t0
        assert code == 4403
        await until(lambda: _is(bob.api("alice"), 403), 2, "HTTP refusal after hub-side revoke")
        _record(
            "hub_api_revoke",
            {
                "socket_cutoff_s": round(socket_cutoff, 3),
                "http_cutoff_s": round(time.monotonic() - t0, 3),
                "revalidate_interval_s": interval,
            },
        )

        # -- a restart of the owner's server removes every share and link ----------
        invite = (await owner.post("api/rtc-presence/invites", json={})).json()
        await bob.accept_share(invite["url"])
        # the hub's earlier "no access" answer is cached by the server; a re-invited
        # guest gets in within seconds anyway (stock: up to 300 s)
        await until(lambda: _is(bob.api("alice"), 200), 3, "re-invited guest admitted")
        await bob.open_lab("alice")
        await alice.stop_server()
        await alice.start_server()
        await alice.open_lab()
        assert await hub_api.shares("alice") == []
        assert await hub_api.share_codes("alice") == []
        assert await _status(bob.api("alice")) in (403, 302)
        with pytest.raises(HubClientError):
            await bob.accept_share(invite["url"])

        # -- a link past its lifetime grants nothing ----------------------------
        r = await alice.api().post("api/rtc-presence/invites", json={"expires_in": 60})
        assert r.status_code == 201, r.text
        short = r.json()
        wait = _epoch(short["expires_at"]) - time.time() + 1
        assert 0 < wait <= 62
        await asyncio.sleep(wait)  # the hub's clock is the condition; nothing to poll
        with pytest.raises(HubClientError) as refused:
            await bob.accept_share(short["url"])
        assert refused.value.response is not None
        assert refused.value.response.status_code == 404
        assert await hub_api.shares("alice") == []


async def _is(api: ServerAPI, status: int) -> bool:
    return await _status(api) == status


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
