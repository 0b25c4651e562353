"""Authorization cells only a real JupyterHub has (issue 7, part 1).

Browser cookies with and without the XSRF header, the owner's token in the URL, a
logged-in user without a share, and a revoked guest; the mutating requests that are
refused change nothing (hub shares and links, the server's revocations). The in-process
matrix is ``test_reliability_authz.py``.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from pathlib import Path
from typing import Any

import httpx
import pytest

from rtc_presence.testing.hubclient import HubBrowser, ServerAPI
from rtc_presence.testing.yclient import room_url
from tests.reliability.shared_hub import hub_state, shared_server
from tests.reliability.util import record, ws_status

pytestmark = pytest.mark.hub

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
        before = await hub_state(alice)
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
        assert await hub_state(alice) == before
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
        after_revoke = await hub_state(alice)
        assert after_revoke["shares"] == [] and after_revoke["revoked"] == ["bob"]
        owner_end = {"allow again": 204, "revoke all invites": 204, "revoke all guests": 200}
        got = {cell: await caller.http(*endpoints[cell]) for cell in owner_end}
        assert got == owner_end
        assert (await hub_state(alice))["codes"] == []
        assert wrong == {}, wrong
        cells = sum(len(r) for r in HUB_MATRIX.values()) + len(owner_row) + len(owner_end)
        record(
            "authz_hub",
            {"rows": len(HUB_MATRIX) + 2, "cells": cells + len(endpoints) + 3, "wrong": 0},
        )
