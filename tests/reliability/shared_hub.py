"""The real-hub setting of the reliability suite's hub tests
(``test_reliability_hub_*.py``): alice's server shared with bob, and what they check."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from rtc_presence.testing.hubclient import DemoHub, HubBrowser, ServerAPI, owner_and_guest
from rtc_presence.testing.yclient import YClient, room_url


@contextlib.asynccontextmanager
async def shared_server(
    tmp_path: Path, rtc_config: dict[str, Any] | None = None
) -> AsyncIterator[tuple[DemoHub, HubBrowser, HubBrowser, HubBrowser]]:
    """A demo hub; alice's server running with ``shared.ipynb``; bob invited and in."""
    async with owner_and_guest(
        tmp_path / "hub",
        others=["carol"],
        notebook=("shared.ipynb", ["# shared\n"]),
        rtc_config=rtc_config,
    ) as shared:
        yield shared.hub, shared.owner, shared.guest, shared.others["carol"]


async def join_room(api: ServerAPI, room_id: str, session: str) -> YClient:
    """A y-websocket client in ``room_id`` with ``api``'s credentials."""
    ws_base = "ws" + api.base_url[len("http") :]
    return await YClient.connect(
        room_url(ws_base, room_id, session), headers=api.websocket_headers()
    )


async def status_of(api: ServerAPI, path: str = "api/contents") -> int:
    """The status ``api`` gets for ``path`` (0: no answer at all)."""
    try:
        return (await api.get(path)).status_code
    except httpx.HTTPError:
        return 0


async def hub_state(alice: HubBrowser) -> dict[str, Any]:
    """alice's shares and links on the hub, her server's guests and revocations."""
    hub_api = await alice.hub_api()
    shares = sorted(s["user"]["name"] for s in await hub_api.shares("alice"))
    codes = sorted(c["id"] for c in await hub_api.share_codes("alice"))
    guests = (await alice.api().get("api/rtc-presence/guests")).json()
    return {
        "shares": shares,
        "codes": codes,
        "guests": sorted(g["username"] for g in guests["guests"]),
        "revoked": sorted(g["username"] for g in guests["revoked"]),
    }
