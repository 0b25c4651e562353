"""The gate: who may be on this server right now, and at what level.

Every authenticated request passes :meth:`Gate.admit` (called from the
identity provider), which decides the person's role and access level
(:mod:`rtc_presence.access`), refuses people the owner revoked (or whose
time-boxed access expired) and the server's own API token, notes when each
person last used the server, and remembers every websocket by person, also
one still in its handshake: it is checked again when it opens. Evicting a
person closes all of them at once (collaboration rooms, kernels, terminals, events, the presence
stream), drops the cached hub authorization so the next request asks the
hub again, and, for connections revoked elsewhere, a revalidation loop
re-checks connected guests against the hub. When the server stops, every
guest's websocket is closed with the same code and the reason
"server stopping" (:mod:`rtc_presence.stopping`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from jupyter_server.auth.identity import User
from tornado import web
from tornado.websocket import WebSocketHandler

from .access import REQUESTER, Access, Role, stamp
from .authorizer import refusal_message, request_allowed
from .closecodes import (
    REASON_ACCESS_CHANGED,
    REASON_EXPIRED,
    REASON_REVOKED,
    REASON_STOPPING,
    CloseCode,
)
from .grants import Grants
from .pages import AccessPage
from .presence import counts_as_activity
from .profiles import public_identity
from .recheck import HubRecheck
from .refusals import REFUSED, Attempts, RefusalLog, answer, answer_json, wants_page
from .revalidate import revalidate_guests
from .roster import SocketRoster, is_live
from .stopping import close_for_stop

EvictionListener = Callable[[str, str, int], None]


#: Identities remembered for people who left (names in the UI); the oldest go first.
MAX_IDENTITIES = 10_000


class Gate:
    """The server's admission decisions and its record of who is connected."""

    def __init__(
        self,
        owner: str | None,
        log: logging.Logger,
        hub_auth: Any | None = None,
        *,
        server_name: str = "",
        unscoped_access: Access = "run",
    ) -> None:
        self.owner = owner
        self.log = log
        self.hub_auth = hub_auth
        self.grants = Grants(f"{owner or ''}/{server_name}", unscoped_access)
        #: Revoked (or expired) people, refused whatever the hub says, with when.
        self.revoked: dict[str, float] = {}
        self.expired: set[str] = set()
        self.identities: dict[str, dict[str, Any]] = {}
        self.attempts = Attempts()
        self.refusals = RefusalLog(log)
        self.recheck = HubRecheck(hub_auth, log) if hub_auth is not None else None
        #: Called with the user name of each request that is a use of the
        #: server by a person (see :func:`~.presence.counts_as_activity`).
        self.on_request: Callable[[str], None] | None = None
        self.stopping = False
        self._people = SocketRoster()
        self._evicted_at: dict[str, float] = {}
        self._listeners: list[EvictionListener] = []
        self._level_listeners: list[Callable[[str, Access], None]] = []

    @property
    def recheck_interval(self) -> float:
        return self.recheck.interval if self.recheck is not None else 0.0

    @recheck_interval.setter
    def recheck_interval(self, seconds: float) -> None:
        if self.recheck is not None:
            self.recheck.interval = seconds

    # -- admission ---------------------------------------------------------

    def role_of(self, username: str) -> Role:
        if self.owner is None or username == self.owner:
            return "owner"
        return "guest"

    def access_of(self, username: str) -> Access:
        return "run" if self.role_of(username) == "owner" else self.grants.level_of(username)

    def admit(self, handler: web.RequestHandler, user: User) -> None:
        """Decide on ``user`` for this request; raise 403 for refused people."""
        username = user.username
        if self._is_server_token(handler):
            # $JUPYTERHUB_API_TOKEN is readable by every kernel and terminal
            # (and from /proc by anyone running code as the owner's account):
            # it must never be a person here, least of all the owner.
            self.refusals.refused(username, "the server's own API token", handler)
            raise web.HTTPError(403, "The server's own API token cannot be used on this server.")
        role = self.role_of(username)
        hub_user = getattr(user, "hub_user", None)
        scopes = hub_user.get("scopes") if isinstance(hub_user, dict) else None
        level: Access = "run" if role == "owner" else self.grants.admit(username, scopes)
        stamp(user, role, level)
        REQUESTER.set(username)
        is_socket = isinstance(handler, WebSocketHandler)
        if is_socket or username not in self.identities:
            self._remember(username, public_identity(user, role, level))
        if role == "guest" and username in self.revoked:
            page = self.refuse(handler, username, revoked=True)
            raise web.HTTPError(403, page.message)
        if isinstance(handler, WebSocketHandler):
            if role == "guest" and self.stopping:
                raise web.HTTPError(403, "This server is stopping.")
            person = self._people.add(username, handler)
            if role == "guest":
                self._check_at_open(handler, username, level)
                if self.hub_auth is not None:
                    person.token = self.hub_auth.get_token(handler) or person.token
        else:
            request = handler.request
            method = request.method or "GET"
            base = handler.settings.get("base_url", "/")
            path = request.path[len(base) :] if request.path.startswith(base) else request.path
            if role == "guest" and not request_allowed(level, method, path):
                message = refusal_message(level)
                answer_json(handler, message)
                self.refusals.refused(username, f"needs more than {level} access", handler)
                raise web.HTTPError(403, message)
            if self.on_request is not None and counts_as_activity(method, path):
                self.on_request(username)

    def _is_server_token(self, handler: web.RequestHandler) -> bool:
        if self.hub_auth is None:
            return False
        own = getattr(self.hub_auth, "api_token", None)
        return bool(own) and self.hub_auth.get_token(handler) == own

    def _check_at_open(self, handler: WebSocketHandler, username: str, level: Access) -> None:
        """Check ``username`` again when ``handler``'s websocket opens.

        A websocket is authenticated before its handshake ends, and a kernel
        websocket waits for its kernel first (seconds): a revocation in
        between would find no open socket to close. tornado calls
        ``handler.open`` when the handshake completes, for every websocket
        class (rooms, kernels, terminals, events, ours), so the instance's
        ``open`` is wrapped: a person refused meanwhile is closed at once.
        ``tests/test_gate.py`` pins it.
        """
        original = handler.open
        gate = self
        admitted = time.monotonic()

        def open_checked(*args: Any, **kwargs: Any) -> Any:
            evicted = gate._evicted_at.get(username, -1.0) >= admitted
            if evicted or username in gate.revoked or gate.stopping:
                reason = REASON_EXPIRED if username in gate.expired else REASON_REVOKED
                handler.close(CloseCode.REVOKED, REASON_STOPPING if gate.stopping else reason)
                return None
            if gate.access_of(username) != level:
                # The owner changed their level meanwhile: reconnect at the new one.
                handler.close(CloseCode.ACCESS_CHANGED, REASON_ACCESS_CHANGED)
                return None
            return original(*args, **kwargs)

        handler.open = open_checked

    def refuse(self, handler: web.RequestHandler, username: str, *, revoked: bool) -> AccessPage:
        """Answer, count and log one refused request of ``username``.

        ``revoked``: refused by this server's owner; otherwise the hub gives
        them no access. Counted as an attempt to come back when a revoked
        person opens a page.
        """
        page = AccessPage(
            revoked,
            self.owner_name(),
            self.owner or "",
            self.hub_home(),
            expired=revoked and username in self.expired,
        )
        if getattr(handler, REFUSED, False):
            return page  # this request was already answered and counted
        answer(handler, page)
        if revoked and wants_page(handler):
            self.attempts.record(username)
        why = "access revoked by the owner" if revoked else "the hub gives them no access"
        self.refusals.refused(username, why, handler)
        return page

    def refused_by_hub(self, handler: web.RequestHandler) -> None:
        """The hub identified this request's person but gives them no access here."""
        # HubAuth leaves the model it got on the handler as ``_cached_hub_user``
        # (jupyterhub/services/auth.py, HubAuth._get_user); None when it could
        # not identify anyone (no or expired session: the login flow follows).
        model = getattr(handler, "_cached_hub_user", None)
        name = model.get("name") if isinstance(model, dict) else None
        if name:
            revoked = self.role_of(name) == "guest" and name in self.revoked
            self.refuse(handler, str(name), revoked=revoked)

    async def recheck_refused(self, handler: web.RequestHandler) -> User | None:
        """Ask the hub again, bypassing its cache, about a refused request.

        The hub's "no access" answers are cached by HubAuth for minutes;
        someone who was just given access again (a link accepted after
        "Allow again") gets in at once. Nobody the owner revoked here is
        re-checked: the gate refuses them whatever the hub says.
        """
        if self.recheck is None:
            return None
        model = getattr(handler, "_cached_hub_user", None)
        if isinstance(model, dict) and model.get("name") in self.revoked:
            return None
        user = await self.recheck.admit_again(handler)
        if user is not None:
            self.forget_authorizations()
            self.log.info("rtc-presence: %s was given access again", user.username)
        return user

    def on_evicted(self, listener: EvictionListener) -> None:
        self._listeners.append(listener)

    def owner_name(self) -> str:
        """The owner's display name, as far as this server has seen it."""
        if self.owner is None:
            return "The owner"
        known = self.identities.get(self.owner) or {}
        return str(known.get("display_name") or self.owner)

    def hub_home(self) -> str | None:
        if self.hub_auth is None:
            return None
        prefix = str(getattr(self.hub_auth, "hub_prefix", "/hub/") or "/hub/")
        return str(getattr(self.hub_auth, "hub_host", "") or "") + prefix.rstrip("/") + "/home"

    # -- eviction ----------------------------------------------------------

    def connected_guests(self) -> list[str]:
        """Guests with a websocket open or in its handshake (the rest are forgotten)."""
        return [name for name in self._people.connected() if self.role_of(name) == "guest"]

    def is_known_socket(self, username: str) -> bool:
        """Whether ``username`` has a websocket admitted (open or in its handshake)."""
        person = self._people.get(username)
        return person is not None and any(map(is_live, person.sockets))

    def is_online(self, username: str) -> bool:
        person = self._people.get(username)
        return person is not None and bool(person.open_sockets())

    def evict(self, username: str, *, by: str, remember: bool = True, expired: bool = False) -> int:
        """Close every connection of ``username`` now; return how many closed.

        ``remember`` keeps refusing the person (until :meth:`allow`), which is
        what the owner's revoke means: an old invite link must not bring them
        back. ``expired``: their time-boxed access ended (said so in the close
        reason and the access-ended page). The owner is never evicted.
        """
        if self.role_of(username) == "owner":
            raise ValueError("the owner of a server cannot be evicted from it")
        if remember:
            self.revoked[username] = time.time()
            self.attempts.reset(username)
            self.grants.forget(username)
        if expired:
            self.expired.add(username)
        else:
            self.expired.discard(username)
        self._evicted_at[username] = time.monotonic()
        self.forget_authorizations()
        reason = REASON_EXPIRED if expired else REASON_REVOKED
        person = self._people.pop(username)
        closed = person.close(CloseCode.REVOKED, reason) if person is not None else 0
        self.log.warning(
            "rtc-presence: evicted %s (%d connection(s) closed) by %s", username, closed, by
        )
        for listener in self._listeners:
            listener(username, by, closed)
        return closed

    def set_access(self, username: str, level: Access) -> int:
        """The owner changed ``username``'s level: reconnect their sockets at it.

        Every open websocket of theirs closes with 4409 ("access changed"); the
        clients reconnect and are admitted at the new level (kernel and
        terminal websockets are then refused below ``run``). Returns how many
        closed.
        """
        if self.role_of(username) == "owner":
            raise ValueError("the owner of a server always has every access")
        if not self.grants.set_level(username, level):
            return 0
        self.forget_authorizations()
        person = self._people.get(username)
        closed = person.close(CloseCode.ACCESS_CHANGED, REASON_ACCESS_CHANGED) if person else 0
        self.log.info("rtc-presence: %s's access is now %s (%d reconnect)", username, level, closed)
        for listener in self._level_listeners:
            listener(username, level)
        return closed

    def on_access_changed(self, listener: Callable[[str, Access], None]) -> None:
        self._level_listeners.append(listener)

    def expire_due(self) -> list[str]:
        """Evict the guests whose time-boxed access ended (periodic)."""
        due = [name for name in self.grants.due() if name not in self.revoked]
        for name in due:
            self.evict(name, by="expiry", expired=True)
        return due

    def allow(self, username: str) -> bool:
        """Lift the refusal of a revoked person ("Allow again")."""
        # The hub's "no access" answer for them may be cached: ask again.
        self.forget_authorizations()
        self.attempts.forget(username)
        self.expired.discard(username)
        return self.revoked.pop(username, None) is not None

    def forget_authorizations(self) -> None:
        """Drop cached hub answers so the next request is checked by the hub.

        The cache is keyed by token hash, not by user, so it is cleared whole:
        the cost is one hub round trip per active person.
        """
        if self.hub_auth is not None:
            self.hub_auth.cache.clear()

    async def shutdown(self, timeout: float = 1.0) -> int:
        """The server is stopping: refuse guests' new websockets and close their
        open ones (:func:`~.stopping.close_for_stop`); returns how many closed."""
        self.stopping = True
        return await close_for_stop(self.guest_sockets(), self.log, timeout)

    def guest_sockets(self) -> list[WebSocketHandler]:
        """Every open websocket of every guest."""
        return [
            sock
            for name, person in self._people.items()
            if self.role_of(name) == "guest"
            for sock in person.open_sockets()
        ]

    def _remember(self, username: str, identity: dict[str, Any]) -> None:
        """Keep ``identity`` so offline people still show their names in the UI;
        bounded (a token-authenticated server sees a new anonymous user per
        connection), the least recently seen go first, never the owner."""
        self.identities.pop(username, None)
        self.identities[username] = identity
        if len(self.identities) > MAX_IDENTITIES:
            oldest = next(n for n in self.identities if n != self.owner)
            del self.identities[oldest]

    # -- revalidation against the hub -------------------------------------

    async def revalidate(self) -> list[str]:
        """Re-check each connected guest with the hub (:mod:`rtc_presence.revalidate`)."""
        return await revalidate_guests(self)

    def guest_token(self, username: str) -> str | None:
        """The hub token of ``username``'s last websocket (to re-check *them*)."""
        person = self._people.get(username)
        return person.token if person is not None else None
