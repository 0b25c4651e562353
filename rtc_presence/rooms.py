"""The collaboration room websocket, with verified awareness and presence.

:class:`RTCRoomHandler` subclasses jupyter_server_ydoc's public
``YDocWebSocketHandler`` and checks every frame before the stock handler
queues it for the room. :func:`install_room_handler` makes the server use it
for ``/api/collaboration/room/...``.
"""

from __future__ import annotations

import json
import time
import weakref
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from jupyter_server_ydoc.handlers import YDocWebSocketHandler
from jupyter_server_ydoc.utils import decode_file_path
from pycrdt import is_awareness_disconnect_message, read_message
from pycrdt.websocket import YRoom
from tornado.routing import Rule, RuleRouter
from tornado.web import Application
from tornado.websocket import WebSocketClosedError

from .awareness import TokenBucket, removal_frame
from .fanout import adopt_websocket_server, is_live, send_now
from .frames import (
    AWARENESS,
    RAW,
    SYNC,
    SYNC_UPDATE,
    MalformedFrame,
    message_type,
    validate_raw,
    validate_sync,
)
from .identity import public_identity
from .presence import GLOBAL_ROOM, Connection

if TYPE_CHECKING:
    from .app import RTCState

CLOSE_MALFORMED = 4400
CLOSE_FLOOD = 4429


class RTCRoomHandler(YDocWebSocketHandler):
    """A collaboration room websocket whose awareness tells the truth.

    On top of the stock handler: TCP_NODELAY, ping-based detection of dead
    clients, validation of every frame (a malformed one closes only this
    connection), awareness rewriting (see :mod:`rtc_presence.awareness`),
    presence and activity bookkeeping, and instant removal of this
    connection's awareness states when it closes.
    """

    _rtc: RTCState
    _presence_conn: Connection | None
    _user_json: str
    _released: bool
    _bucket: TokenBucket

    def initialize(self, **kwargs: Any) -> None:
        super().initialize(**kwargs)
        self._rtc = self.settings["rtc_presence_state"]
        self._presence_conn = None
        self._released = False
        self._user_json = "{}"
        cfg = self._rtc.config
        self._bucket = TokenBucket(cfg.awareness_rate_limit, 2 * cfg.awareness_rate_limit)
        self._last_pong = time.monotonic()

    # Pings are sent by one periodic job for all room connections
    # (ping_all) instead of tornado's one task and timer per connection, which
    # was measurable when hundreds of clients connect at once; the pongs are
    # checked by Sweeper. Tornado's own timeout stays off because
    # it only runs the handler's on_close after a further 5 s closing
    # handshake with the dead peer.
    @property
    def ping_interval(self) -> float | None:
        return None

    @property
    def ping_timeout(self) -> float | None:
        return 0

    def on_pong(self, data: bytes) -> None:
        self._last_pong = time.monotonic()

    @property
    def max_message_size(self) -> int:
        # Tornado closes with 1009 ("message too big") past this size.
        return int(self._rtc.config.max_message_size)

    async def open(self, room_id: str) -> None:
        # Nagle's algorithm adds ~20 ms to small fan-out messages.
        self.set_nodelay(True)
        await super().open(room_id)
        if self.ws_connection is None or self.ws_connection.is_closing():
            return
        self._last_pong = time.monotonic()
        self._rtc.room_handlers.add(self)
        self._rtc.start()
        user = self.current_user
        identity = public_identity(user, getattr(user, "rtc_role", "owner"))
        self._user_json = json.dumps(identity, separators=(",", ":"), ensure_ascii=False)
        path = self._document_path()
        self._presence_conn = self._rtc.presence.connect(identity, self._room_id, path)
        self._rtc.emit_room_event("join", identity["username"], self._room_id, path)

    def _document_path(self) -> str | None:
        if self._room_id == GLOBAL_ROOM or self._room_id.count(":") < 2:
            return None
        _, _, file_id = decode_file_path(self._room_id)
        manager = self.settings.get("file_id_manager")
        path = manager.get_path(file_id) if manager is not None else None
        return str(path) if path is not None else None

    def on_message(self, message: str | bytes) -> Awaitable[None] | None:
        if self._released:
            return None  # closed: nothing more from this connection reaches the room
        if isinstance(message, str):
            self._reject(CLOSE_MALFORMED, "malformed message: text frames are not Yjs messages")
            return None
        try:
            kind = message_type(message)
            if kind == AWARENESS:
                forward = self._check_awareness(message)
                if forward is not None:
                    self._fan_out_awareness(forward)
                return None
            elif kind == SYNC:
                if validate_sync(message) == SYNC_UPDATE and self._presence_conn is not None:
                    self._rtc.presence.record_edit(self._presence_conn)
            elif kind == RAW:
                validate_raw(message)
            else:
                raise MalformedFrame(f"unknown message type {kind}")
        except MalformedFrame as exc:
            self._reject(CLOSE_MALFORMED, f"malformed message: {exc}")
            return None
        return super().on_message(message)  # type: ignore[no-any-return]

    def _check_awareness(self, message: bytes) -> bytes | None:
        if not self._bucket.take():
            self._reject(CLOSE_FLOOD, "too many awareness updates")
            return None
        guard = self._rtc.room_awareness(self.room)
        verdict = guard.filter(self, self._user_json, message, self.current_user.username)
        if verdict.dropped:
            self.log.warning(
                "rtc-presence: dropped %d forged awareness entr%s from %s in %s",
                verdict.dropped,
                "y" if verdict.dropped == 1 else "ies",
                self.current_user.username,
                self._room_id,
            )
        if self._presence_conn is not None:
            for state in verdict.changed_states:
                self._rtc.presence.record_awareness(self._presence_conn, state)
        return verdict.frame

    def _fan_out_awareness(self, frame: bytes) -> None:
        """Send a checked awareness frame to the room and apply it to the room.

        Does what pycrdt-websocket's ``YRoom.serve`` does with awareness
        (forward to every client, the sender included as a keep-alive, except
        for a disconnection; apply to the room's awareness) but writes
        synchronously instead of starting one task per recipient, which was
        most of the server's time per awareness update at 100+ clients.
        """
        room = self.room
        skip_self = is_awareness_disconnect_message(frame[1:])
        send_now(room, frame, skip=self if skip_self else None)
        room.awareness.apply_awareness_update(read_message(frame[1:]), room)

    def _reject(self, code: int, reason: str) -> None:
        user = self.current_user.username if self.current_user else "?"
        self.log.warning(
            "rtc-presence: closing %s's connection to %s: %s", user, self._room_id, reason
        )
        self.close(code, reason.encode("utf-8")[:120].decode("utf-8", "ignore"))

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        # Release first: an evicted person disappears for others at once,
        # not after the closing handshake.
        self._release()
        super().close(code, reason)

    def on_close(self) -> None:
        super().on_close()
        self._release()

    def _release(self) -> None:
        if self._released or not hasattr(self, "_rtc"):
            return
        self._released = True
        room = self.room
        if room is not None:
            self._broadcast_removal(room)
        if self._presence_conn is not None:
            conn, self._presence_conn = self._presence_conn, None
            self._rtc.presence.disconnect(conn)
            self._rtc.emit_room_event("leave", conn.username, conn.room_id, conn.path)

    def _broadcast_removal(self, room: YRoom) -> None:
        gone = self._rtc.room_awareness(room).release(self)
        if not gone:
            return
        room.awareness.remove_awareness_states([cid for cid, _ in gone], self)
        send_now(room, removal_frame(gone), skip=self)


def install_room_handler(web_app: Application) -> bool:
    """Serve collaboration rooms with :class:`RTCRoomHandler`.

    jupyter_server_ydoc registers ``YDocWebSocketHandler`` with no setting to
    replace it, and tornado dispatches to the first matching rule. We swap the
    target class of that rule (``tornado.routing.Rule.target``, public), so
    its URL pattern, position and keyword arguments stay as upstream made
    them. Pinned by ``tests/test_rooms.py::test_room_route_uses_rtc_handler``.
    The rooms' websocket server, found in the same rule, gets the
    synchronous document fan-out of :mod:`rtc_presence.fanout`.
    """
    swapped = 0
    for router in (web_app.default_router, web_app.wildcard_router):
        swapped += _swap(router, YDocWebSocketHandler, RTCRoomHandler)
    return bool(swapped)


def _swap(router: RuleRouter, old: type, new: type) -> int:
    count = 0
    for rule in router.rules:
        target = rule.target
        if isinstance(target, RuleRouter):
            count += _swap(target, old, new)
        elif target is old and isinstance(rule, Rule):
            rule.target = new
            server = rule.target_kwargs.get("ywebsocket_server")
            if server is not None:
                adopt_websocket_server(server)
            count += 1
    return count


def ping_all(handlers: weakref.WeakSet[RTCRoomHandler]) -> int:
    """Ping every open room connection; return how many were pinged."""
    sent = 0
    for handler in list(handlers):
        if handler._released or not is_live(handler):
            continue
        try:
            handler.ping()
        except WebSocketClosedError:
            continue
        sent += 1
    return sent


class Sweeper:
    """Closes room connections whose peer has not answered a ping for ``silence`` s.

    Called every ``interval`` seconds. A call that comes more than one
    interval late means the event loop itself was stalled (load, a long
    document load): pongs may then sit unread in the sockets, so that call
    judges nobody and the next one, on time, does. Closing goes through the
    handler, which releases the person's awareness at once.
    """

    def __init__(
        self, handlers: weakref.WeakSet[RTCRoomHandler], silence: float, interval: float
    ) -> None:
        self.handlers = handlers
        self.silence = silence
        self.interval = interval
        self._last: float | None = None

    def __call__(self, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        stalled = self._last is not None and now - self._last > 2 * self.interval
        self._last = now
        if stalled:
            return 0
        dead = [
            h for h in list(self.handlers) if now - h._last_pong > self.silence and not h._released
        ]
        for handler in dead:
            handler._reject(1001, "ping timed out")
        return len(dead)
