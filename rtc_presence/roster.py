"""Who holds websockets on this server: the gate's record, by user name.

Each person's sockets are held weakly (a closed handler must not be kept alive by
the record) with the hub token of their last websocket, used only to re-check
*their* access. People whose sockets are all closed are dropped when the roster
has doubled since it was last pruned, so the record stays within twice the people
connected: without it, a server behind token authentication (every connection a
new anonymous user) grew by one entry per connection.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

from tornado.websocket import WebSocketHandler

#: Below this many people the roster is never pruned on the way in (cheap anyway).
PRUNE_FLOOR = 64


def is_open(sock: WebSocketHandler) -> bool:
    return sock.ws_connection is not None and not sock.ws_connection.is_closing()


def in_handshake(sock: WebSocketHandler) -> bool:
    """Authenticated, handshake not over yet (no connection, status not yet 101).

    A kernel websocket waits for its kernel in between (seconds under load).
    A refused or failed handshake has another status; a closed socket has 101.
    """
    return sock.ws_connection is None and sock.get_status() == 200


def is_live(sock: WebSocketHandler) -> bool:
    return is_open(sock) or in_handshake(sock)


@dataclass
class Person:
    sockets: weakref.WeakSet[WebSocketHandler] = field(default_factory=weakref.WeakSet)
    # The person's own hub token, kept only to re-check *their* access with
    # the hub (never used to act on their behalf).
    token: str | None = None

    def open_sockets(self) -> list[WebSocketHandler]:
        return [s for s in list(self.sockets) if is_open(s)]

    def close(self, code: int, reason: str) -> int:
        """Close every open socket with ``code``; returns how many."""
        socks = self.open_sockets()
        for sock in socks:
            sock.close(code, reason)
        return len(socks)


class SocketRoster:
    """Person records by user name (see the module docstring)."""

    def __init__(self) -> None:
        self._people: dict[str, Person] = {}
        self._pruned_size = 0

    def add(self, username: str, sock: WebSocketHandler) -> Person:
        person = self._people.get(username)
        if person is None:
            if len(self._people) >= max(PRUNE_FLOOR, 2 * self._pruned_size):
                self.prune()
            person = self._people[username] = Person()
        person.sockets.add(sock)
        return person

    def get(self, username: str) -> Person | None:
        return self._people.get(username)

    def pop(self, username: str) -> Person | None:
        return self._people.pop(username, None)

    def prune(self) -> None:
        """Forget the people with no open websocket and none in its handshake.

        One in its handshake must keep its record: a level change or a
        revocation meanwhile looks the person up here (``Gate.set_access``).
        """
        gone = [name for name, p in self._people.items() if not any(map(is_live, p.sockets))]
        for name in gone:
            del self._people[name]
        self._pruned_size = len(self._people)

    def connected(self) -> list[str]:
        """The people with a live websocket (the others are forgotten)."""
        self.prune()
        return list(self._people)

    def items(self) -> list[tuple[str, Person]]:
        return list(self._people.items())

    def __len__(self) -> int:
        return len(self._people)


__all__ = ["PRUNE_FLOOR", "Person", "SocketRoster", "in_handshake", "is_live", "is_open"]
