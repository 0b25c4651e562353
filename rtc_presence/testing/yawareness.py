"""What a test client knows of its room's awareness (Yjs' clock rule, no I/O).

:class:`AwarenessMirror` applies received awareness updates the way
y-protocols' ``applyAwarenessUpdate`` does (a higher clock wins; a removal at
the same clock removes a live state), keeps every received entry for
inspection, picks the clocks the client sends, and, when asked, removes
states not renewed in time (y-protocols' ``outdatedTimeout``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .ywire import decode_awareness_update

__all__ = ["AwarenessCallback", "AwarenessEntry", "AwarenessMirror", "AwarenessStates"]

AwarenessStates = dict[int, dict[str, Any] | None]
AwarenessCallback = Callable[["AwarenessEntry"], None]


class AwarenessEntry:
    """One (client id, clock, state) triple of a received awareness update."""

    __slots__ = ("applied", "client_id", "clock", "received_at", "state")

    def __init__(
        self,
        client_id: int,
        clock: int,
        state: dict[str, Any] | None,
        received_at: float,
        applied: bool,
    ) -> None:
        self.client_id = client_id
        self.clock = clock
        self.state = state
        self.received_at = received_at
        #: False when the entry was ignored by the Yjs clock rule (stale clock).
        self.applied = applied

    def __repr__(self) -> str:
        return (
            f"AwarenessEntry(client_id={self.client_id}, clock={self.clock}, "
            f"state={self.state!r}, applied={self.applied})"
        )


class AwarenessMirror:
    """A client's view of the room's awareness states."""

    def __init__(self, log_limit: int) -> None:
        #: Awareness states received from the server, by client id (None = removed).
        self.states: AwarenessStates = {}
        #: Last applied awareness clock per client id.
        self.clocks: dict[int, int] = {}
        #: ``time.monotonic()`` of the last applied awareness entry per client id.
        self.updated_at: dict[int, float] = {}
        #: Every awareness entry received, applied or not (bounded by ``log_limit``).
        self.log: list[AwarenessEntry] = []
        self.callbacks: list[AwarenessCallback] = []
        self._log_limit = log_limit
        self._sent: dict[int, int] = {}

    def apply(self, payload: bytes, received_at: float) -> bool:
        """Apply one received awareness update; True if a state changed."""
        changed = False
        for client_id, clock, state in decode_awareness_update(payload):
            current = self.clocks.get(client_id)
            applied = bool(
                current is None
                or current < clock
                or (current == clock and state is None and self.states.get(client_id) is not None)
            )
            if applied:
                self.clocks[client_id] = clock
                self.states[client_id] = state
                self.updated_at[client_id] = time.monotonic()
                changed = True
            entry = AwarenessEntry(client_id, clock, state, received_at, applied)
            if len(self.log) < self._log_limit:
                self.log.append(entry)
            for callback in self.callbacks:
                callback(entry)
        return changed

    def next_clock(self, client_id: int, clock: int | None = None) -> int:
        """The clock to send for ``client_id`` (given, or one more than any seen), noted."""
        if clock is None:
            clock = max(self._sent.get(client_id, -1), self.clocks.get(client_id, -1)) + 1
        self._sent[client_id] = max(clock, self._sent.get(client_id, -1))
        return clock

    def expire(self, own_id: int, timeout: float, now: float) -> bool:
        """Remove the remote states not renewed for ``timeout``; True if any was."""
        removed = False
        for client_id, updated_at in list(self.updated_at.items()):
            if (
                client_id != own_id
                and now - updated_at >= timeout
                and self.states.get(client_id) is not None
            ):
                self.states[client_id] = None
                removed = True
        return removed
