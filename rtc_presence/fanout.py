"""Every write to the clients of a room: document updates, awareness, removals.

A broadcast builds its websocket frame once and writes the same bytes to every
client in one synchronous loop, without a task, a Future or a frame per
recipient (:func:`write_frames`). What goes out is decided elsewhere: document
updates here, awareness in :mod:`rtc_presence.awarenessbatch`.

pycrdt-websocket's ``YRoom._broadcast_updates`` starts one task per client
for every document update. Profiling the server under 100-200 editors
(``bench/profiling.py``) put about half of its time there. This module gives
every room a replacement loop that writes the update to each tornado
websocket synchronously (and the updates already queued behind it in the
same write), and keeps everything else upstream does with an update
(persisting it in the room's YStore, sending to non-tornado channels).

How it is put in place, since neither pycrdt-websocket nor
jupyter_server_ydoc lets one choose the room class:

- :func:`adopt_websocket_server` puts :class:`FanOutServerMixin` in front of
  the class of jupyter_server_ydoc's ``JupyterWebsocketServer`` instance (in
  place: the REST handlers and the extension app hold that same object);
- its public ``start_room`` puts :class:`FanOutRoomMixin` in front of each
  room's class before the room starts, which is when ``YRoom._start``
  launches ``self._broadcast_updates``.

``_broadcast_updates``, ``_task_group`` and ``_update_receive_stream`` are
private members of ``YRoom`` (pycrdt-websocket 0.16); the overridden loop
mirrors upstream's. ``tests/test_fanout.py`` pins the upstream structure and
the behaviour: each client gets every update exactly once and the YStore
gets every update.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

from anyio import EndOfStream, WouldBlock
from pycrdt import create_update_message
from pycrdt.websocket import WebsocketServer, YRoom
from tornado.iostream import IOStream, StreamClosedError
from tornado.websocket import WebSocketClosedError, WebSocketHandler, WebSocketProtocol13

from .mixins import adopt

_FIN_BINARY = 0x80 | 0x2


def binary_frame(payload: bytes) -> bytes:
    """One final, unmasked binary websocket frame (RFC 6455 5.2) around ``payload``:
    what a server sends on an uncompressed connection."""
    size = len(payload)
    if size < 126:
        return bytes((_FIN_BINARY, size)) + payload
    if size <= 0xFFFF:
        return struct.pack("!BBH", _FIN_BINARY, 126, size) + payload
    return struct.pack("!BBQ", _FIN_BINARY, 127, size) + payload


def write_frames(client: WebSocketHandler, frames: bytes, messages: Sequence[bytes]) -> bool:
    """Write ``frames`` (the :func:`binary_frame` of each of ``messages``, joined) to
    one tornado websocket; False when it is closed or closing.

    At 300 clients the server's time was tornado's per-recipient write path
    (``write_message`` -> ``_write_frame`` -> ``IOStream.write``: a frame built,
    a buffer append, a Future and a peek per write; 55 % of the GIL time in
    bench/README.md "Where the time goes"). Here the frame is built once per
    broadcast and, when the stream has nothing queued, handed to the socket
    directly: the same bytes in the same order tornado would send, since an
    empty buffer means nothing is ahead of them. Whatever the socket does not
    take, and every write while something is queued, goes through
    ``IOStream.write`` as usual (which also handles errors and closing).
    ``WebSocketProtocol13._compressor``/``mask_outgoing``, ``IOStream._write_buffer``
    and ``_connecting`` are tornado 6 internals, read only; pinned by
    ``tests/test_fanout.py``. Compressed connections (never room ones) and other
    protocols take ``write_message`` per message.
    """
    conn = client.ws_connection
    if conn is None or conn.is_closing():
        return False
    if not isinstance(conn, WebSocketProtocol13) or conn._compressor is not None:
        try:
            for message in messages:
                client.write_message(message, binary=True)
        except WebSocketClosedError:
            return False
        return True
    return _write_raw(conn, frames)


#: A ping frame without payload (FIN + opcode 0x9, length 0), as tornado's ``ping()``.
PING_FRAME = bytes((0x89, 0x00))


def send_ping(client: WebSocketHandler) -> bool:
    """Ping one tornado websocket with the same direct write; False when closed.

    The liveness job pings every room connection each second, and at 300
    clients tornado's ``ping()`` -> ``_write_frame`` -> ``IOStream.write`` was a
    tenth of the server's time.
    """
    conn = client.ws_connection
    if conn is None or conn.is_closing():
        return False
    if not isinstance(conn, WebSocketProtocol13):
        client.ping()
        return True
    return _write_raw(conn, PING_FRAME)


def _write_raw(conn: WebSocketProtocol13, frames: bytes) -> bool:
    """Hand ready websocket frames to the connection's stream (see write_frames)."""
    if conn.mask_outgoing:  # a client-side protocol object: never a server's socket
        raise ValueError("server websockets do not mask frames")
    stream = conn.stream
    conn._wire_bytes_out += len(frames)
    data: bytes | memoryview = frames
    if type(stream) is IOStream and not stream._write_buffer and not stream._connecting:
        sock = stream.socket
        try:
            sent = sock.send(frames) if sock is not None else 0
        except OSError:
            sent = 0  # EAGAIN, or an error IOStream.write below meets and handles
        if sent == len(frames):
            return True
        data = memoryview(frames)[sent:]
    try:
        stream.write(data)
    except StreamClosedError:
        return False
    return True


def broadcast(room: YRoom, messages: Sequence[bytes], skip: object = None) -> None:
    """Write ``messages``, in order, to every client of ``room`` except ``skip``.

    Tornado websockets are written synchronously (:func:`write_frames` builds the
    frames once for all of them and only hands bytes to each socket); any other
    kind of channel gets a task in the room's task group, as upstream does.
    """
    frames = b"".join(binary_frame(message) for message in messages)
    for client in list(room.clients):
        if client is skip:
            continue
        if isinstance(client, WebSocketHandler):
            write_frames(client, frames, messages)
        else:
            task_group = room._task_group  # private: the room's own task group
            if task_group is not None:
                for message in messages:
                    task_group.start_soon(client.send, message)


def send_now(room: YRoom, message: bytes, skip: object = None) -> None:
    """Write one message to every client of ``room`` except ``skip``."""
    broadcast(room, (message,), skip)


def send_to(client: object, message: bytes) -> bool:
    """Write ``message`` to one tornado websocket; False if it is closed."""
    if not isinstance(client, WebSocketHandler):
        return False
    return write_frames(client, binary_frame(message), (message,))


class FanOutRoomMixin:
    """Replaces ``YRoom._broadcast_updates`` with a synchronous fan-out."""

    async def _broadcast_updates(self) -> None:
        # Same steps as upstream, in the same order: start the YStore, then
        # for each update of the room's document send it to the clients and
        # persist it. Only the sending differs (see module docstring).
        room: Any = self
        ystore = room.ystore
        if ystore is not None:
            async with ystore.start_lock:
                if not ystore.started.is_set():
                    await room._task_group.start(ystore.start)
        stream = room._update_receive_stream
        async with stream:
            async for update in stream:
                task_group = room._task_group
                if task_group is None or task_group.cancel_scope.cancel_called:
                    return
                # Updates queued meanwhile (a typing storm) go out together:
                # one write per client for all of them, each its own frame.
                updates, ended = _drain(stream, update)
                if room.clients:
                    try:
                        broadcast(room, [create_update_message(u) for u in updates])
                    except Exception as exc:
                        room._handle_exception(exc)
                if ystore is not None:
                    for queued in updates:
                        room.persist_update(queued)
                if ended:
                    return

    def persist_update(self, update: bytes) -> None:
        """Store one update in the room's YStore, as upstream does (one task per
        update); :class:`rtc_presence.durable.DurableRoomMixin` batches instead."""
        room: Any = self
        room._task_group.start_soon(room.ystore.write, update)


def _drain(stream: Any, first: bytes) -> tuple[list[bytes], bool]:
    """``first`` and every update already waiting in ``stream``; True once it ended."""
    updates = [first]
    while True:
        try:
            updates.append(stream.receive_nowait())
        except WouldBlock:
            return updates, False
        except EndOfStream:
            return updates, True


def adopt_room(room: YRoom, server: object = None) -> YRoom:
    """Put :class:`FanOutRoomMixin` in front of ``room``'s class, in place, and
    :class:`rtc_presence.durable.DurableRoomMixin` for document rooms of a server
    that has a keeper (:func:`rtc_presence.durable.attach_keeper`).

    Only effective before the room starts: a running room keeps the loop it
    started with.
    """
    from .durable import adopt_durable  # needs jupyter-collaboration

    adopt(room, FanOutRoomMixin, "FanOut")
    return adopt_durable(room, server)


class FanOutServerMixin:
    """Adopts every room before the websocket server starts it."""

    async def start_room(self, room: YRoom) -> None:
        if not room.started.is_set():
            adopt_room(room, self)
        await super().start_room(room)  # type: ignore[misc]


def adopt_websocket_server(server: WebsocketServer) -> WebsocketServer:
    """Put :class:`FanOutServerMixin` in front of ``server``'s class, in place."""
    return adopt(server, FanOutServerMixin, "FanOut")
