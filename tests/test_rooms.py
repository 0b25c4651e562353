"""How rtc-presence hooks into jupyter_server_ydoc (pinned behaviour)."""

from __future__ import annotations

import asyncio
import socket

from tornado.httputil import HTTPServerRequest

from rtc_presence.pytest_plugin import RTCServer
from rtc_presence.rooms import RTCRoomHandler, ping_all


def test_room_route_uses_rtc_handler(rtc_server: RTCServer) -> None:
    # Pins install_room_handler's swap of tornado Rule.target.
    web_app = rtc_server.app.web_app
    base = rtc_server.app.base_url.rstrip("/")
    request = HTTPServerRequest(
        method="GET", uri=f"{base}/api/collaboration/room/json:notebook:abc", host="127.0.0.1"
    )
    delegate = web_app.find_handler(request)
    assert delegate.handler_class is RTCRoomHandler


async def test_room_sockets_have_nodelay(rtc_server: RTCServer) -> None:
    path = rtc_server.notebook()
    await rtc_server.room("alice", path)
    handler = next(iter(rtc_server.state.room_handlers))
    sock = handler.ws_connection.stream.socket
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


async def test_one_job_pings_every_room_connection(rtc_server: RTCServer) -> None:
    # Tornado's per-connection pinging is off (RTCRoomHandler.ping_interval is
    # None); ping_all, run by the extension every ping_interval, replaces it.
    path = rtc_server.notebook()
    await rtc_server.room("alice", path)
    await rtc_server.room("bob", path)
    handlers = list(rtc_server.state.room_handlers)
    assert len(handlers) == 2
    assert all(h.ping_interval is None for h in handlers)
    before = {h: h._last_pong for h in handlers}
    assert ping_all(rtc_server.state.room_handlers) == 2
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while not all(h._last_pong > before[h] for h in handlers):
        assert loop.time() < deadline, "no pong came back"
        await asyncio.sleep(0.02)
