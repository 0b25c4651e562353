"""What each guest was granted here: access level and how long it lasts.

The hub holds the grant (the level and ``access_for`` scopes on the share);
this record holds what the server learnt and what the owner changed since:

- the level the owner set through this server (``PATCH guests/{name}``), which
  wins over the scopes of a token the hub issued before the change;
- when each guest was first admitted (the start of a time-boxed access) and
  the term their scopes carry;
- an explicit end the owner set (``access_expires_at``), or "no end".
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from .access import Access, duration_from_scopes, level_from_scopes


class Grants:
    """Levels and terms of the guests of one server (``"owner/name"``)."""

    def __init__(self, server: str, unscoped_access: Access) -> None:
        self.server = server
        self.unscoped_access: Access = unscoped_access
        self.set_levels: dict[str, Access] = {}
        """Levels the owner set on this server."""
        self.levels: dict[str, Access] = {}
        """The level each guest was last admitted with."""
        self.first_seen: dict[str, float] = {}
        self.terms: dict[str, int] = {}
        """``access_for`` seconds from each guest's scopes."""
        self.set_ends: dict[str, float | None] = {}
        """Ends the owner set (None: no end, whatever the scopes say)."""

    def admit(self, username: str, scopes: Iterable[str] | None) -> Access:
        """The level of ``username`` for a request whose token holds ``scopes``.

        ``scopes`` None: no hub (everyone the server lets in is at the
        unscoped level).
        """
        held = list(scopes or ())
        level = self.set_levels.get(username) or level_from_scopes(
            held, self.server, self.unscoped_access
        )
        assert level is not None
        self.levels[username] = level
        self.first_seen.setdefault(username, time.time())
        term = duration_from_scopes(held, self.server)
        if term is not None:
            self.terms[username] = term
        return level

    def level_of(self, username: str) -> Access:
        return self.set_levels.get(username) or self.levels.get(username) or self.unscoped_access

    def set_level(self, username: str, level: Access) -> bool:
        """Set the owner's choice; True when it changes the level in force."""
        before = self.level_of(username)
        self.set_levels[username] = level
        return before != level

    def ends_at(self, username: str) -> float | None:
        """Epoch seconds at which the guest's access ends, None for no end."""
        if username in self.set_ends:
            return self.set_ends[username]
        term = self.terms.get(username)
        start = self.first_seen.get(username)
        if term is None or start is None:
            return None
        return start + term

    def set_end(self, username: str, at: float | None) -> None:
        self.set_ends[username] = at

    def due(self, now: float | None = None) -> list[str]:
        """Guests whose access has ended by ``now``."""
        now = time.time() if now is None else now
        names = set(self.first_seen) | set(self.set_ends)
        return sorted(n for n in names if (end := self.ends_at(n)) is not None and end <= now)

    def forget(self, username: str) -> None:
        """Revoked: a new link starts afresh (the last level stays, for the lists)."""
        self.set_levels.pop(username, None)
        self.first_seen.pop(username, None)
        self.terms.pop(username, None)
        self.set_ends.pop(username, None)
