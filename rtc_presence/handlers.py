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

from .access import user_access, user_role
from .presence import iso
from .profiles import public_identity
from .sharing import HubSharing, SharingError, invite_model
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
        self.write_message(json.dumps(message))

    def on_message(self, message: str | bytes) -> None:
        """Clients have nothing to say on this stream; ignored."""

    def on_close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.rtc.streams.discard(self)


class OwnerHandler(RTCAPIHandler):
    """Base class of the owner's sharing API (403 for everyone else)."""

    def owner_token(self) -> tuple[HubSharing, str]:
        if self.role() != "owner":
            raise web.HTTPError(403, "Only the owner of this server can manage who has access.")
        sharing = self.rtc.sharing
        if sharing is None:
            raise web.HTTPError(
                501, "Sharing needs JupyterHub: this server is not running under a hub."
            )
        token = self.rtc.caller_token(self)
        if not token:
            raise web.HTTPError(401, "No hub session found. Reload the page to sign in again.")
        return sharing, token

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, SharingError):
            self.set_status(exc.status)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"message": exc.message}))
            return
        super().write_error(status_code, **kwargs)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, SharingError):
            self.log.warning(
                "rtc-presence: %s %s: %s", self.request.method, self.request.path, value
            )
            return
        super().log_exception(typ, value, tb)


class InvitesHandler(OwnerHandler):
    """Invite links: list, create, revoke all."""

    @web.authenticated
    async def get(self) -> None:
        sharing, token = self.owner_token()
        codes = await sharing.list_codes(token)
        self.send({"invites": [invite_model(code) for code in codes]})

    @web.authenticated
    async def post(self) -> None:
        sharing, token = self.owner_token()
        cfg = self.rtc.settings
        body = self.json_body()
        expires_in = body.get("expires_in", cfg.invite_lifetime)
        if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
            raise web.HTTPError(400, "expires_in must be a number of seconds.")
        if not cfg.invite_lifetime_min <= expires_in <= cfg.invite_lifetime_max:
            raise web.HTTPError(
                400,
                f"expires_in must be between {cfg.invite_lifetime_min} and "
                f"{cfg.invite_lifetime_max} seconds.",
            )
        code = await sharing.create_code(token, int(expires_in))
        base = f"{self.request.protocol}://{self.request.host}"
        self.rtc.notify_access()
        self.send(invite_model(code, base), status=201)

    @web.authenticated
    async def delete(self) -> None:
        sharing, token = self.owner_token()
        await sharing.delete_all_codes(token)
        self.rtc.notify_access()
        self.set_status(204)
        self.finish()


class InviteHandler(OwnerHandler):
    """One invite link: revoke."""

    @web.authenticated
    async def delete(self, code_id: str) -> None:
        sharing, token = self.owner_token()
        if not code_id.startswith("sc_") or not code_id[3:].isdigit():
            raise web.HTTPError(400, "Unknown invite link id.")
        await sharing.delete_code(token, code_id)
        self.rtc.notify_access()
        self.set_status(204)
        self.finish()


class GuestsHandler(OwnerHandler):
    """People with access: list, revoke all."""

    @web.authenticated
    async def get(self) -> None:
        sharing, token = self.owner_token()
        rtc = self.rtc
        shares = await sharing.list_shares(token)
        guests = []
        for share in shares:
            user = share.get("user") or {}
            name = user.get("name")
            if not name:
                continue  # group shares are listed by the hub admin UI, not here
            if name in rtc.gate.revoked:
                # Came back through a still-active link: the server refuses
                # them, and the hub is told again with the owner's own token.
                await sharing.revoke_user(token, name)
                continue
            guests.append(
                {
                    **rtc.identity_of(name),
                    "accepted_at": share.get("created_at"),
                    "online": rtc.gate.is_online(name),
                }
            )
        revoked = []
        for name, ts in sorted(rtc.gate.revoked.items(), key=lambda kv: kv[1]):
            attempts, last_attempt = rtc.gate.attempts.of(name)
            revoked.append(
                {
                    **rtc.identity_of(name),
                    "revoked_at": iso(ts),
                    "last_attempt_at": iso(last_attempt),
                    "attempts": attempts,
                }
            )
        self.send({"guests": guests, "revoked": revoked})

    @web.authenticated
    async def delete(self) -> None:
        sharing, token = self.owner_token()
        rtc = self.rtc
        names = {
            (share.get("user") or {}).get("name") for share in await sharing.list_shares(token)
        }
        names.discard(None)
        names.update(rtc.gate.connected_guests())
        names.discard(rtc.gate.owner)
        closed = sum(rtc.gate.evict(str(name), by=self.current_user.username) for name in names)
        await sharing.revoke_all(token)
        rtc.notify_access()
        self.send({"revoked": sorted(str(n) for n in names), "closed_connections": closed})


class GuestHandler(OwnerHandler):
    """One person: revoke (and keep refusing them until allowed again)."""

    @web.authenticated
    async def delete(self, username: str) -> None:
        sharing, token = self.owner_token()
        rtc = self.rtc
        if rtc.gate.role_of(username) == "owner":
            raise web.HTTPError(400, "You cannot revoke yourself from your own server.")
        # Cut off first (this server), then tell the hub: the person is out
        # even if the hub call fails, and the error says so.
        closed = rtc.gate.evict(username, by=self.current_user.username)
        rtc.notify_access()
        try:
            await sharing.revoke_user(token, username)
        except SharingError as exc:
            raise SharingError(
                exc.status,
                f"{username} was disconnected and is refused by this server, "
                f"but the hub could not be told: {exc.message}",
            ) from None
        self.send({"username": username, "closed_connections": closed})


class GuestAllowHandler(OwnerHandler):
    """ "Allow again": lift this server's refusal of a revoked person."""

    @web.authenticated
    def post(self, username: str) -> None:
        self.owner_token()
        if not self.rtc.gate.allow(username):
            raise web.HTTPError(404, f"{username} is not in the revoked list.")
        self.rtc.notify_access()
        self.set_status(204)
        self.finish()


_USER = r"(?P<username>[^/]+)"

HANDLERS: list[tuple[str, type]] = [
    (r"/api/rtc-presence/info", InfoHandler),
    (r"/api/rtc-presence/presence", PresenceHandler),
    (r"/api/rtc-presence/presence/stream", PresenceStreamHandler),
    (r"/api/rtc-presence/invites", InvitesHandler),
    (r"/api/rtc-presence/invites/(?P<code_id>[^/]+)", InviteHandler),
    (r"/api/rtc-presence/guests", GuestsHandler),
    (rf"/api/rtc-presence/guests/{_USER}", GuestHandler),
    (rf"/api/rtc-presence/guests/{_USER}/allow", GuestAllowHandler),
]
