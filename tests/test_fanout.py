"""The synchronous document fan-out of rtc_presence.fanout (pinned behaviour)."""

from __future__ import annotations

import inspect
from typing import Any

import pycrdt
import pytest
from jupyter_server_ydoc.rooms import DocumentRoom
from pycrdt.websocket import YRoom

from rtc_presence.fanout import PING_FRAME, FanOutRoomMixin, FanOutServerMixin, binary_frame
from rtc_presence.pytest_plugin import RTCServer
from rtc_presence.testing.waiting import until
from rtc_presence.testing.yclient import append_text, cell_source


def test_upstream_room_still_starts_the_loop_we_replace() -> None:
    # FanOutRoomMixin overrides YRoom._broadcast_updates and reads these
    # private members; if upstream renames or stops using them, this fails
    # before users see duplicated or missing updates.
    start = inspect.getsource(YRoom._start)
    assert "self._broadcast_updates" in start
    assert "_update_receive_stream" in start
    loop = inspect.getsource(YRoom._broadcast_updates)
    for name in ("_update_receive_stream", "ystore.write", "client.send", "ystore.start"):
        assert name in loop, name
    assert hasattr(YRoom, "_handle_exception")


async def _server_room(rtc_server: RTCServer) -> Any:
    handler = next(iter(rtc_server.state.liveness.peers))
    return handler.room


async def test_rooms_use_the_synchronous_fan_out(rtc_server: RTCServer) -> None:
    path = rtc_server.notebook()
    await rtc_server.room("alice", path)
    room = await _server_room(rtc_server)
    assert isinstance(room, FanOutRoomMixin)
    assert isinstance(room, DocumentRoom)  # every upstream behaviour kept
    handler = next(iter(rtc_server.state.liveness.peers))
    # The same server object the REST handlers use, adopted in place.
    assert isinstance(handler._websocket_server, FanOutServerMixin)


async def test_each_client_gets_each_update_once_and_the_store_all(
    rtc_server: RTCServer,
) -> None:
    path = rtc_server.notebook(cells=1)
    alice = await rtc_server.room("alice", path)
    bob = await rtc_server.room("bob", path)
    carol = await rtc_server.room("carol", path)
    for client in (alice, bob, carol):
        await client.wait_synced()
    room = await _server_room(rtc_server)

    server_updates = 0

    def count(_event: pycrdt.TransactionEvent) -> None:
        nonlocal server_updates
        server_updates += 1

    subscription = room.ydoc.observe(count)
    start = {c: c.updates_received for c in (alice, bob, carol)}
    try:
        for i in range(20):
            append_text(alice.doc, 0, f"<{i}>")
        await bob.wait_until(lambda: "<19>" in str(cell_source(bob.doc, 0)), 10)
        await carol.wait_until(lambda: "<19>" in str(cell_source(carol.doc, 0)), 10)
        # A last edit from bob: everything sent before it has arrived once
        # it has (one ordered socket per client, one loop per room).
        append_text(bob.doc, 0, "<end>")
        for client in (alice, carol):
            await client.wait_until(lambda c=client: "<end>" in str(cell_source(c.doc, 0)), 10)
        for client in (alice, bob, carol):
            await client.wait_until(
                lambda c=client: c.updates_received - start[c] >= server_updates, 10
            )
    finally:
        room.ydoc.unobserve(subscription)

    assert server_updates >= 21
    # A duplicate would show as more updates than the server made.
    for client in (alice, bob, carol):
        assert client.updates_received - start[client] == server_updates, client

    # The YStore holds every update: replaying it rebuilds the document.
    expected = str(cell_source(alice.doc, 0))

    async def replayed() -> str:
        doc: pycrdt.Doc[Any] = pycrdt.Doc()
        async for update, *_ in room.ystore.read():
            doc.apply_update(update)
        cells = doc.get("cells", type=pycrdt.Array)
        return str(cells[0]["source"]) if len(cells) else ""

    await until(replayed, 10, "the YStore replaying the document", accept=lambda r: r == expected)


class _Recorder:
    def __init__(self) -> None:
        self.written = b""

    def write(self, data: bytes) -> None:
        self.written += bytes(data)


def _recording_protocol() -> Any:
    """A server-side tornado protocol object whose stream records what it is given."""
    from tornado.websocket import WebSocketProtocol13

    protocol: Any = WebSocketProtocol13.__new__(WebSocketProtocol13)
    protocol.stream = _Recorder()
    protocol.mask_outgoing = False
    protocol._wire_bytes_out = 0
    return protocol


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70000])
def test_prebuilt_frames_are_the_bytes_tornado_would_send(size: int) -> None:
    # write_frames hands binary_frame's bytes to the socket instead of
    # WebSocketProtocol13._write_frame: they must be the same bytes.
    protocol = _recording_protocol()
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    protocol._write_frame(True, 0x2, payload)
    assert binary_frame(payload) == protocol.stream.written


def test_the_ping_frame_is_tornados() -> None:
    protocol = _recording_protocol()
    protocol.write_ping(b"")
    assert protocol.stream.written == PING_FRAME


async def test_room_connections_answer_the_direct_pings(rtc_server: RTCServer) -> None:
    path = rtc_server.notebook()
    client = await rtc_server.room("alice", path)
    await client.wait_synced()
    handler = next(iter(rtc_server.state.liveness.peers))
    before = handler.last_pong
    assert handler.send_ping()
    await until(lambda: handler.last_pong > before, 10, "the pong of a direct ping")


def test_tornado_internals_the_fan_out_reads() -> None:
    # write_frames reads these tornado 6 members; if one is renamed, this
    # fails here rather than every write taking the slow path (or failing).
    from tornado.iostream import IOStream
    from tornado.websocket import WebSocketProtocol13

    write = inspect.getsource(IOStream.write)
    assert "self._write_buffer.append(data)" in write
    assert "if not self._connecting:" in write
    assert "self._handle_write()" in write
    init = inspect.getsource(WebSocketProtocol13.__init__)
    assert "self._wire_bytes_out = 0" in init
    assert "self._compressor" in inspect.getsource(WebSocketProtocol13.write_message)
    assert "mask_outgoing" in inspect.getsource(WebSocketProtocol13._write_frame)


async def test_large_updates_arrive_whole_and_in_order(
    rtc_server: RTCServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Updates larger than a socket buffer take the partial-write path
    # (the rest queued in tornado's buffer) and later small ones must wait
    # behind them: every client ends with exactly the writer's text.
    from tornado.iostream import IOStream

    remainders = []
    write = IOStream.write

    def counting_write(self: IOStream, data: bytes | memoryview) -> Any:
        if isinstance(data, memoryview):
            remainders.append(len(data))
        return write(self, data)

    monkeypatch.setattr(IOStream, "write", counting_write)
    path = rtc_server.notebook(cells=1)
    alice = await rtc_server.room("alice", path)
    bob = await rtc_server.room("bob", path)
    for client in (alice, bob):
        await client.wait_synced()
    for i in range(6):
        append_text(alice.doc, 0, f"<{i}>" + "x" * 3_000_000)
        append_text(alice.doc, 0, f"<small {i}>")
    expected = str(cell_source(alice.doc, 0))
    await bob.wait_until(lambda: str(cell_source(bob.doc, 0)) == expected, 60)
    order = [str(cell_source(bob.doc, 0)).index(f"<small {i}>") for i in range(6)]
    assert order == sorted(order)
    assert remainders  # the socket took part of a frame, tornado queued the rest


async def test_room_frames_are_written_without_compression(rtc_server: RTCServer) -> None:
    path = rtc_server.notebook()
    await rtc_server.room("alice", path)
    handler = next(iter(rtc_server.state.liveness.peers))
    # Compressed connections fall back to write_message; rooms are not compressed.
    assert handler.ws_connection._compressor is None
