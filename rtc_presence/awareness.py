"""Server-enforced truth in the Yjs awareness state of a room.

Rules, for every collaboration room (the global awareness room included):

* a client id belongs to the connection that first used it; entries for a
  client id owned by another connection (or by the server) are dropped;
* the ``user`` field of every forwarded state is the server's identity of the
  sending connection, whatever the client wrote; other fields pass unchanged;
* removals (null states) are accepted only for the sender's own client ids;
* when a connection goes away, its states are removed and the removal is
  broadcast at once.

The per-message work is one pass over the entries of the frame; a state
identical to the previous one from the same client (the 15 s keep-alive
renewals) reuses the previous rewrite.
"""

from __future__ import annotations

import json
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from .frames import AwarenessEntry, decode_state, encode_awareness, parse_awareness

_SERVER = object()  # owner of the room's own awareness client id


@dataclass
class AwarenessVerdict:
    """What to do with one awareness frame from one connection."""

    frame: bytes | None
    """The frame to forward (rewritten), or None when nothing is left."""
    changed_states: list[dict[str, Any] | None] = field(default_factory=list)
    """Sender's states that differ from what it sent before (activity)."""
    dropped: int = 0


@dataclass
class _Seen:
    raw: str
    rewritten: str
    clock: int


class RoomAwareness:
    """Ownership of awareness client ids in one room."""

    def __init__(self, server_client_id: int | None = None) -> None:
        self._owners: dict[int, object] = {}
        self._seen: dict[int, _Seen] = {}
        if server_client_id is not None:
            self._owners[server_client_id] = _SERVER

    def owner_of(self, client_id: int) -> object | None:
        return self._owners.get(client_id)

    def filter(self, conn: object, user_json: str, frame: bytes) -> AwarenessVerdict:
        """Apply the rules to ``frame`` sent by ``conn`` (raises MalformedFrame)."""
        entries = parse_awareness(frame)
        kept: list[tuple[int, int, str]] = []
        verdict = AwarenessVerdict(frame=None)
        for entry in entries:
            owner = self._owners.get(entry.client_id)
            if owner is None:
                if entry.is_removal:
                    # Nobody's state: nothing to remove, and removing is no claim.
                    verdict.dropped += 1
                    continue
                self._owners[entry.client_id] = owner = conn
            if owner is not conn:
                verdict.dropped += 1
                continue
            kept.append((entry.client_id, entry.clock, self._rewrite(entry, user_json, verdict)))
        if kept:
            verdict.frame = encode_awareness(kept)
        return verdict

    def _rewrite(self, entry: AwarenessEntry, user_json: str, verdict: AwarenessVerdict) -> str:
        if entry.is_removal:
            self._seen.pop(entry.client_id, None)
            verdict.changed_states.append(None)
            return "null"
        seen = self._seen.get(entry.client_id)
        if seen is not None and seen.raw == entry.state_json:
            seen.clock = entry.clock
            return seen.rewritten
        state = decode_state(entry)
        assert state is not None
        state.pop("user", None)
        body = json.dumps(state, separators=(",", ":"), ensure_ascii=False)
        # Splice the pre-serialised identity in rather than re-encoding it.
        rewritten = (
            '{"user":' + user_json + "}"
            if body == "{}"
            else '{"user":' + user_json + "," + body[1:]
        )
        self._seen[entry.client_id] = _Seen(entry.state_json, rewritten, entry.clock)
        verdict.changed_states.append(state)
        return rewritten

    def release(self, conn: object) -> list[tuple[int, int]]:
        """Forget ``conn``'s client ids.

        Returns (client id, next clock) for each of its ids whose last state
        was not a removal: what others must be told is gone.
        """
        live = []
        for cid in [cid for cid, owner in self._owners.items() if owner is conn]:
            del self._owners[cid]
            seen = self._seen.pop(cid, None)
            if seen is not None:
                live.append((cid, seen.clock + 1))
        return live


def removal_frame(client_ids_and_clocks: list[tuple[int, int]]) -> bytes:
    """An awareness frame that removes the given clients (clock already bumped)."""
    return encode_awareness([(cid, clock, "null") for cid, clock in client_ids_and_clocks])


class TokenBucket:
    """Per-connection rate limit for awareness updates."""

    __slots__ = ("_last", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._last = time.monotonic()

    def take(self) -> bool:
        if self.rate <= 0:
            return True
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class RoomAwarenessMap:
    """One :class:`RoomAwareness` per live room object (forgotten with the room)."""

    def __init__(self) -> None:
        self._guards: weakref.WeakKeyDictionary[Any, RoomAwareness] = weakref.WeakKeyDictionary()

    def get(self, room: Any) -> RoomAwareness:
        guard = self._guards.get(room)
        if guard is None:
            guard = self._guards[room] = RoomAwareness(room.awareness.client_id)
        return guard
