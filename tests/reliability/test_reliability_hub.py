"""Reliability and security on a real JupyterHub (issue 7, parts 1, 4b, 4c and 5).

* Authorization cells only a hub has: browser cookies with and without the XSRF header,
  the owner's token in the URL, a logged-in user without a share, and a revoked guest;
  the mutating requests that are refused change nothing (hub shares and links, the
  server's revocations).
* Invites: unknown, revoked, malformed and own codes get the hub's clear refusal and
  grant nothing. (Expired codes: ``test_hub_sharing.py::
  test_revocation_elsewhere_restart_and_expiry`` waits out a 60 s link; not repeated.)
* The hub stops answering (SIGSTOP) while a guest is editing: the owner's sharing calls
  fail with a clear 502, rooms keep working and nobody is evicted; after SIGCONT the
  calls work again.
* The owner's server is killed with SIGKILL and restarted through the hub: no guest keeps
  access (the hub helper revokes on stop and again on start).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from rtc_presence.testing.hubclient import (
    DemoHub,
    HubBrowser,
    HubClientError,
    ServerAPI,
    owner_and_guest,
)
from rtc_presence.testing.yclient import YClient, append_text, cell_source, open_session, room_url
from tests.reliability.util import record, until, ws_status

pytestmark = pytest.mark.hub


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


async def _room(api: ServerAPI, room_id: str, session: str) -> YClient:
    ws_base = "ws" + api.base_url[len("http") :]
    return await YClient.connect(
        room_url(ws_base, room_id, session), headers=api.websocket_headers()
    )


async def _status(api: ServerAPI, path: str = "api/contents") -> int:
    try:
        return (await api.get(path)).status_code
    except httpx.HTTPError:
        return 0


# ---------------------------------------------------------------- authorization cells

MUTATING = ["create invite", "revoke all invites", "revoke invite", "revoke all guests",
            "revoke guest", "allow again", "open session"]  # fmt: skip


def _endpoints(invite_id: str) -> dict[str, tuple[str, str, Any]]:
    return {
        "me": ("GET", "api/me", None),
        "info": ("GET", "api/rtc-presence/info", None),
        "presence": ("GET", "api/rtc-presence/presence", None),
        "list invites": ("GET", "api/rtc-presence/invites", None),
        "list guests": ("GET", "api/rtc-presence/guests", None),
        "create invite": ("POST", "api/rtc-presence/invites", {}),
        "revoke all invites": ("DELETE", "api/rtc-presence/invites", None),
        "revoke invite": ("DELETE", f"api/rtc-presence/invites/{invite_id}", None),
        "revoke all guests": ("DELETE", "api/rtc-presence/guests", None),
        "revoke guest": ("DELETE", "api/rtc-presence/guests/bob", None),
        "allow again": ("POST", "api/rtc-presence/guests/bob/allow", None),
        "open session": (
            "PUT",
            "api/collaboration/session/shared.ipynb",
            {"format": "json", "type": "notebook"},
        ),
    }


WS_CELLS = ["presence stream", "document room", "global awareness"]

#: Expected HTTP statuses (websocket cells: 101 opened). Rows are evaluated in order.
HUB_MATRIX: dict[str, dict[str, int]] = {
    # JupyterHub ignores the cookie of a cors request without X-XSRFToken, GETs included
    # (a cross-site page could send it). The server's re-check of refused tokens
    # (Gate.recheck_refused) only re-checks credentials the hub's auth path accepted,
    # so it must not admit these either.
    "owner cookie, no X-XSRFToken": {
        **dict.fromkeys(["me", "info", "presence", "list invites", "list guests"], 403),
        **dict.fromkeys(MUTATING, 403),
        **dict.fromkeys(WS_CELLS, 101),  # websockets: cookie accepted, no XSRF
    },
    # Tokens in the URL are ignored on HTTP (JupyterHub >= 5: allow_token_in_url=False)
    # and honoured on websockets that a browser opens (Sec-Fetch-Mode: websocket).
    "owner token in URL": {
        **dict.fromkeys(["me", "info", "presence", "list invites", "list guests"], 403),
        **dict.fromkeys(MUTATING, 403),
        **dict.fromkeys(WS_CELLS, 101),
    },
    "logged-in user without a share (token)": {
        **dict.fromkeys(["me", "info", "presence", "list invites", "list guests"], 403),
        **dict.fromkeys(MUTATING, 403),
        **dict.fromkeys(WS_CELLS, 403),
    },
    "anonymous": {
        **dict.fromkeys(["me", "info", "presence", "list invites", "list guests"], 403),
        **dict.fromkeys(MUTATING, 403),
        **dict.fromkeys(WS_CELLS, 403),
    },
    "guest (cookie + XSRF)": {
        **dict.fromkeys(["me", "info", "presence"], 200),
        **dict.fromkeys(["list invites", "list guests"], 403),
        **dict.fromkeys(MUTATING, 403),
        "open session": 200,
        **dict.fromkeys(WS_CELLS, 101),
    },
}


class Caller:
    """Makes one row's requests: how it authenticates, HTTP and websocket."""

    def __init__(
        self,
        base: str,
        *,
        browser: HubBrowser | None = None,
        xsrf: bool = True,
        token: str | None = None,
        token_in_url: bool = False,
    ) -> None:
        self.base = base
        self.browser = browser
        self.xsrf = xsrf
        self.token = token
        self.token_in_url = token_in_url

    def _api(self) -> ServerAPI | None:
        return None if self.browser is None else self.browser.api("alice")

    async def http(self, method: str, path: str, body: Any) -> int:
        url = self.base + path
        headers = {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-origin"}
        api = self._api()
        if api is not None:
            headers = api.headers()
            if not self.xsrf:
                headers.pop("X-XSRFToken", None)
        if self.token and self.token_in_url:
            url += "?" + urllib.parse.urlencode({"token": self.token})
        elif self.token:
            headers["Authorization"] = f"token {self.token}"
        kwargs: dict[str, Any] = {"headers": headers}
        if body is not None:
            kwargs["content"] = json.dumps(body)
            headers["Content-Type"] = "application/json"
        if self.browser is not None:
            r = await self.browser.client.request(method, url, **kwargs)
        else:
            async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
                r = await http.request(method, url, follow_redirects=False, **kwargs)
        if r.status_code >= 400:
            assert r.headers.get("content-type", "").startswith("application/json"), r.text[:300]
            assert r.json()["message"]
        return r.status_code

    async def ws(self, url: str) -> int:
        headers = {"Sec-Fetch-Mode": "websocket"}  # what browsers send on websockets
        api = self._api()
        if api is not None:
            headers.update(api.websocket_headers())
        if self.token:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"token": self.token})
        return await ws_status(url, headers)


async def _hub_state(alice: HubBrowser) -> dict[str, Any]:
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


async def test_hub_authorization_cells(tmp_path: Path) -> None:
    async with shared_server(tmp_path) as (_hub, alice, bob, carol):
        owner = alice.api()
        base = owner.base_url
        ws_base = "ws" + base[len("http") :]
        invite_id = (await owner.get("api/rtc-presence/invites")).json()["invites"][0]["id"]
        endpoints = _endpoints(invite_id)
        r = await owner.put(
            "api/collaboration/session/shared.ipynb", json=endpoints["open session"][2]
        )
        room_id = "{format}:{type}:{fileId}".format(**r.json())
        ws_urls = {
            "presence stream": ws_base + "api/rtc-presence/presence/stream",
            "document room": room_url(ws_base, room_id, r.json()["sessionId"]),
            "global awareness": room_url(ws_base, "JupyterLab:globalAwareness"),
        }
        carol_token = (await carol.hub_api()).token
        callers = {
            "owner cookie, no X-XSRFToken": Caller(base, browser=alice, xsrf=False),
            "owner token in URL": Caller(base, token=alice.token(), token_in_url=True),
            "logged-in user without a share (token)": Caller(base, token=carol_token),
            "anonymous": Caller(base),
            "guest (cookie + XSRF)": Caller(base, browser=bob),
        }
        before = await _hub_state(alice)
        assert before["shares"] == ["bob"] and before["guests"] == ["bob"]

        seen: dict[str, dict[str, int]] = {}
        for who, caller in callers.items():
            seen[who] = {}
            for cell, (method, path, body) in endpoints.items():
                if caller.browser is not None and not caller.xsrf:
                    # past the server's 1 s throttle of its re-check of refused tokens
                    await asyncio.sleep(1.1)
                seen[who][cell] = await caller.http(method, path, body)
            for cell in WS_CELLS:
                seen[who][cell] = await caller.ws(ws_urls[cell])
        wrong = {
            (who, cell): (seen[who][cell], expected)
            for who, row in HUB_MATRIX.items()
            for cell, expected in row.items()
            if seen[who][cell] != expected
        }
        # (asserted at the end, so that a wrong cell does not hide the checks below)
        # The refused calls changed nothing: same shares, links, guests, revocations.
        assert await _hub_state(alice) == before
        # The one difference a token header makes for the URL row: it works there.
        assert await Caller(base, token=alice.token()).http("GET", "api/me", None) == 200

        # -- the owner's own row (cookie + XSRF), destructive cells last -----------------
        owner_row = {
            "me": 200,
            "list invites": 200,
            "list guests": 200,
            "create invite": 201,
            "allow again": 404,  # bob is not revoked
            "revoke guest": 200,
        }
        caller = Caller(base, browser=alice)
        got = {cell: await caller.http(*endpoints[cell]) for cell in owner_row}
        assert got == owner_row
        # -- bob, now revoked, gets nothing anywhere --------------------------------------
        revoked = Caller(base, browser=bob)
        for cell, (method, path, body) in endpoints.items():
            assert await revoked.http(method, path, body) == 403, cell
        for cell in WS_CELLS:
            assert await revoked.ws(ws_urls[cell]) == 403, cell
        after_revoke = await _hub_state(alice)
        assert after_revoke["shares"] == [] and after_revoke["revoked"] == ["bob"]
        owner_end = {"allow again": 204, "revoke all invites": 204, "revoke all guests": 200}
        got = {cell: await caller.http(*endpoints[cell]) for cell in owner_end}
        assert got == owner_end
        assert (await _hub_state(alice))["codes"] == []
        assert wrong == {}, wrong
        cells = sum(len(r) for r in HUB_MATRIX.values()) + len(owner_row) + len(owner_end)
        record(
            "authz_hub",
            {"rows": len(HUB_MATRIX) + 2, "cells": cells + len(endpoints) + 3, "wrong": 0},
        )


# ---------------------------------------------------------------- invites


async def test_bad_invite_codes_are_refused_and_grant_nothing(tmp_path: Path) -> None:
    async with shared_server(tmp_path) as (hub, alice, _bob, carol):
        owner = alice.api()
        # a link created then revoked by the owner
        revoked = (await owner.post("api/rtc-presence/invites", json={})).json()
        r = await owner.delete(f"api/rtc-presence/invites/{revoked['id']}")
        assert r.status_code == 204
        revoked_code = urllib.parse.parse_qs(urllib.parse.urlparse(revoked["url"]).query)["code"][0]
        own = (await owner.post("api/rtc-presence/invites", json={})).json()
        before = await _hub_state(alice)
        codes = {
            "unknown": "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ",
            "revoked": revoked_code,
            "script": "<script>alert(1)</script>",
            "sql": "' OR '1'='1' --",
            "unicode": "кодé😀",
            "empty": "",
            "nul": "\x00",
            "long": "A" * 8000,
        }
        refusals: dict[str, tuple[int, int]] = {}
        hub_xsrf = carol._hub_xsrf_headers()["X-XSRFToken"]
        for label, code in codes.items():
            page = await carol.client.get(
                hub.url + "hub/accept-share?" + urllib.parse.urlencode({"code": code})
            )
            posted = await carol.client.post(
                hub.url + "hub/accept-share", data={"code": code, "_xsrf": hub_xsrf}
            )
            refusals[label] = (page.status_code, posted.status_code)
            for r in (page, posted):
                assert r.status_code in (400, 404, 414, 431), (label, r.status_code)
                assert "<script>alert(1)</script>" not in r.text  # reflected only escaped
            if page.status_code == 404:
                assert "Share not found or expired" in page.text, label
        # the owner's own link: refused to herself
        own_code = urllib.parse.parse_qs(urllib.parse.urlparse(own["url"]).query)["code"][0]
        with pytest.raises(HubClientError) as refused:
            await alice.accept_share(own_code)
        assert refused.value.response is not None
        assert refused.value.response.status_code == 403
        # nothing granted: same shares and links, carol still has no access
        assert await _hub_state(alice) == before
        assert await _status(carol.api("alice")) == 403
        with pytest.raises(HubClientError):
            await carol.open_lab("alice")
        record(
            "invites_refused",
            {
                "codes_tried": len(codes) + 1,
                "statuses_get_post": refusals,
                "shares_changed": 0,
                "expired": "test_hub_sharing.py (60 s link)",
            },
        )


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
        a_room = await _room(owner, room_id, session)
        b_room = await _room(guest, room_id, session)
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
            assert await _status(guest) == 200
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
        b_room = await _room(guest, room_id, session)
        assert await _status(guest) == 200
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
        assert await _status(guest) in (302, 403)
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
