"""Admission and eviction: who may be on this server right now.

Every authenticated request passes :meth:`Gate.admit` (called from the
identity provider), which decides the person's role, refuses people the
owner revoked, and remembers every open websocket by person. Evicting a
person closes all of them at once (collaboration rooms, kernels, terminals,
events, the presence stream), drops the cached hub authorization so the next
request asks the hub again, and, for connections revoked elsewhere, a
revalidation loop re-checks connected guests against the hub.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from jupyter_server.auth.identity import User
from tornado import web
from tornado.websocket import WebSocketHandler

from .identity import Role, public_identity

CLOSE_REVOKED = 4403
REASON_REVOKED = "access revoked"

EvictionListener = Callable[[str, str, int], None]


@dataclass
class _Person:
    sockets: weakref.WeakSet[WebSocketHandler] = field(default_factory=weakref.WeakSet)
    # The person's own hub token, kept only to re-check *their* access with
    # the hub (never used to act on their behalf).
    token: str | None = None


class Gate:
    """The server's admission decisions and its record of who is connected."""

    def __init__(
        self,
        owner: str | None,
        log: logging.Logger,
        hub_auth: Any | None = None,
    ) -> None:
        self.owner = owner
        self.log = log
        self.hub_auth = hub_auth
        self.revoked: dict[str, float] = {}
        self.identities: dict[str, dict[str, Any]] = {}
        self.recheck_interval = 1.0
        self._rechecked: dict[int, float] = {}
        self._people: dict[str, _Person] = {}
        self._listeners: list[EvictionListener] = []

    # -- admission ---------------------------------------------------------

    def role_of(self, username: str) -> Role:
        if self.owner is None or username == self.owner:
            return "owner"
        return "guest"

    def admit(self, handler: web.RequestHandler, user: User) -> None:
        """Decide on ``user`` for this request; raise 403 for revoked people."""
        role = self.role_of(user.username)
        user.rtc_role = role  # type: ignore[attr-defined]
        if user.username not in self.identities or isinstance(handler, WebSocketHandler):
            # Remembered so offline people still show their names in the UI.
            self.identities[user.username] = public_identity(user, role)
        if role == "guest" and user.username in self.revoked:
            self.log.warning(
                "rtc-presence: refused %s on %s: access revoked by the owner",
                user.username,
                handler.request.path,
            )
            raise web.HTTPError(403, "Your access to this server was revoked by its owner.")
        if isinstance(handler, WebSocketHandler):
            person = self._people.setdefault(user.username, _Person())
            person.sockets.add(handler)
            if self.hub_auth is not None and role == "guest":
                person.token = self.hub_auth.get_token(handler) or person.token

    async def recheck_refused(self, handler: web.RequestHandler) -> User | None:
        """Ask the hub again, bypassing its cache, about a refused token.

        At most once per ``recheck_interval`` seconds per token, so a refused
        client cannot turn its requests into a flood of hub calls.
        """
        if self.hub_auth is None:
            return None
        # Only when the hub's own authentication path (its token, cookie and
        # XSRF rules) identified someone and just the scope check refused:
        # HubAuth leaves that model on the handler as ``_cached_hub_user``
        # (jupyterhub/services/auth.py, HubAuth._get_user). Credentials it
        # rejected, e.g. a cookie without X-XSRFToken, are never re-checked.
        # Pinned by tests/test_reliability_hub.py and tests/test_hub_sharing.py.
        if not getattr(handler, "_cached_hub_user", None):
            return None
        token = self.hub_auth.get_token(handler)
        if not token:
            return None
        now = time.monotonic()
        key = hash(token)
        if now - self._rechecked.get(key, -1e9) < self.recheck_interval:
            return None
        self._rechecked[key] = now
        if len(self._rechecked) > 10_000:
            self._rechecked.clear()
        try:
            model = await self.hub_auth.user_for_token(token, use_cache=False, sync=False)
        except Exception as exc:
            self.log.warning("rtc-presence: could not re-check a refused token: %s", exc)
            return None
        if not model or not self.hub_auth.check_scopes(self.hub_auth.access_scopes, model):
            return None
        from jupyterhub.singleuser.extension import JupyterHubUser

        self.forget_authorizations()
        self.log.info("rtc-presence: %s was given access again", model.get("name"))
        user: User = JupyterHubUser(model)
        return user

    def on_evicted(self, listener: EvictionListener) -> None:
        self._listeners.append(listener)

    # -- eviction ----------------------------------------------------------

    def connected_guests(self) -> list[str]:
        """Guests with an open websocket (people with none are forgotten here)."""
        gone = [name for name, p in self._people.items() if not any(map(_is_open, p.sockets))]
        for name in gone:
            del self._people[name]
        return [name for name in self._people if self.role_of(name) == "guest"]

    def is_online(self, username: str) -> bool:
        person = self._people.get(username)
        return person is not None and any(_is_open(s) for s in person.sockets)

    def evict(self, username: str, *, by: str, remember: bool = True) -> int:
        """Close every connection of ``username`` now; return how many closed.

        ``remember`` keeps refusing the person (until :meth:`allow`), which is
        what the owner's revoke means: an old invite link must not bring them
        back. The owner is never evicted.
        """
        if self.role_of(username) == "owner":
            raise ValueError("the owner of a server cannot be evicted from it")
        if remember:
            self.revoked[username] = time.time()
        self.forget_authorizations()
        person = self._people.pop(username, None)
        closed = 0
        if person is not None:
            for sock in list(person.sockets):
                if _is_open(sock):
                    sock.close(CLOSE_REVOKED, REASON_REVOKED)
                    closed += 1
        self.log.warning(
            "rtc-presence: evicted %s (%d connection(s) closed) by %s", username, closed, by
        )
        for listener in self._listeners:
            listener(username, by, closed)
        return closed

    def allow(self, username: str) -> bool:
        """Lift the refusal of a revoked person ("Allow again")."""
        # The hub's "no access" answer for them may be cached: ask again.
        self.forget_authorizations()
        return self.revoked.pop(username, None) is not None

    def forget_authorizations(self) -> None:
        """Drop cached hub answers so the next request is checked by the hub.

        The cache is keyed by token hash, not by user, so it is cleared whole:
        the cost is one hub round trip per active person.
        """
        if self.hub_auth is not None:
            self.hub_auth.cache.clear()

    # -- revalidation against the hub -------------------------------------

    async def revalidate(self) -> list[str]:
        """Re-check each connected guest with the hub; evict those refused."""
        if self.hub_auth is None:
            return []
        evicted = []
        for username in self.connected_guests():
            person = self._people.get(username)
            if person is None or not person.token:
                continue
            try:
                model = await self.hub_auth.user_for_token(
                    person.token, use_cache=False, sync=False
                )
            except Exception as exc:
                # The hub being down is not a revocation: keep people connected.
                self.log.warning("rtc-presence: could not re-check %s: %s", username, exc)
                continue
            allowed = bool(
                model
                and model.get("name") == username
                and self.hub_auth.check_scopes(self.hub_auth.access_scopes, model)
            )
            if not allowed:
                self.evict(username, by="hub", remember=False)
                evicted.append(username)
        return evicted


def _is_open(sock: WebSocketHandler) -> bool:
    return sock.ws_connection is not None and not sock.ws_connection.is_closing()


async def run_every(
    interval: float, job: Callable[[], Awaitable[Any]], log: logging.Logger
) -> None:
    """Run ``job`` every ``interval`` seconds until cancelled; log its errors."""
    while True:
        await asyncio.sleep(interval)
        try:
            await job()
        except Exception:
            log.exception("rtc-presence: periodic job failed")
