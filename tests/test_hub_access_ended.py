"""When access ends, on a real JupyterHub (CHP, local spawner, sqlite), driven as browsers.

* A revoked guest opening the server gets the access-ended page (a link home, nothing
  external), his attempts reach the owner's dialog live, and his old tab, polling all
  along, is logged once a minute, not per request.
* "Allow again" followed by a link (the still-active one, or a new one) lets him in at
  once, every time: three cycles in a row, with his old tab polling with his old token
  (once in two tries it used to take ~108 s). Seconds per cycle go to
  ``bench/results/revocation.json``.
* Revoked on the hub (not by this server): the page says the hub gives no access.
* The owner stops the server: the guest's websockets close with 4403 "server stopping".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from rtc_presence.testing.hubclient import HubBrowser, ServerAPI, owner_and_guest
from rtc_presence.testing.waiting import until
from rtc_presence.testing.yclient import YClient, room_url

pytestmark = pytest.mark.hub

RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results" / "revocation.json"


def _record(key: str, value: Any) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data[key] = value
    RESULTS.write_text(json.dumps(data, indent=2) + "\n")


def _ws_base(api: ServerAPI) -> str:
    return "ws" + api.base_url[len("http") :]


async def _stream(api: ServerAPI) -> ClientConnection:
    ws = await connect(
        _ws_base(api) + "api/rtc-presence/presence/stream",
        additional_headers=api.websocket_headers(),
        proxy=None,
    )
    json.loads(await asyncio.wait_for(ws.recv(), 10))  # snapshot
    return ws


async def _next_access(stream: ClientConnection, timeout: float) -> float:
    """Seconds until the next ``{"type": "access"}`` notice."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    while True:
        left = t0 + timeout - loop.time()
        if left <= 0:
            raise AssertionError(f"no access notice within {timeout} s")
        if json.loads(await asyncio.wait_for(stream.recv(), left))["type"] == "access":
            return loop.time() - t0


def _assert_self_contained(html: str) -> None:
    assert "<style>" in html
    for pattern in (r"<link\b", r"<script\b", r"<img\b", r"<iframe\b", r"url\(", r"@import"):
        assert not re.search(pattern, html, re.IGNORECASE), pattern


def _home_link(html: str) -> str:
    match = re.search(r'<a class="button" id="rtc-access-home" href="([^"]+)">([^<]+)</a>', html)
    assert match, html
    assert match.group(2) == "Back to the hub home"
    return match.group(1)


class OldTab:
    """A revoked guest's JupyterLab tab that keeps polling with its old token."""

    def __init__(self, browser: HubBrowser, token: str, interval: float = 0.25) -> None:
        self.browser = browser
        self.token = token
        self.interval = interval
        self.log: list[tuple[float, int]] = []

    async def run(self) -> None:
        url = self.browser.api("alice").url("api/contents")
        headers = {"Authorization": f"token {self.token}", "Sec-Fetch-Mode": "cors"}
        while True:
            with contextlib.suppress(httpx.HTTPError):
                r = await self.browser.client.get(url, headers=headers)
                self.log.append((time.monotonic(), r.status_code))
            await asyncio.sleep(self.interval)

    def statuses_since(self, t0: float) -> list[int]:
        return [status for t, status in self.log if t >= t0]


@contextlib.asynccontextmanager
async def polling(tab: OldTab) -> AsyncIterator[OldTab]:
    task = asyncio.create_task(tab.run())
    try:
        yield tab
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _page(browser: HubBrowser, url: str) -> httpx.Response:
    return await browser.navigate(url)


async def test_access_ended_page_attempts_and_allow_again(tmp_path: Path) -> None:
    async with owner_and_guest(tmp_path / "hub") as shared:
        hub, alice, bob, invite = shared.hub, shared.owner, shared.guest, shared.invite
        owner = alice.api()
        lab = shared.guest_labs["bob"]
        assert lab.token
        owner_stream = await _stream(owner)
        info = (await bob.api("alice").get("api/rtc-presence/info")).json()
        assert info["owner_display_name"] == "Alice Martin"

        tab = OldTab(bob, lab.token)
        cycles: list[dict[str, Any]] = []
        started = time.monotonic()
        async with polling(tab):
            for cycle in range(3):
                # -- revoked: the page, JSON for the API, the attempt shown live -----
                r = await owner.delete("api/rtc-presence/guests/bob")
                assert r.status_code == 200, r.text
                revoked_at = time.monotonic()
                r = await _page(bob, "user/alice/lab")
                assert r.status_code == 403
                assert r.headers["content-type"].startswith("text/html")
                assert "<title>Access ended</title>" in r.text
                assert "Alice Martin revoked your access to this server." in r.text
                _assert_self_contained(r.text)
                home = _home_link(r.text)
                assert home in ("/hub/home", hub.url + "hub/home"), home
                assert (await bob.navigate(home)).status_code == 200
                api = await bob.api("alice").get("api/contents")
                assert api.status_code == 403
                assert "revoked" in api.json()["message"]

                # he opens the still-active link again: refused, and alice is told
                target = await bob.accept_share(invite["url"])
                r = await _page(bob, target)
                assert r.status_code == 403 and "Access ended" in r.text
                await _next_access(owner_stream, 3.0)
                body = (await owner.get("api/rtc-presence/guests")).json()
                (entry,) = body["revoked"]
                assert entry["username"] == "bob"
                assert entry["attempts"] >= 2  # the page above and the link
                assert entry["last_attempt_at"] is not None
                assert entry["revoked_at"] <= entry["last_attempt_at"]

                # his old tab has kept polling, refused, all along
                await until(
                    lambda: tab.statuses_since(revoked_at),  # noqa: B023 (awaited here)
                    10,
                    "8 refusals of the old tab since the revocation",
                    accept=lambda statuses: statuses.count(403) >= 8,
                )
                assert 200 not in tab.statuses_since(revoked_at + 0.5)

                # -- "Allow again", then a link: in at once, at the first try ----------
                r = await owner.post("api/rtc-presence/guests/bob/allow")
                assert r.status_code == 204
                # bob takes a moment to open the link; his old tab keeps polling (and
                # is refused: the hub has no share for him until he accepts a link)
                allowed_at = time.monotonic()
                await until(
                    lambda: tab.statuses_since(allowed_at),  # noqa: B023 (awaited here)
                    allowed_at + 10 - time.monotonic(),
                    "3 refusals of the old tab since allow again",
                    accept=lambda statuses: statuses.count(403) >= 3,
                )
                link = invite["url"]
                if cycle == 1:  # a new link once, the still-active one otherwise
                    link = (await owner.post("api/rtc-presence/invites", json={})).json()["url"]
                t0 = time.monotonic()
                target = await bob.accept_share(link)
                r = await _page(bob, target)
                page_s = time.monotonic() - t0
                assert r.status_code == 200, (cycle, r.status_code, r.text[:300])
                assert "jupyter-config-data" in r.text
                assert page_s < 2.0, page_s
                assert (await bob.api("alice").get("api/contents")).status_code == 200
                # his old tab works again too (same person, same token)
                await until(
                    lambda: tab.statuses_since(t0),  # noqa: B023 (awaited here)
                    2.0,
                    "the old tab admitted again",
                    accept=lambda statuses: 200 in statuses,
                )
                old_tab_s = next(t for t, s in tab.log if t >= t0 and s == 200) - t0
                cycles.append(
                    {
                        "link": "new" if cycle == 1 else "still-active",
                        "page_after_link_s": round(page_s, 3),
                        "old_tab_after_link_s": round(old_tab_s, 3),
                    }
                )
        polled = len(tab.log)
        elapsed = time.monotonic() - started
        print(f"allow again -> link -> access, 3 cycles: {cycles}; old tab: {polled} requests")
        _record("allow_again_then_link", cycles)

        # -- the old tab's refusals were logged once a minute, not per request -------
        server_log = hub.log_path.read_text(errors="replace")
        assert "Not allowing user bob" not in server_log
        refused_lines = server_log.count("rtc-presence: refused bob")
        assert 1 <= refused_lines <= 3 * (int(elapsed // 60) + 2), refused_lines
        refused_requests = sum(1 for _, s in tab.log if s == 403)
        assert refused_requests > 3 * refused_lines, (refused_requests, refused_lines)
        await owner_stream.close()


async def test_no_access_page_and_server_stopping(tmp_path: Path) -> None:
    async with owner_and_guest(tmp_path / "hub") as shared:
        hub, alice, bob, invite = shared.hub, shared.owner, shared.guest, shared.invite
        owner = alice.api()
        hub_api = await alice.hub_api()
        guest = bob.api("alice")

        # -- revoked on the hub, not by this server: the page says so --------------
        g_room = await YClient.connect(
            room_url(_ws_base(guest), "JupyterLab:globalAwareness"),
            headers=guest.websocket_headers(),
        )
        r = await hub_api.patch("shares/alice/", json={"user": "bob"})
        assert r.status_code == 200, r.text
        code, _ = await g_room.wait_closed(5.0 + 3)  # revalidate_interval, then cut off
        assert code == 4403
        r = await _page(bob, "user/alice/lab")
        assert r.status_code == 403
        assert "<title>No access to this server</title>" in r.text
        assert "You do not have access to Alice Martin&#39;s server." in r.text
        assert "new invite link" in r.text
        _assert_self_contained(r.text)
        assert _home_link(r.text) in ("/hub/home", hub.url + "hub/home")
        api = await guest.get("api/contents")
        assert api.status_code == 403 and "invite link" in api.json()["message"]

        # -- back in with the link; then alice stops her server ---------------------
        await bob.accept_share(invite["url"])
        assert (await _page(bob, "user/alice/lab")).status_code == 200
        g_room = await YClient.connect(
            room_url(_ws_base(guest), "JupyterLab:globalAwareness"),
            headers=guest.websocket_headers(),
        )
        b_stream = await _stream(guest)
        a_room = await YClient.connect(
            room_url(_ws_base(owner), "JupyterLab:globalAwareness"),
            headers=owner.websocket_headers(),
        )
        stop = asyncio.create_task(alice.stop_server())
        assert await g_room.wait_closed(15.0) == (4403, "server stopping")
        try:
            while True:  # presence updates (bob leaving the rooms), then the close
                await asyncio.wait_for(b_stream.recv(), 15.0)
        except ConnectionClosed as exc:
            assert exc.rcvd is not None
            assert (exc.rcvd.code, exc.rcvd.reason) == (4403, "server stopping")
        # the owner's own sockets are not told "access ended"
        owner_code, _ = await a_room.wait_closed(30.0)
        assert owner_code != 4403
        await stop
