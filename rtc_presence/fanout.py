"""Every write to the clients of a room: document updates, awareness, removals.

Document updates and awareness frames go to all clients of a room in one
synchronous loop, without one task per recipient.

pycrdt-websocket's ``YRoom._broadcast_updates`` starts one task per client
for every document update. Profiling the server under 100-200 editors
(``bench/profiling.py``) put about half of its time there. This module
gives every room a replacement loop that writes the update to each tornado
websocket synchronously, as :meth:`RTCRoomHandler._fan_out_awareness` does
for awareness, and keeps everything else upstream does with the update
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

from typing import Any

from pycrdt import create_update_message, read_message
from pycrdt.websocket import WebsocketServer, YRoom
from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClosedError, WebSocketHandler, WebSocketProtocol13

from .frames import AWARENESS, write_varbytes, write_varuint
from .mixins import adopt


def is_live(client: object) -> bool:
    """Whether a tornado websocket can still be written to."""
    conn = getattr(client, "ws_connection", None)
    return conn is not None and not conn.is_closing()


BINARY_OPCODE = 0x2


def write_binary(client: WebSocketHandler, message: bytes) -> None:
    """Queue one binary frame on a live tornado websocket.

    ``WebSocketHandler.write_message`` wraps every write in a coroutine and
    ``asyncio.ensure_future`` (tornado/websocket.py, ``write_message``), one
    task per recipient per update: a tenth of the server's time at 100
    editors. Nobody awaits that future here, so the frame is queued with the
    protocol's ``_write_frame`` (private, tornado 6) when the connection is
    uncompressed, as room connections are; a closed stream's write future is
    silenced by tornado itself. Pinned by ``tests/test_fanout.py``.
    """
    conn = client.ws_connection
    if isinstance(conn, WebSocketProtocol13) and conn._compressor is None:
        try:
            conn._write_frame(True, BINARY_OPCODE, message)
        except StreamClosedError:
            raise WebSocketClosedError() from None
    else:
        client.write_message(message, binary=True)


def send_now(room: YRoom, message: bytes, skip: object = None) -> None:
    """Write ``message`` to every client of ``room`` except ``skip``.

    Tornado websockets are written synchronously (:func:`write_binary` only
    queues bytes on the stream); any other kind of channel gets a task in
    the room's task group, as upstream does.
    """
    for client in list(room.clients):
        if client is skip:
            continue
        if isinstance(client, WebSocketHandler):
            if not is_live(client):
                continue
            try:
                write_binary(client, message)
            except WebSocketClosedError:
                continue
        else:
            task_group = room._task_group  # private: the room's own task group
            if task_group is not None:
                task_group.start_soon(client.send, message)


def send_to(client: object, message: bytes) -> bool:
    """Write ``message`` to one tornado websocket; False if it is closed."""
    if not isinstance(client, WebSocketHandler) or not is_live(client):
        return False
    try:
        write_binary(client, message)
    except WebSocketClosedError:
        return False
    return True


def fan_out_awareness(room: YRoom, frame: bytes) -> None:
    """Send a checked awareness frame to the room and apply it to the room.

    Does what pycrdt-websocket's ``YRoom.serve`` does with awareness: forward
    to every client, the sender included (y-websocket's provider closes a
    socket that received nothing for 30 s, and a client ignores its own
    state at a clock it knows), and apply it to the room's own awareness.
    Written synchronously instead of one task per recipient, which was most
    of the server's time per awareness update at 100+ clients.
    """
    send_now(room, frame)
    room.awareness.apply_awareness_update(read_message(frame[1:]), room)


def broadcast_removal(room: YRoom, client_ids: list[int], frame: bytes, skip: object) -> None:
    """Tell the room that ``client_ids`` are gone (``frame`` removes them)."""
    room.awareness.remove_awareness_states(client_ids, skip)
    send_now(room, frame, skip=skip)


def room_awareness_frame(room: YRoom, client_ids: list[int]) -> bytes | None:
    """An awareness frame with the room's current states of ``client_ids``."""
    states = room.awareness.states
    present = [cid for cid in client_ids if cid in states]
    if not present:
        return None
    out = bytearray()
    write_varuint(out, AWARENESS)
    write_varbytes(out, room.awareness.encode_awareness_update(present))
    return bytes(out)


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
        async with room._update_receive_stream:
            async for update in room._update_receive_stream:
                task_group = room._task_group
                if task_group is None or task_group.cancel_scope.cancel_called:
                    return
                if room.clients:
                    try:
                        send_now(room, create_update_message(update))
                    except Exception as exc:
                        room._handle_exception(exc)
                if ystore is not None:
                    room.persist_update(update)

    def persist_update(self, update: bytes) -> None:
        """Store one update in the room's YStore, as upstream does (one task per
        update); :class:`rtc_presence.durable.DurableRoomMixin` batches instead."""
        room: Any = self
        room._task_group.start_soon(room.ystore.write, update)


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
