"""The owner's sharing API on a server outside a hub: who may call what."""

from __future__ import annotations

import pytest
from tornado import web

from rtc_presence.pytest_plugin import RTCServer
from rtc_presence.sharing import SharingError

ENDPOINTS = [
    ("GET", "api/rtc-presence/invites", None),
    ("POST", "api/rtc-presence/invites", {"expires_in": 3600}),
    ("DELETE", "api/rtc-presence/invites", None),
    ("DELETE", "api/rtc-presence/invites/sc_1", None),
    ("GET", "api/rtc-presence/guests", None),
    ("DELETE", "api/rtc-presence/guests", None),
    ("DELETE", "api/rtc-presence/guests/bob", None),
    ("POST", "api/rtc-presence/guests/bob/allow", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_guest_and_anonymous_get_403(
    rtc_server: RTCServer, method: str, path: str, body: object
) -> None:
    for user in ("bob", None):
        resp = await rtc_server.request(user, method, path, body=body)
        assert resp.status_code == 403, (user, resp.text)
        assert resp.json()["message"]
    assert rtc_server.state.gate.revoked == {}


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_owner_without_hub_gets_clear_501(
    rtc_server: RTCServer, method: str, path: str, body: object
) -> None:
    resp = await rtc_server.request("alice", method, path, body=body)
    assert resp.status_code == 501
    assert "JupyterHub" in resp.json()["message"]


async def test_info_says_why_sharing_is_unavailable(rtc_server: RTCServer) -> None:
    info = (await rtc_server.request("bob", "GET", "api/rtc-presence/info")).json()
    assert info["sharing"]["available"] is False
    assert info["me"]["role"] == "guest"
    assert info["owner"]["username"] == "alice"
    assert info["invite_lifetime"] == {"default": 3600, "min": 60, "max": 604800}


async def test_oversized_body_is_refused(rtc_server: RTCServer) -> None:
    resp = await rtc_server.request(
        "alice", "POST", "api/rtc-presence/invites", body={"x": "y" * 10000}
    )
    assert resp.status_code == 413
    assert resp.json()["message"]


def test_sharing_error_is_a_tornado_http_error() -> None:
    """Raised anywhere, jupyter_server answers its status with the JSON message."""
    exc = SharingError(502, "The hub answered 500 (50% done).")
    assert isinstance(exc, web.HTTPError)
    assert (exc.status_code, exc.status) == (502, 502)
    assert exc.message == "The hub answered 500 (50% done)."
    # what jupyter_server's APIHandler.write_error sends as "message"
    assert exc.log_message is not None
    assert exc.log_message % exc.args == exc.message
    assert str(exc) == exc.message
