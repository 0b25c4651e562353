"""Authorization matrix on a real server (issue 7, part 1): who gets what, cell by cell.

Every endpoint the add-on adds (REST and the presence websocket) and the collaboration
rooms it guards (session, document room, global awareness room), against the owner, a
guest, a revoked guest, an unknown token and an anonymous client, with the expected
status written below for each cell. Tokens in the URL are what browsers use on
websockets; on HTTP the test identity provider accepts them too, so that row is pinned
against the real hub in ``test_reliability_hub_authz.py`` (JupyterHub refuses them there).
The cookie and XSRF cells also live there: this server authenticates with tokens.
"""

from __future__ import annotations

import json
from typing import Any

from rtc_presence.pytest_plugin import RTCServer
from rtc_presence.testing.yclient import open_session, room_url
from tests.reliability.util import record, ws_status

PATH = "matrix.ipynb"
SESSION_BODY = {"format": "json", "type": "notebook"}

#: cell name -> (method, path, JSON body). "WS" cells open a websocket.
ENDPOINTS: dict[str, tuple[str, str, Any]] = {
    "me": ("GET", "api/me", None),
    "info": ("GET", "api/rtc-presence/info", None),
    "presence": ("GET", "api/rtc-presence/presence", None),
    "presence stream": ("WS", "api/rtc-presence/presence/stream", None),
    "list invites": ("GET", "api/rtc-presence/invites", None),
    "create invite": ("POST", "api/rtc-presence/invites", {"expires_in": 3600}),
    "revoke all invites": ("DELETE", "api/rtc-presence/invites", None),
    "revoke invite": ("DELETE", "api/rtc-presence/invites/sc_1", None),
    "list guests": ("GET", "api/rtc-presence/guests", None),
    "revoke all guests": ("DELETE", "api/rtc-presence/guests", None),
    "revoke guest": ("DELETE", "api/rtc-presence/guests/carol", None),
    "allow again": ("POST", "api/rtc-presence/guests/carol/allow", None),
    "unsupported method": ("PATCH", "api/rtc-presence/invites", {}),
    "open session": ("PUT", f"api/collaboration/session/{PATH}", SESSION_BODY),
    "document room": ("WS", "<room>", None),
    "global awareness": ("WS", "api/collaboration/room/JupyterLab:globalAwareness", None),
}

OWNER_ONLY = [
    "list invites",
    "create invite",
    "revoke all invites",
    "revoke invite",
    "list guests",
    "revoke all guests",
    "revoke guest",
    "allow again",
]
EVERYONE = ["me", "info", "presence", "presence stream"]
ROOMS = ["open session", "document room", "global awareness"]


def _row(everyone: int, owner_only: int, unsupported: int, rooms: int, ws: int) -> dict[str, int]:
    row = {name: everyone for name in EVERYONE}
    row.update({name: owner_only for name in OWNER_ONLY})
    row["unsupported method"] = unsupported
    row.update({name: rooms for name in ROOMS})
    row["presence stream"] = row["document room"] = row["global awareness"] = ws
    return row


#: The expected status of every cell (101: the websocket opened). Outside a hub the
#: owner's sharing endpoints answer 501 (they forward to the hub); see test_hub_sharing
#: and test_reliability_hub_authz for their hub answers.
MATRIX: dict[str, dict[str, int]] = {
    "owner (alice)": _row(200, 501, 405, 200, 101),
    "guest (bob)": _row(200, 403, 405, 200, 101),
    "revoked guest (mallory)": _row(403, 403, 403, 403, 403),
    # An unknown token counts as token-authenticated (no XSRF check), so the missing
    # PATCH method answers 405 before anything else; it reveals nothing and grants nothing.
    "unknown token": _row(403, 403, 405, 403, 403),
    "anonymous": _row(403, 403, 403, 403, 403),
}
HEADERS: dict[str, dict[str, str]] = {
    "owner (alice)": {"Authorization": "token alice-token"},
    "guest (bob)": {"Authorization": "token bob-token"},
    "revoked guest (mallory)": {"Authorization": "token mallory-token"},
    "unknown token": {"Authorization": "token nobody-token"},
    "anonymous": {},
}
#: Websockets with ?token= (what browsers send): same answers as the header.
URL_TOKEN_WS = {
    "guest (bob)": ("bob-token", 101),
    "revoked guest (mallory)": ("mallory-token", 403),
    "unknown token": ("nobody-token", 403),
}


async def _http(rtc_server: RTCServer, method: str, path: str, body: Any, headers: Any) -> int:
    import httpx

    async with httpx.AsyncClient(trust_env=False, timeout=20) as http:
        r = await http.request(
            method,
            rtc_server.http_url + path,
            content=None if body is None else json.dumps(body),
            headers=headers,
            follow_redirects=False,
        )
    if r.status_code >= 400:
        # Every refusal is JSON with a readable message, never a page or a traceback.
        assert r.headers["content-type"].startswith("application/json"), r.text[:200]
        assert r.json()["message"], r.text
        assert "Traceback" not in r.text
    return r.status_code


async def test_authorization_matrix(rtc_server: RTCServer) -> None:
    rtc_server.notebook(PATH)
    room_id, session = await open_session(
        rtc_server.http_url, PATH, headers=HEADERS["owner (alice)"]
    )
    room = room_url(rtc_server.ws_url, room_id, session)
    # mallory was a guest and is revoked (the owner's "Revoke")
    await rtc_server.global_room("mallory")
    rtc_server.state.gate.evict("mallory", by="alice")
    revoked_before = set(rtc_server.state.gate.revoked)
    file_before = (rtc_server.root / PATH).read_bytes()

    seen: dict[str, dict[str, int]] = {}
    for who, expected_row in MATRIX.items():
        headers = HEADERS[who]
        seen[who] = {}
        for cell, (method, path, body) in ENDPOINTS.items():
            if method == "WS":
                url = room if path == "<room>" else rtc_server.ws_url + path
                status = await ws_status(url, headers)
            else:
                status = await _http(rtc_server, method, path, body, headers)
            seen[who][cell] = status
        assert set(expected_row) == set(ENDPOINTS)
    for who, (token, expected) in URL_TOKEN_WS.items():
        for cell in ("presence stream", "global awareness", "document room"):
            path = ENDPOINTS[cell][1]
            url = room if path == "<room>" else rtc_server.ws_url + path
            url += ("&" if "?" in url else "?") + f"token={token}"
            status = await ws_status(url)
            assert status == expected, (who, cell, status)

    wrong = {
        (who, cell): (seen[who][cell], expected)
        for who, row in MATRIX.items()
        for cell, expected in row.items()
        if seen[who][cell] != expected
    }
    assert wrong == {}, wrong
    # Nothing any of these calls did changed who may come in, or the document.
    assert set(rtc_server.state.gate.revoked) == revoked_before == {"mallory"}
    assert (rtc_server.root / PATH).read_bytes() == file_before
    cells = sum(len(row) for row in MATRIX.values()) + 3 * len(URL_TOKEN_WS)
    record("authz_in_process", {"identities": len(MATRIX) + 1, "cells": cells, "wrong": 0})


async def test_refused_people_are_not_in_presence(rtc_server: RTCServer) -> None:
    """Refused websocket attempts leave no trace in presence, events or the gate."""
    events = rtc_server.presence_events()
    await rtc_server.global_room("mallory")
    rtc_server.state.gate.evict("mallory", by="alice")
    url = rtc_server.ws_url + "api/collaboration/room/JupyterLab:globalAwareness"
    for headers in (HEADERS["revoked guest (mallory)"], HEADERS["unknown token"], {}):
        for _ in range(5):
            assert await ws_status(url, headers) == 403
    people = (await rtc_server.request("alice", "GET", "api/rtc-presence/presence")).json()
    assert people == {"people": []}
    assert rtc_server.state.gate.connected_guests() == []
    joins = [e for e in events if e["action"] == "join"]
    assert [e["username"] for e in joins] == ["mallory"]  # before the revocation only
