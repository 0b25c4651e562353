"""REST and websocket handlers of ``/api/rtc-presence/...``.

Every answer is JSON; every error is an HTTP status with a JSON ``message``
(jupyter_server's ``APIHandler.write_error``). See "API reference" in the README.
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado import web
from tornado.websocket import WebSocketHandler

from .access import DESCRIPTIONS, LEVELS, user_access, user_role
from .activitylog import sees_activity
from .profiles import public_identity
from .state import RTCStateMixin

MAX_BODY = 4096


class RTCAPIHandler(RTCStateMixin, APIHandler):
    """Base class: authenticated users of this server; JSON in and out."""

    async def prepare(self) -> None:  # type: ignore[override]  # upstream's own override
        if len(self.request.body or b"") > MAX_BODY:
            raise web.HTTPError(413, f"Request body larger than {MAX_BODY} bytes.")
        await super().prepare()

    def role(self) -> str:
        return user_role(self.current_user)

    def me(self) -> dict[str, Any]:
        user = self.current_user
        return public_identity(user, user_role(user), user_access(user))

    def json_body(self) -> dict[str, Any]:
        if not self.request.body:
            return {}
        try:
            data = json.loads(self.request.body)
        except ValueError:
            raise web.HTTPError(400, "The request body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise web.HTTPError(400, "The request body must be a JSON object.")
        return data

    def send(self, model: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(model))


class InfoHandler(RTCAPIHandler):
    """Who owns this server, who am I, and can sharing be used."""

    @web.authenticated
    def get(self) -> None:
        rtc = self.rtc
        owner = rtc.owner_identity()
        self.send(
            {
                "owner": owner,
                "owner_display_name": owner.get("display_name") if owner else None,
                "me": self.me(),
                "hub": rtc.sharing is not None,
                "sharing": {
                    "available": rtc.sharing is not None,
                    "reason": None
                    if rtc.sharing is not None
                    else "Sharing needs JupyterHub: this server is not running under a hub.",
                },
                "levels": [
                    {"access": level, "description": DESCRIPTIONS[level]} for level in LEVELS
                ],
                "invite_lifetime": {
                    "default": rtc.settings.invite_lifetime,
                    "min": rtc.settings.invite_lifetime_min,
                    "max": rtc.settings.invite_lifetime_max,
                },
            }
        )


class PresenceHandler(RTCAPIHandler):
    """The live presence list: one entry per person."""

    @web.authenticated
    def get(self) -> None:
        self.send({"people": self.rtc.presence.people()})


class PresenceStreamHandler(RTCStateMixin, WebSocketMixin, WebSocketHandler, JupyterHandler):
    """Websocket: a presence snapshot, then every change; the client sends nothing."""

    _unsubscribe: Any = None

    @property
    def max_message_size(self) -> int:
        # Clients have nothing to say here; bound what a client can make us buffer.
        return 4096

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        await super().get(*args, **kwargs)

    def open(self, *args: Any, **kwargs: Any) -> None:
        rtc = self.rtc
        self.set_nodelay(True)
        self.write_message(json.dumps({"type": "snapshot", "people": rtc.presence.people()}))
        self._unsubscribe = rtc.presence.subscribe(self._send)
        rtc.streams.add(self)
        rtc.start()

    def _send(self, message: dict[str, Any]) -> None:
        if self.ws_connection is None or self.ws_connection.is_closing():
            return
        activity = message.get("type") == "activity"
        if activity and not sees_activity(self.settings, self.current_user):
            return
        self.write_message(json.dumps(message))

    def on_message(self, message: str | bytes) -> None:
        """Clients have nothing to say on this stream; ignored."""

    def on_close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.rtc.streams.discard(self)
