"""The collaboration room websocket, with verified awareness and presence.

:class:`RTCRoomHandler` subclasses jupyter_server_ydoc's public
``YDocWebSocketHandler`` and checks every frame before the stock handler
queues it for the room. :func:`install_room_handler` makes the server use it
for ``/api/collaboration/room/...``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable
from typing import Any

from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server_ydoc.handlers import YDocWebSocketHandler
from jupyter_server_ydoc.utils import decode_file_path
from tornado.routing import Rule, RuleRouter
from tornado.web import Application
from tornado.websocket import WebSocketClosedError

from .access import allows, user_access, user_role
from .autosave import run_detached
from .closecodes import CloseCode
from .fanout import adopt_websocket_server, send_ping, send_to
from .frames import (
    AWARENESS,
    RAW,
    SYNC,
    SYNC_STEP1,
    SYNC_UPDATE,
    MalformedFrame,
    OverLimit,
    message_type,
    validate_raw,
    validate_sync,
)
from .limits import ThrottledLog, TokenBucket
from .presence import GLOBAL_ROOM, Connection
from .profiles import public_identity
from .readinterest import keep_read_interest
from .sessionfile import install_session_file_cache
from .state import SETTINGS_KEY, RTCState


class RTCRoomHandler(YDocWebSocketHandler):
    """A collaboration room websocket whose awareness tells the truth.

    On top of the stock handler: TCP_NODELAY, ping-based detection of dead
    clients (:mod:`rtc_presence.liveness`), validation of every frame (a
    malformed one closes only this connection), awareness rules (see
    :mod:`rtc_presence.awareness`), presence and activity bookkeeping, and
    instant removal of this connection's awareness states when it closes.
    Every write to the room's clients goes through :mod:`rtc_presence.fanout`.
    """

    _rtc: RTCState
    _presence_conn: Connection | None
    _user_json: str
    _released: bool
    _counted: bool
    _refused_early: bool
    _messages: TokenBucket
    _bytes: TokenBucket
    _forged_log: ThrottledLog
    _write_log: ThrottledLog
    last_pong: float

    def initialize(self, **kwargs: Any) -> None:
        super().initialize(**kwargs)
        self._rtc = self.settings[SETTINGS_KEY]
        self._presence_conn = None
        self._released = False
        self._counted = False
        self._refused_early = False
        self._user_json = "{}"
        cfg = self._rtc.settings
        self._messages = TokenBucket(cfg.awareness_rate_limit, 2 * cfg.awareness_rate_limit)
        self._bytes = TokenBucket(cfg.awareness_bytes_rate, 2 * cfg.awareness_bytes_rate)
        self._forged_log = ThrottledLog(60.0)
        self._write_log = ThrottledLog(60.0)
        self.last_pong = time.monotonic()

    # -- liveness (rtc_presence.liveness.Peer) ------------------------------

    # Pings come from RoomLiveness' one periodic job; tornado's own stay off.
    @property
    def ping_interval(self) -> float | None:
        return None

    @property
    def ping_timeout(self) -> float | None:
        return 0

    def on_pong(self, data: bytes) -> None:
        self.last_pong = time.monotonic()

    @property
    def released(self) -> bool:
        return self._released

    def send_ping(self) -> bool:
        if self._released:
            return False
        try:
            return send_ping(self)
        except WebSocketClosedError:
            return False

    def drop(self, code: int, reason: str) -> None:
        self._reject(code, reason)

    # -- lifecycle -----------------------------------------------------------

    def check_origin(self, origin: str) -> bool:
        # Upstream's room handler accepts any Origin (jupyter_server_ydoc
        # handlers.py, check_origin returns True), so any web page a user
        # visits could open a room with their cookies. Apply the rule of
        # jupyter_server's own websockets (kernels, terminals, events):
        # Origin must match Host or the server's allow_origin settings.
        return bool(WebSocketMixin.check_origin(self, origin))

    @property
    def max_message_size(self) -> int:
        # Tornado closes with 1009 ("message too big") past this size.
        return int(self._rtc.settings.max_message_size)

    async def open(self, room_id: str) -> None:
        # Nagle's algorithm adds ~20 ms to small fan-out messages.
        self.set_nodelay(True)
        if self.ws_connection is not None:
            keep_read_interest(self.ws_connection.stream)
        user = self.current_user
        counts = self._rtc.room_connections
        limit = self._rtc.settings.max_room_connections
        if limit > 0 and counts[user.username] >= limit:
            # Refused before upstream's open, which writes a session file and
            # joins the room: a flood of connections costs the server little.
            self._refused_early = True
            self._reject(CloseCode.OVER_LIMIT, f"more than {limit} room connections")
            return
        counts[user.username] += 1
        self._counted = True
        await super().open(room_id)
        if self.ws_connection is None or self.ws_connection.is_closing():
            self._release()
            return
        self.last_pong = time.monotonic()
        self._rtc.liveness.add(self)
        self._rtc.start()
        identity = public_identity(user, user_role(user), user_access(user))
        self._user_json = json.dumps(identity, separators=(",", ":"), ensure_ascii=False)
        document = self._document_path()
        self._presence_conn = self._rtc.presence.connect(identity, self.path, document)
        self._rtc.emit_room_event("join", identity["username"], self.path, document)
        # The people already here, at once rather than at their next 15 s
        # renewal (y-websocket's own server does the same).
        room = self.room
        if room is not None:
            live = self._rtc.room_awareness(room).live_ids()
            snapshot = self._rtc.awareness_batch(room).snapshot(live)
            if snapshot is not None:
                send_to(self, snapshot)

    def _document_path(self) -> str | None:
        if self.path == GLOBAL_ROOM or self.path.count(":") < 2:
            return None
        _, _, file_id = decode_file_path(self.path)
        manager = self.settings.get("file_id_manager")
        path = manager.get_path(file_id) if manager is not None else None
        return str(path) if path is not None else None

    # -- receiving -------------------------------------------------------------

    def on_message(self, message: str | bytes) -> Awaitable[None] | None:
        if self._released:
            return None  # closed: nothing more from this connection reaches the room
        if isinstance(message, str):
            self._reject(CloseCode.MALFORMED, "malformed message: text frames are not Yjs messages")
            return None
        try:
            kind = message_type(message)
            if kind == AWARENESS:
                self._on_awareness(message)
                return None
            elif kind == SYNC:
                subtype = validate_sync(message)
                if subtype != SYNC_STEP1 and not self._may_edit():
                    # A viewer still syncs (step 1 asks for the document) but
                    # what it would change never reaches the room; the
                    # connection stays open so they keep following along.
                    self._refused_write("document changes")
                    return None
                if subtype == SYNC_UPDATE and self._presence_conn is not None:
                    self._rtc.presence.record_edit(self._presence_conn, message)
            elif kind == RAW:
                validate_raw(message)
                if not self._may_edit():
                    self._refused_write("saves")
                    return None
                # Upstream awaits a save inside on_message, and tornado reads
                # nothing more from this connection (pings included) meanwhile:
                # the save is answered in a task of ours (rtc_presence.autosave).
                run_detached(super().on_message(message), self.log)
                return None
            else:
                raise MalformedFrame(f"unknown message type {kind}")
        except MalformedFrame as exc:
            self._reject(CloseCode.MALFORMED, f"malformed message: {exc}")
            return None
        except OverLimit as exc:
            self._reject(CloseCode.OVER_LIMIT, f"over a limit: {exc}")
            return None
        return super().on_message(message)  # type: ignore[no-any-return]

    def _may_edit(self) -> bool:
        # Read per message: a level change closes this connection (4409), so
        # the level a connection was admitted with is the one in force.
        return allows(user_access(self.current_user), "edit")

    def _refused_write(self, what: str) -> None:
        self._write_log.log(
            self.log,
            1,
            "rtc-presence: dropped %s from %s in %s (access: view)",
            what,
            self.current_user.username,
            self.path,
        )

    def _on_awareness(self, message: bytes) -> None:
        # Bytes bound everything a connection sends, echoes included (a
        # stock tab echoes every update it receives); messages bound what
        # it makes the server forward.
        if not self._bytes.take(len(message)):
            self._reject(CloseCode.FLOOD, "too many awareness bytes per second")
            return
        room = self.room
        guard = self._rtc.room_awareness(room)
        verdict = guard.filter(self, self._user_json, message, self.current_user.username)
        if verdict.forged:
            self._forged_log.log(
                self.log,
                verdict.forged,
                "rtc-presence: dropped %d forged awareness entr%s from %s in %s",
                verdict.forged,
                "y" if verdict.forged == 1 else "ies",
                self.current_user.username,
                self.path,
            )
        if verdict.nudge is not None:
            send_to(self, verdict.nudge)
        if verdict.frame is None:
            return
        if not self._messages.take():
            self._reject(CloseCode.FLOOD, "too many awareness updates")
            return
        if self._presence_conn is not None:
            for state in verdict.changed_states:
                self._rtc.presence.record_awareness(self._presence_conn, state)
        self._rtc.awareness_batch(room).push(verdict.entries, verdict.renewal)

    # -- closing -----------------------------------------------------------------

    def _reject(self, code: int, reason: str) -> None:
        user = self.current_user.username if self.current_user else "?"
        self.log.warning("rtc-presence: closing %s's connection to %s: %s", user, self.path, reason)
        self.close(code, reason.encode("utf-8")[:120].decode("utf-8", "ignore"))

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        # Release first: an evicted person disappears for others at once,
        # not after the closing handshake.
        self._release()
        super().close(code, reason)

    def on_close(self) -> None:
        if not self._refused_early:  # upstream never opened this one
            super().on_close()
        self._release()

    def _release(self) -> None:
        if self._released or not hasattr(self, "_rtc"):
            return
        self._released = True
        self._rtc.liveness.discard(self)
        if self._counted:
            self._counted = False
            counts = self._rtc.room_connections
            counts[self.current_user.username] -= 1
            if counts[self.current_user.username] <= 0:
                del counts[self.current_user.username]
        room = self.room
        if room is not None:
            gone = self._rtc.room_awareness(room).release(self)
            if gone:
                removals = [(cid, clock, "null") for cid, clock in gone]
                self._rtc.awareness_batch(room).push(removals, skip=self)
        if self._presence_conn is not None:
            conn, self._presence_conn = self._presence_conn, None
            self._rtc.presence.disconnect(conn)
            self._rtc.emit_room_event("leave", conn.username, conn.room_id, conn.path)


def install_room_handler(web_app: Application) -> bool:
    """Serve collaboration rooms with :class:`RTCRoomHandler`.

    jupyter_server_ydoc registers ``YDocWebSocketHandler`` with no setting to
    replace it, and tornado dispatches to the first matching rule. We swap the
    target class of that rule (``tornado.routing.Rule.target``, public), so
    its URL pattern, position and keyword arguments stay as upstream made
    them. Pinned by ``tests/test_rooms.py::test_room_route_uses_rtc_handler``.
    The rooms' websocket server, found in the same rule, gets the
    synchronous document fan-out of :mod:`rtc_presence.fanout`, and upstream's
    session file is written when it changes (:mod:`rtc_presence.sessionfile`).
    """
    swapped = 0
    for router in (web_app.default_router, web_app.wildcard_router):
        swapped += _swap(router, YDocWebSocketHandler, RTCRoomHandler)
    if swapped:
        install_session_file_cache()
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
