"""How rtc-presence hooks into jupyter_server_ydoc (pinned behaviour)."""

from __future__ import annotations

import socket

import pytest
from tornado.httputil import HTTPServerRequest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from rtc_presence.liveness import SLICE_PEERS, RoomLiveness
from rtc_presence.pytest_plugin import RTCServer
from rtc_presence.rooms import RTCRoomHandler
from rtc_presence.testing.identity import SESSION_COOKIE
from rtc_presence.testing.waiting import until


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
    handler = next(iter(rtc_server.state.liveness.peers))
    sock = handler.ws_connection.stream.socket
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


async def test_one_job_pings_every_room_connection(rtc_server: RTCServer) -> None:
    # Tornado's per-connection pinging is off (RTCRoomHandler.ping_interval is
    # None); RoomLiveness.ping_all, run by the extension every ping_interval,
    # replaces it.
    path = rtc_server.notebook()
    await rtc_server.room("alice", path)
    await rtc_server.room("bob", path)
    handlers = list(rtc_server.state.liveness.peers)
    assert len(handlers) == 2
    assert all(h.ping_interval is None for h in handlers)
    before = {h: h.last_pong for h in handlers}
    assert rtc_server.state.liveness.ping_all() == 2
    await until(lambda: all(h.last_pong > before[h] for h in handlers), 5, "a pong from each")


class _Peer:
    """Just what RoomLiveness reads and calls on a room handler (liveness.Peer)."""

    def __init__(self, last_pong: float) -> None:
        self.last_pong = last_pong
        self.released = False
        self.pings = 0
        self.closed: tuple[int, str] | None = None

    def send_ping(self) -> bool:
        self.pings += 1
        return True

    def drop(self, code: int, reason: str) -> None:
        self.closed = (code, reason)
        self.released = True


def test_sweeper_drops_silent_peers_but_not_across_a_loop_stall() -> None:
    silent, alive = _Peer(last_pong=0.0), _Peer(last_pong=9.8)
    liveness = RoomLiveness(silence=3.0, interval=0.5)
    for peer in (silent, alive):
        liveness.add(peer)
    assert liveness.sweep(now=1.0) == 0  # first call: nobody silent for 3 s yet
    # The loop stalled 9 s: pongs may be unread in the sockets; judge nobody.
    assert liveness.sweep(now=10.0) == 0
    assert silent.closed is None
    # On time again: the silent one goes, the one that answered stays.
    assert liveness.sweep(now=10.5) == 1
    assert silent.closed == (1001, "ping timed out")
    assert alive.closed is None
    # Closed peers are not pinged any more.
    assert liveness.ping_all() == 1 and alive.pings == 1 and silent.pings == 0


def test_pings_go_out_in_slices_and_each_peer_once_per_interval() -> None:
    liveness = RoomLiveness(silence=3.0, interval=0.5, slices=10)
    peers = [_Peer(last_pong=0.0) for _ in range(10 * SLICE_PEERS + 25)]
    for peer in peers:
        liveness.add(peer)
    liveness.add(peers[0])  # a second add does not ping it twice
    per_tick = [liveness.ping_slice() for _ in range(10)]
    # Full slices first, then the emptiest: 25 over the last 10 slots.
    assert sum(per_tick) == len(peers) and max(per_tick) == SLICE_PEERS + 3
    assert [p.pings for p in peers] == [1] * len(peers)
    # People leave from the same slices; newcomers fill the emptiest.
    for peer in peers[:10]:
        liveness.discard(peer)
    newcomers = [_Peer(last_pong=0.0) for _ in range(10)]
    for peer in newcomers:
        liveness.add(peer)
    per_tick = [liveness.ping_slice() for _ in range(10)]
    assert sum(per_tick) == len(peers) and max(per_tick) == SLICE_PEERS + 3
    assert all(p.pings == 1 for p in newcomers) and all(p.pings == 2 for p in peers[10:])
    assert all(p.pings == 1 for p in peers[:10])  # gone: not pinged


def test_a_small_room_costs_one_ping_wake_up_per_interval() -> None:
    liveness = RoomLiveness(silence=3.0, interval=1.0, slices=10)
    assert liveness.ping_due() == pytest.approx(1.0)  # nobody: once per interval
    small = [_Peer(last_pong=0.0) for _ in range(SLICE_PEERS)]
    for peer in small:
        liveness.add(peer)
    # One slice: the job wakes once per interval and pings everyone.
    delays = [liveness.ping_due() for _ in range(3)]
    assert delays == [pytest.approx(1.0)] * 3 and [p.pings for p in small] == [3] * len(small)
    # One more fills a second slice: two wake-ups per interval, still one ping each.
    extra = _Peer(last_pong=0.0)
    liveness.add(extra)
    delays = [liveness.ping_due() for _ in range(4)]
    assert delays == [pytest.approx(0.1), pytest.approx(0.9)] * 2
    assert extra.pings == 2 and all(p.pings == 5 for p in small)


async def test_room_websockets_refuse_a_foreign_origin(rtc_server: RTCServer) -> None:
    # Upstream's room handler accepts any Origin; ours applies jupyter_server's
    # rule for its other websockets (Origin must match Host).
    path = rtc_server.notebook()
    url = await rtc_server.room_link("bob", path)
    host = url.split("/")[2]
    # A browser's session cookie: token-authenticated requests skip the
    # Origin check in jupyter_server (no ambient credentials to abuse).
    headers = {"Cookie": f"{SESSION_COOKIE}=bob-token"}
    with pytest.raises(InvalidStatus) as refused:
        await connect(
            url, additional_headers={**headers, "Origin": "http://evil.example"}, proxy=None
        )
    assert refused.value.response.status_code == 403
    for origin in (f"http://{host}", None):
        extra = {} if origin is None else {"Origin": origin}
        ws = await connect(url, additional_headers={**headers, **extra}, proxy=None)
        await ws.close()
