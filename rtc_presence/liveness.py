"""Is this peer alive? Pings for every room connection and the sweep of silent ones.

One periodic job pings the open room connections (instead of tornado's
one task and timer per connection, measurable when hundreds of clients
connect at once), a slice of them per tick so that each is pinged once per
interval but a room of 300 does not get 300 pings, and then 300 pongs to
read, in the same millisecond, in front of whatever arrives then (a join, a
keystroke). A slice holds up to :data:`SLICE_PEERS` connections and empty
slices are skipped, so a small room costs one wake-up per interval, not ten
(each wake-up of the server's loop is CPU whether or not it pings anyone).
Another job closes the connections whose peer has not answered for
``silence`` seconds. Tornado's own ping timeout stays off on
room connections because it only runs the handler's ``on_close`` after a
further 5 s closing handshake with the dead peer.
"""

from __future__ import annotations

import time
import weakref
from typing import Protocol

from .closecodes import CloseCode

#: Ticks per ping interval at most; each pings the connections of one slice.
PING_SLICES = 10
#: Connections a slice takes before the next one is used (all slices full:
#: the emptiest), so the pongs of one tick stay few.
SLICE_PEERS = 30


class Peer(Protocol):
    """What liveness needs of a connection (the room handler implements it)."""

    @property
    def last_pong(self) -> float:
        """``time.monotonic()`` of the last pong (or of the opening)."""
        ...

    @property
    def released(self) -> bool:
        """Whether the connection is closed or closing."""
        ...

    def send_ping(self) -> bool:
        """Ping the peer; False when the connection can no longer be written."""
        ...

    def drop(self, code: int, reason: str) -> None:
        """Close the connection from the server's side."""
        ...


class RoomLiveness:
    """The live room connections, their pings and the sweep of silent peers.

    A sweep that comes more than one interval late means the event loop
    itself was stalled (load, a long document load): pongs may then sit
    unread in the sockets, so that sweep judges nobody and the next one, on
    time, does.
    """

    def __init__(self, silence: float, interval: float, slices: int = PING_SLICES) -> None:
        self.silence = silence
        self.interval = interval
        self.slices = max(1, slices)
        self.peers: weakref.WeakSet[Peer] = weakref.WeakSet()
        # A peer keeps its slice, so it is pinged exactly every ``slices`` ticks.
        self._slices: list[weakref.WeakSet[Peer]] = [weakref.WeakSet() for _ in range(self.slices)]
        self._tick = 0
        self._last_sweep: float | None = None

    def add(self, peer: Peer) -> None:
        if peer not in self.peers:
            self.peers.add(peer)
            room = [s for s in self._slices if len(s) < SLICE_PEERS]
            # The first with room keeps small rooms in one slice; when all are
            # full, the emptiest keeps them balanced.
            (room[0] if room else min(self._slices, key=len)).add(peer)

    def discard(self, peer: Peer) -> None:
        self.peers.discard(peer)
        for members in self._slices:
            members.discard(peer)

    def ping_all(self) -> int:
        """Ping every open connection; return how many were pinged."""
        return _ping(self.peers)

    def ping_slice(self) -> int:
        """Ping the next slice of the connections (run ``slices`` times per interval)."""
        members = self._slices[self._tick]
        self._tick = (self._tick + 1) % self.slices
        return _ping(members)

    def ping_due(self) -> float:
        """Ping the slice that is due and return the seconds until the next slice
        with connections is (at most one interval: a newcomer's slice is one of
        those passed then). Each slice is pinged once per interval."""
        self.ping_slice()
        step = 1
        while step < self.slices and not self._slices[self._tick]:
            self._tick = (self._tick + 1) % self.slices
            step += 1
        return step * self.interval / self.slices

    def sweep(self, now: float | None = None) -> int:
        """Close connections silent for longer than ``silence``; return how many."""
        now = time.monotonic() if now is None else now
        stalled = self._last_sweep is not None and now - self._last_sweep > 2 * self.interval
        self._last_sweep = now
        if stalled:
            return 0
        dead = [p for p in list(self.peers) if not p.released and now - p.last_pong > self.silence]
        for peer in dead:
            peer.drop(CloseCode.PING_TIMEOUT, "ping timed out")
        return len(dead)


def _ping(peers: weakref.WeakSet[Peer]) -> int:
    return sum(1 for peer in list(peers) if not peer.released and peer.send_ping())
