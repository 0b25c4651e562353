"""Faults under a real JupyterHub (issue 7, parts 4b and 4c).

* The hub stops answering (SIGSTOP) while a guest is editing: the owner's sharing calls
  fail with a clear 502, rooms keep working and nobody is evicted; after SIGCONT the
  calls work again.
* The owner's server is killed with SIGKILL and restarted through the hub: no guest keeps
  access (the hub helper revokes on stop and again on start).

The single-user server's own faults are in ``test_reliability_faults.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path

import psutil
import pytest

from rtc_presence.testing.hubclient import DemoHub, HubClientError, ServerAPI
from rtc_presence.testing.yclient import append_text, cell_source, open_session
from tests.reliability.shared_hub import join_room, shared_server, status_of
from tests.reliability.util import record, until

pytestmark = pytest.mark.hub

# ---------------------------------------------------------------- hub outage

HUB_TIMEOUT = 3.0
REVALIDATE = 1.0


def _hub_pid(hub: DemoHub) -> int:
    return int((hub.state_dir / "jupyterhub.pid").read_text().strip())


async def test_hub_outage_sharing_fails_clearly_rooms_keep_working(tmp_path: Path) -> None:
    config = {"hub_request_timeout": HUB_TIMEOUT, "revalidate_interval": REVALIDATE}
    async with shared_server(tmp_path, config) as (hub, alice, bob, _carol):
        owner = alice.api()
        guest = bob.api("alice")
        room_id, session = await open_session(
            owner.base_url, "shared.ipynb", headers={**owner.headers(), **owner.websocket_headers()}
        )
        a_room = await join_room(owner, room_id, session)
        b_room = await join_room(guest, room_id, session)
        assert (await owner.get("api/rtc-presence/guests")).status_code == 200
        pid = _hub_pid(hub)
        os.kill(pid, signal.SIGSTOP)
        stopped_at = time.monotonic()
        try:
            failures = {}
            for method, path in (
                ("GET", "api/rtc-presence/guests"),
                ("GET", "api/rtc-presence/invites"),
                ("POST", "api/rtc-presence/invites"),
            ):
                t0 = time.monotonic()
                r = await owner.request(method, path, json={} if method == "POST" else None)
                failures[f"{method} {path}"] = (r.status_code, round(time.monotonic() - t0, 1))
                assert r.status_code == 502, r.text
                assert r.json()["message"] == "The hub could not be reached. Try again shortly."
                assert time.monotonic() - t0 < HUB_TIMEOUT + 3
            # Meanwhile the room works both ways, and the failing re-checks of bob with
            # the hub do not evict him.
            for i in range(5):
                append_text(a_room.doc, 0, f"<outage-a{i}>")
                append_text(b_room.doc, 0, f"<outage-b{i}>")
                await asyncio.sleep(REVALIDATE)
            await b_room.wait_until(lambda: "<outage-a4>" in str(cell_source(b_room.doc, 0)), 5)
            await a_room.wait_until(lambda: "<outage-b4>" in str(cell_source(a_room.doc, 0)), 5)
            assert not b_room.closed and not a_room.closed
            assert await status_of(guest) == 200
            outage_s = time.monotonic() - stopped_at
        finally:
            os.kill(pid, signal.SIGCONT)
        resumed = time.monotonic()
        recovered = await until(
            lambda: _ok(owner, "api/rtc-presence/guests"), 30, "sharing calls after the outage"
        )
        r = await owner.post("api/rtc-presence/invites", json={})
        assert r.status_code == 201, r.text
        guests = (await owner.get("api/rtc-presence/guests")).json()
        assert [g["username"] for g in guests["guests"]] == ["bob"]
        assert guests["revoked"] == []
        assert not b_room.closed
        for c in (a_room, b_room):
            await c.close()
        record(
            "hub_outage",
            {
                "outage_seconds": round(outage_s, 1),
                "sharing_calls_during_outage": failures,
                "room_edits_during_outage": 10,
                "guests_evicted_by_outage": 0,
                "recovery_seconds_after_sigcont": round(recovered, 1),
                "seconds_since_resume": round(time.monotonic() - resumed, 1),
            },
        )


async def _ok(api: ServerAPI, path: str) -> bool:
    return (await api.get(path)).status_code == 200


# ---------------------------------------------------------------- owner's server killed


def _server_pid(hub: DemoHub, user: str) -> int:
    for pid in hub.leftover_pids():
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            if any("jupyterhub-singleuser" in part for part in proc.cmdline()) and (
                proc.environ().get("JUPYTERHUB_USER") == user
            ):
                return pid
    raise AssertionError(f"no server process for {user}")


async def test_owner_server_killed_and_restarted_keeps_no_guest(tmp_path: Path) -> None:
    async with shared_server(tmp_path) as (hub, alice, bob, _carol):
        owner = alice.api()
        guest = bob.api("alice")
        hub_api = await alice.hub_api()
        room_id, session = await open_session(
            guest.base_url, "shared.ipynb", headers={**guest.headers(), **guest.websocket_headers()}
        )
        b_room = await join_room(guest, room_id, session)
        assert await status_of(guest) == 200
        assert [s["user"]["name"] for s in await hub_api.shares("alice")] == ["bob"]
        assert len(await hub_api.share_codes("alice")) == 1

        os.kill(_server_pid(hub, "alice"), signal.SIGKILL)
        code, _ = await b_room.wait_closed(10)
        assert code == 1006
        # Restart through the hub, as the owner does from the home page (stop, start).
        await alice.stop_server()
        assert await hub_api.shares("alice") == []  # revoked when the server stopped
        assert await hub_api.share_codes("alice") == []
        # While it is stopped, someone accepts a new link made through the hub API:
        # the next start must revoke that too (pre-spawn hook).
        code_model = await hub_api.create_share_code("alice")
        await bob.accept_share(code_model["code"])
        assert [s["user"]["name"] for s in await hub_api.shares("alice")] == ["bob"]
        restart_s = await alice.start_server()
        await alice.open_lab()
        assert await hub_api.shares("alice") == []
        assert await hub_api.share_codes("alice") == []
        assert await status_of(guest) in (302, 403)
        with pytest.raises(HubClientError):
            await bob.open_lab("alice")
        with pytest.raises(HubClientError) as refused:
            await bob.accept_share(code_model["code"])
        assert refused.value.response is not None
        assert refused.value.response.status_code == 404
        guests = (await owner.get("api/rtc-presence/guests")).json()
        assert guests == {"guests": [], "revoked": []}
        record(
            "owner_server_kill9",
            {
                "restart_seconds": round(restart_s, 1),
                "guests_with_access_after_restart": 0,
                "shares_revoked_on_stop": 1,
                "shares_revoked_on_start": 1,
            },
        )
