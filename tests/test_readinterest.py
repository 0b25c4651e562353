"""Room websockets keep their read interest between frames (rtc_presence.readinterest):
the tornado internals it relies on, no epoll re-registration per frame on a real room
connection, and tornado's backpressure past MAX_UNREAD unread bytes."""

from __future__ import annotations

import asyncio
import inspect
import socket
from typing import Any

import pytest
from tornado.ioloop import IOLoop
from tornado.iostream import BaseIOStream, IOStream

from rtc_presence.pytest_plugin import RTCServer
from rtc_presence.readinterest import MAX_UNREAD, keep_read_interest
from rtc_presence.testing.waiting import until
from rtc_presence.testing.ynotebook import append_text, cell_source


def test_tornado_internals_it_relies_on() -> None:
    assert "return self._read_future is not None" in inspect.getsource(BaseIOStream.reading)
    events = inspect.getsource(BaseIOStream._handle_events)
    assert "if self.reading():\n                state |= self.io_loop.READ" in events
    assert "self._read_buffer_size == 0" in events  # why READ drops with bytes unread
    assert "elif self.reading():" in inspect.getsource(BaseIOStream._read_to_buffer_loop)
    assert "self._add_io_state(ioloop.IOLoop.READ)" in inspect.getsource(
        BaseIOStream._try_inline_read
    )
    a, b = socket.socketpair()
    try:
        stream = IOStream(a)
        assert stream._read_future is None and stream._read_buffer_size == 0
        assert keep_read_interest(stream) and stream.reading()
        assert not keep_read_interest(object())
    finally:
        a.close()
        b.close()


def _fd_of(handler: Any) -> int:
    return int(handler.ws_connection.stream.fileno().fileno())  # fileno() is the socket


async def test_a_room_connection_is_not_re_registered_per_frame(
    rtc_server: RTCServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = rtc_server.notebook(cells=1)
    kept = await rtc_server.room("alice", path)
    plain = await rtc_server.room("bob", path)
    handlers = {h.current_user.username: h for h in rtc_server.state.liveness.peers}
    # bob's connection gets tornado's own reading() back: the comparison
    del handlers["bob"].ws_connection.stream.reading
    fds = {_fd_of(handlers["alice"]): "alice", _fd_of(handlers["bob"]): "bob"}
    calls = {"alice": 0, "bob": 0}
    loop = IOLoop.current()
    original = loop.update_handler

    def counting(fd: Any, events: int) -> None:
        who = fds.get(fd if isinstance(fd, int) else fd.fileno())
        if who:
            calls[who] += 1
        original(fd, events)

    monkeypatch.setattr(loop, "update_handler", counting)
    frames = 40
    for client, cell in ((kept, 0), (plain, 0)):
        for i in range(frames):
            append_text(client.doc, cell, f"<{i}>")
            await asyncio.sleep(0.005)  # frames one by one, as typing sends them
    await until(
        lambda: str(cell_source(kept.doc, 0)).count("<") == 2 * frames, 10, "all edits at alice"
    )
    assert calls["bob"] >= frames, calls  # tornado: a DEL and an ADD per frame
    assert calls["alice"] <= 2, calls


async def test_past_max_unread_tornados_backpressure_is_back() -> None:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    stream = IOStream(a, max_buffer_size=64 * MAX_UNREAD)
    keep_read_interest(stream)
    total = 3 * MAX_UNREAD
    try:
        first = stream.read_bytes(1)  # registers the stream with the loop
        payload = bytes(range(256)) * (total // 256)
        sent = 0

        async def send_all() -> None:
            nonlocal sent
            while sent < total:
                try:
                    sent += b.send(payload[sent:])
                except BlockingIOError:
                    await asyncio.sleep(0.001)

        sender = asyncio.ensure_future(send_all())
        assert await first == payload[:1]
        # Nobody reads: the stream buffers up to MAX_UNREAD, then stops listening.
        await until(lambda: stream._read_buffer_size >= MAX_UNREAD, 10, "buffered")
        await until(lambda: not (stream._state or 0) & IOLoop.READ, 10, "READ dropped")
        assert stream._read_buffer_size < 2 * MAX_UNREAD
        assert not sender.done()  # the sender is held back by TCP, not buffered
        # Reading again takes everything, in order.
        rest = await asyncio.wait_for(stream.read_bytes(total - 1), 20)
        await sender
        assert rest == payload[1:]
    finally:
        stream.close()
        b.close()
