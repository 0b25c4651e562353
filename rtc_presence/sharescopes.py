"""The scopes of each guest's share of this server, read by the server itself.

JupyterHub 6 never puts a share's custom scopes into the guest's OAuth token for
the server: ``OAuthAuthorizeHandler`` resolves the scopes the server's client asks
for against the guest's *roles* only (jupyterhub/apihandlers/auth.py), and shares
are added at request time only to scopes the token already holds
(``scopes.get_scopes_for``). A guest's token model therefore never says their level
(pinned by ``tests/test_hub_levels.py``). The share does: :class:`ShareScopes`
reads ``GET /shares/{owner}/{server}`` with the server's own token, which
:func:`rtc_presence.hub.configure` gives ``read:shares!server`` (read-only).

A name the listing does not hold is either a person with access by a role or a
group (no share: the unscoped level) or somebody who accepted a link after the
listing was read. Only a listing read after their request arrived tells the two
apart (the hub creates the share before it lets them in), so until one has, they
get no level at all and the caller fails closed (the view level). Treating them
as unscoped instead gave "run" to four of every five students who accepted a
view link within a second of one another (``tests/test_hub_classroom.py``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from .access import scope
from .sharing import HubSharing, SharingError

__all__ = ["ShareScopes"]

#: Names remembered as having no share (their access is by a role or a group).
_ABSENT_LIMIT = 10_000


class ShareScopes:
    """One listing of the server's shares serves every guest (see the module docstring).

    The listing is read again when older than ``max_age`` seconds, and at once for a
    name it does not hold, unless a listing read since that name's last request
    (within ``max_age``) confirmed they have none. After a hub failure the last answer
    stands and the hub is asked again after ``min_interval`` seconds. Concurrent
    callers share one call when it started after they arrived.
    """

    def __init__(
        self,
        sharing: HubSharing,
        token: str,
        *,
        max_age: float = 5.0,
        min_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sharing = sharing
        self.token = token
        self.max_age = max_age
        self.min_interval = min_interval
        self.clock = clock
        self.shares: dict[str, list[str]] | None = None
        self.fetched_at: float | None = None
        """When the last listing that the hub answered was asked for."""
        self.retry_at: float | None = None
        self.calls = 0
        self._absent: dict[str, float] = {}
        self._inflight: asyncio.Future[None] | None = None
        self._inflight_started = 0.0

    async def of(self, username: str) -> list[str] | None:
        """The scopes of ``username``'s share; ``[]`` when they have none (access by a
        role or a group share); None when that is not known (the hub has not answered
        since they arrived): fail closed."""
        arrived = self.clock()
        if self._stale(username, arrived):
            await self.refresh(after=arrived)
        if self.shares is None:
            return None
        held = self.shares.get(username)
        if held is not None:
            return list(held)
        if self.fetched_at is not None and self.fetched_at >= arrived:
            self._remember_absent(username, self.fetched_at)
            return []
        absent_since = self._absent.get(username)
        if absent_since is not None and arrived - absent_since < self.max_age:
            return []
        return None

    async def complete(self, user: Any) -> None:
        """Add ``user``'s share scopes to the token model the gate reads.

        A new dict on ``user`` (HubAuth's cache keeps the hub's own answer). When their
        share is not known, the view level: fail closed, never ``unscoped_access``.
        """
        hub_user = getattr(user, "hub_user", None)
        if not isinstance(hub_user, dict):
            return
        held = await self.of(str(user.username))
        extra = held if held is not None else [self.sharing.target.filtered(scope("view"))]
        user.hub_user = {**hub_user, "scopes": [*(hub_user.get("scopes") or []), *extra]}

    def _stale(self, username: str, now: float) -> bool:
        if self.retry_at is not None and now < self.retry_at:
            return False  # the hub failed a moment ago
        if self.fetched_at is None or self.shares is None:
            return True
        if now - self.fetched_at >= self.max_age:
            return True
        if username in self.shares:
            return False
        absent_since = self._absent.get(username)
        return absent_since is None or now - absent_since >= self.max_age

    def _remember_absent(self, username: str, at: float) -> None:
        if len(self._absent) >= _ABSENT_LIMIT:
            horizon = at - self.max_age
            self._absent = {n: t for n, t in self._absent.items() if t >= horizon}
        if len(self._absent) < _ABSENT_LIMIT:
            self._absent[username] = at

    def invalidate(self) -> None:
        """The next lookup asks the hub (after a change this server made)."""
        self.fetched_at = None
        self.retry_at = None
        self._absent.clear()

    async def refresh(self, after: float | None = None) -> None:
        """Read the shares again; on a hub failure keep the last answer. With
        ``after``, a call already in flight is shared only if it started since then."""
        while self._inflight is not None:
            started = self._inflight_started
            await asyncio.shield(self._inflight)
            if after is None or started >= after:
                return
        started = self.clock()
        self._inflight = asyncio.get_running_loop().create_future()
        self._inflight_started = started
        try:
            self.calls += 1
            shares = await self.sharing.list_shares(self.token)
            self.shares = {
                str(user["name"]): list(share.get("scopes") or [])
                for share in shares
                if isinstance(user := share.get("user"), dict) and user.get("name")
            }
            self.fetched_at = started
            self.retry_at = None
        except SharingError:
            # The last answer stands (none yet: callers get None and fail closed);
            # the hub is asked again after min_interval, not on every request.
            self.retry_at = self.clock() + self.min_interval
        finally:
            self._inflight.set_result(None)
            self._inflight = None
