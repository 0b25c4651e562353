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


@dataclass
class _Claim:
    """One client id owned by one connection."""

    conn: object
    person: str
    offset: int = 0
    """Added to the client's clocks so they stay above what peers last saw."""
    clock: int = -1
    """Last clock forwarded to peers (after the offset)."""
    live: bool = False
    """Whether the last forwarded state was not a removal."""


_FLOOR_LIMIT = 10_000


class RoomAwareness:
    """Ownership of awareness client ids in one room."""

    def __init__(self, server_client_id: int | None = None) -> None:
        self._claims: dict[int, _Claim] = {}
        self._seen: dict[int, _Seen] = {}
        # Clocks of removals we broadcast for released ids: a client that
        # comes back with the same id must be lifted above them, or peers
        # ignore its state (the Yjs clock rule).
        self._floors: dict[int, int] = {}
        if server_client_id is not None:
            self._claims[server_client_id] = _Claim(_SERVER, "")

    def owners(self) -> dict[int, object]:
        """Client id -> owning connection (the server's own id included)."""
        return {cid: claim.conn for cid, claim in self._claims.items()}

    def cached_ids(self) -> set[int]:
        """Client ids whose last rewritten state is cached."""
        return set(self._seen)

    def owner_of(self, client_id: int) -> object | None:
        claim = self._claims.get(client_id)
        return None if claim is None else claim.conn

    def filter(
        self, conn: object, user_json: str, frame: bytes, person: str = ""
    ) -> AwarenessVerdict:
        """Apply the rules to ``frame`` sent by ``conn`` of ``person``.

        Raises MalformedFrame. A person may take over their *own* client id
        from another of their connections (a browser reconnecting while the
        old socket is still half-open); nobody may take another person's.
        """
        entries = parse_awareness(frame)
        kept: list[tuple[int, int, str]] = []
        verdict = AwarenessVerdict(frame=None)
        for entry in entries:
            cid = entry.client_id
            claim = self._claims.get(cid)
            if claim is None:
                if entry.is_removal:
                    # Nobody's state: nothing to remove, and removing is no claim.
                    verdict.dropped += 1
                    continue
                floor = self._floors.pop(cid, -1)
                claim = self._claims[cid] = _Claim(conn, person, max(0, floor + 1 - entry.clock))
            elif claim.conn is not conn:
                if not person or claim.person != person:
                    verdict.dropped += 1
                    continue
                claim.conn = conn
                claim.offset = max(0, claim.clock + 1 - entry.clock)
            state_json = self._rewrite(entry, user_json, verdict)
            claim.clock = max(claim.clock + 1, entry.clock + claim.offset)
            claim.live = state_json != "null"
            kept.append((cid, claim.clock, state_json))
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
            return seen.rewritten
        state = decode_state(entry)
        assert state is not None
        state.pop("user", None)
        body = json.dumps(state, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        # Splice the pre-serialised identity in rather than re-encoding it.
        head = '{"user":' + user_json
        rewritten = head + "}" if body == "{}" else head + "," + body[1:]
        self._seen[entry.client_id] = _Seen(entry.state_json, rewritten)
        verdict.changed_states.append(state)
        return rewritten

    def release(self, conn: object) -> list[tuple[int, int]]:
        """Forget ``conn``'s client ids.

        Returns (client id, removal clock) for each of its ids whose last
        state was not a removal: what others must be told is gone.
        """
        gone = []
        for cid in [cid for cid, claim in self._claims.items() if claim.conn is conn]:
            claim = self._claims.pop(cid)
            self._seen.pop(cid, None)
            if claim.live:
                gone.append((cid, claim.clock + 1))
            if len(self._floors) >= _FLOOR_LIMIT:
                self._floors.clear()
            self._floors[cid] = claim.clock + 1
        return gone


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
