"""What a room's peers are told about awareness, coalesced when the room is busy.

Every awareness change reaches every client of the room, so a room of N
clients costs N writes per change: at 300 that is the server's time
(bench/README.md "Where the time goes"). Two kinds of traffic make it so, and
neither needs a frame of its own:

- **renewals**: y-protocols renews every tab's state once every 15 s with the
  same content and a higher clock, only to keep it from timing out after 30 s
  (300 viewers: 20 renewals a second, each to 300 clients);
- **bursts**: a class opening the link at once, or closing their tabs, changes
  the room's awareness hundreds of times a second.

So in a room of at least ``min_clients`` clients, :class:`AwarenessBatch`
keeps the latest entry of each client id (an awareness entry is a whole state,
so the latest wins) and sends them together:

- a change goes out at once when nothing was sent in the last ``interval``,
  otherwise with the next frame, at most ``interval`` later (a leading and
  trailing throttle: an idle room's cursors are not delayed at all);
- a renewal waits for the next change or for ``renewal_hold`` seconds,
  whichever comes first, far inside y-protocols' 30 s timeout.

Smaller rooms get every frame at once, as before. Each frame goes to every
client, the senders included (a y-websocket provider closes a socket that
received nothing for 30 s), and is applied to the room's own pycrdt
``Awareness``, as pycrdt-websocket's ``YRoom.serve`` does.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pycrdt import read_message

from .fanout import broadcast
from .frames import encode_awareness

#: (client id, clock, state JSON; "null" removes the client)
Entry = tuple[int, int, str]


@dataclass(frozen=True)
class BatchPolicy:
    """When a room's awareness is coalesced (the ``awareness_batch_*`` traitlets)."""

    min_clients: int = 30
    """Rooms with fewer clients send every awareness frame at once. 0: never batch."""
    interval: float = 0.05
    """Seconds between two awareness frames of a busy room, at least."""
    renewal_hold: float = 1.0
    """Seconds a busy room's renewal may wait for a change to ride along with."""

    def busy(self, clients: int) -> bool:
        return 0 < self.min_clients <= clients


class AwarenessBatch:
    """The awareness frames of one room (see the module docstring)."""

    def __init__(
        self, room: Any, policy: BatchPolicy, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._room = weakref.ref(room)
        self.policy = policy
        self._clock = clock
        self._pending: dict[int, tuple[int, str]] = {}
        # What peers were last told of each live client id. Not the room's
        # pycrdt Awareness: that one ignores a first state at clock 0.
        self._sent: dict[int, tuple[int, str]] = {}
        self._last_sent = float("-inf")
        self._timer: asyncio.TimerHandle | None = None
        self._due = float("inf")
        self.frames_sent = 0

    @property
    def pending(self) -> dict[int, tuple[int, str]]:
        """Client id -> (clock, state JSON) not yet sent."""
        return dict(self._pending)

    def snapshot(self, client_ids: list[int]) -> bytes | None:
        """An awareness frame with the latest states of ``client_ids``, pending ones
        included, for a client that just joined (it may not be among the room's
        clients yet when the pending frame goes out)."""
        entries: list[Entry] = []
        for cid in client_ids:
            latest = self._pending.get(cid) or self._sent.get(cid)
            if latest is not None and latest[1] != "null":
                entries.append((cid, latest[0], latest[1]))
        return encode_awareness(entries) if entries else None

    def push(self, entries: list[Entry], renewal: bool = False, skip: object = None) -> None:
        """Queue ``entries`` for the room's peers; ``renewal`` when none of them
        changes anything but the clock. ``skip`` (a connection that is leaving) is
        left out when the frame goes at once; later it is closed anyway."""
        room = self._room()
        if room is None or not entries:
            return
        pending = self._pending
        for cid, clock, state in entries:
            pending[cid] = (clock, state)
        if not self.policy.busy(len(room.clients)):
            self.flush(skip)
            return
        now = self._clock()
        if renewal:
            self._schedule(now + self.policy.renewal_hold)
            return
        ready = self._last_sent + self.policy.interval
        if now >= ready:
            self.flush()
        else:
            self._schedule(ready)

    def _schedule(self, when: float) -> None:
        if when >= self._due:
            return  # an earlier flush is already due
        if self._timer is not None:
            self._timer.cancel()
        self._due = when
        delay = max(0.0, when - self._clock())
        self._timer = asyncio.get_running_loop().call_later(delay, self.flush)

    def flush(self, skip: object = None) -> None:
        """Send what is pending now, in one frame, to every client but ``skip``."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._due = float("inf")
        room = self._room()
        if room is None or not self._pending:
            self._pending.clear()
            return
        entries = [(cid, clock, state) for cid, (clock, state) in self._pending.items()]
        self._pending.clear()
        sent = self._sent
        for cid, clock, state in entries:
            if state == "null":
                sent.pop(cid, None)
            else:
                sent[cid] = (clock, state)
        frame = encode_awareness(entries)
        self._last_sent = self._clock()
        self.frames_sent += 1
        broadcast(room, (frame,), skip)
        room.awareness.apply_awareness_update(read_message(frame[1:]), room)

    def close(self) -> None:
        """Stop the timer (the room is going away)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class AwarenessBatches:
    """One :class:`AwarenessBatch` per live room object (forgotten with the room)."""

    def __init__(self, policy: BatchPolicy) -> None:
        self.policy = policy
        self._batches: weakref.WeakKeyDictionary[Any, AwarenessBatch] = weakref.WeakKeyDictionary()

    def get(self, room: Any) -> AwarenessBatch:
        batch = self._batches.get(room)
        if batch is None:
            batch = self._batches[room] = AwarenessBatch(room, self.policy)
        return batch
