"""The gate's admission rules that need no hub: the server's own token, and
websockets checked again when their handshake ends."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.auth.identity import User
from tornado import web
from tornado.httputil import HTTPHeaders, HTTPServerRequest
from tornado.websocket import WebSocketHandler

from rtc_presence.access import REQUESTER, user_access, user_role
from rtc_presence.authorizer import RTCAuthorizerMixin
from rtc_presence.closecodes import CloseCode
from rtc_presence.gate import Gate
from rtc_presence.pytest_plugin import RTCServer
from rtc_presence.testing.waiting import until


class _HubAuth:
    """What the gate reads of jupyterhub's HubAuth."""

    api_token = "server-token"

    def __init__(self, presented: str) -> None:
        self.presented = presented
        self.cache: dict[str, Any] = {}

    def get_token(self, handler: Any) -> str:
        return self.presented


class _Connection:
    def set_close_callback(self, callback: Any) -> None:
        pass


def _request() -> HTTPServerRequest:
    return HTTPServerRequest(
        method="GET", uri="/api/x", headers=HTTPHeaders(), connection=_Connection()
    )


class _Socket(WebSocketHandler):
    opened = False
    closed_with: tuple[int | None, str | None] | None = None

    def open(self, *args: Any, **kwargs: Any) -> None:
        self.opened = True

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        self.closed_with = (code, reason)


def _user(name: str, scopes: list[str] | None = None) -> User:
    user = User(username=name)
    if scopes is not None:
        user.hub_user = {"name": name, "scopes": scopes}  # type: ignore[attr-defined]
    return user


def test_the_servers_own_token_is_nobody() -> None:
    gate = Gate("alice", logging.getLogger("test"), _HubAuth("server-token"))
    handler = web.RequestHandler(web.Application(), _request())
    with pytest.raises(web.HTTPError) as refused:
        gate.admit(handler, _user("alice", []))
    assert refused.value.status_code == 403
    assert "own API token" in str(refused.value.log_message)


def test_levels_come_from_the_guests_hub_scopes() -> None:
    gate = Gate("alice", logging.getLogger("test"), _HubAuth("bob-token"), unscoped_access="run")
    handler = web.RequestHandler(web.Application(), _request())
    bob = _user("bob", ["access:servers!server=alice/", "custom:rtc-presence:view!server=alice/"])
    gate.admit(handler, bob)
    assert (user_role(bob), user_access(bob)) == ("guest", "view")
    assert REQUESTER.get() == "bob"
    # Another server's level is not this one's.
    carol = _user("carol", ["custom:rtc-presence:run!server=zed/"])
    gate.admit(web.RequestHandler(web.Application(), _request()), carol)
    assert user_access(carol) == "run"  # unscoped here: the configured default
    gate.grants.unscoped_access = "view"
    dave = _user("dave", [])
    gate.admit(web.RequestHandler(web.Application(), _request()), dave)
    assert user_access(dave) == "view"


def test_a_socket_revoked_during_its_handshake_closes_when_it_opens() -> None:
    gate = Gate("alice", logging.getLogger("test"))
    sock = _Socket(web.Application(), _request())
    gate.admit(sock, _user("bob"))
    # tornado has authenticated it; the handshake is not over (a kernel
    # websocket waits for its kernel first). The owner revokes now.
    assert gate.evict("bob", by="alice") == 0
    sock.open()
    assert not sock.opened
    assert sock.closed_with == (CloseCode.REVOKED, "access revoked")


def test_a_socket_whose_level_changed_during_its_handshake_reconnects_when_it_opens() -> None:
    gate = Gate("alice", logging.getLogger("test"), unscoped_access="run")
    sock = _Socket(web.Application(), _request())
    gate.admit(sock, _user("bob"))
    # The roster's pruning (revalidation, the owner's guest list) keeps bob.
    assert gate.connected_guests() == ["bob"]
    assert gate.set_access("bob", "view") == 0  # nothing open to close yet
    sock.open()
    assert not sock.opened
    assert sock.closed_with == (CloseCode.ACCESS_CHANGED, "access changed")


def test_a_socket_admitted_after_being_allowed_again_opens() -> None:
    gate = Gate("alice", logging.getLogger("test"))
    gate.evict("bob", by="alice")
    gate.allow("bob")
    sock = _Socket(web.Application(), _request())
    gate.admit(sock, _user("bob"))
    sock.open()
    assert sock.opened and sock.closed_with is None


def test_the_servers_authorizer_is_adopted_in_place(rtc_server: RTCServer) -> None:
    # The authorizer instance is made before extensions load and is held by
    # every handler's settings: rtc-presence swaps its class, keeping it.
    authorizer = rtc_server.app.authorizer
    assert isinstance(authorizer, RTCAuthorizerMixin)
    assert rtc_server.app.web_app.settings["authorizer"] is authorizer


async def test_a_kernel_socket_revoked_while_the_kernel_starts_closes_when_it_opens(
    rtc_server: RTCServer, jp_kernel_dir: Path
) -> None:
    # A kernel that takes 3 s to start: bob's websocket is authenticated at
    # once, but its handshake ends only when the kernel answers kernel_info.
    spec = Path(jp_kernel_dir) / "slow"
    spec.mkdir(parents=True, exist_ok=True)
    boot = (
        "import runpy, sys, time; time.sleep(3); "
        "sys.argv = ['ipykernel_launcher', '-f', sys.argv[1]]; "
        "runpy.run_module('ipykernel_launcher', run_name='__main__')"
    )
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-c", boot, "{connection_file}"],
                "display_name": "slow",
                "language": "python",
            }
        )
    )
    resp = await rtc_server.request("alice", "POST", "api/kernels", body={"name": "slow"})
    assert resp.status_code == 201, resp.text
    kernel_id = resp.json()["id"]
    gate = rtc_server.state.gate

    async def bob_connects() -> tuple[int | None, str | None]:
        async with rtc_server.ws(f"api/kernels/{kernel_id}/channels", "bob") as ws:
            await ws.wait_closed()
            return ws.close_code, ws.close_reason

    connecting = asyncio.ensure_future(bob_connects())
    await until(lambda: gate.is_known_socket("bob"), 10, "bob's kernel socket admitted")
    assert not gate.is_online("bob")  # still in its handshake
    assert gate.evict("bob", by="alice") == 0  # nothing open to close yet
    code, reason = await asyncio.wait_for(connecting, timeout=30)
    assert (code, reason) == (CloseCode.REVOKED, "access revoked")
    # The owner's kernel is untouched.
    kernels = (await rtc_server.request("alice", "GET", "api/kernels")).json()
    assert [k["id"] for k in kernels] == [kernel_id]
