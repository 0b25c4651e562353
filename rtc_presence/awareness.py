"""Server-enforced truth in the Yjs awareness state of a room.

Rules, for every collaboration room (the global awareness room included):

* a client id belongs to the connection that first announced it; a person
  may take their own id over from another of their connections (a browser
  that reconnects while its old socket is half-open), on the new
  connection's first message only;
* the ``user`` field of every forwarded state is the server's identity of the
  sending connection, whatever the client wrote; other fields pass unchanged;
* clocks are never changed: what a client sends is forwarded with its own
  clock, and when a connection goes away its states are removed for the
  others at once, with their last clock (as y-websocket's server does);
* a released id stays reserved for its person for a grace period.

Why clocks are never changed: the stock browser client (y-protocols'
``Awareness`` behind y-websocket's provider) takes any entry whose clock is
higher than the one it knows, *its own id included*, and its provider sends
every changed entry straight back to the server, remote ones included. A
server that lifts a clock therefore makes the browser adopt the lifted
clock and send it back, to be lifted again: the awareness storm of
issue 11, with clocks past 100 million. Echoes are the normal case, not
forgeries: an entry for somebody else's id with a clock the server already
forwarded is dropped silently.

When a client comes back with an id whose removal its peers have seen (a
reconnect after a stall, a server restart), its own clock may not be above
what they know. Instead of lifting it, the server *nudges* the client: it
sends the sender alone a removal of its own id at the highest clock peers
may know. y-protocols refuses to remove its own live state and answers by
announcing itself with that clock plus one, which the server forwards as
is. One round trip, no loop.

The per-message work is one pass over the entries of the frame; a state
identical to the previous one from the same client (the 15 s keep-alive
renewals) reuses the previous rewrite.
"""

from __future__ import annotations

import json
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .frames import (
    AwarenessEntry,
    MalformedFrame,
    OverLimit,
    decode_state,
    encode_awareness,
    parse_awareness,
)

_SERVER = object()  # owner of the room's own awareness client id


@dataclass
class AwarenessLimits:
    """Bounds on what one connection may put in a room's awareness."""

    max_client_ids: int = 4
    """Client ids one connection may own (a browser tab uses one)."""
    max_entries: int = 2000
    """Entries in one message (a tab echoes the whole room after joining)."""
    max_state_bytes: int = 64 * 1024
    """Bytes of one client's state (JSON text)."""
    reserve_seconds: float = 60.0
    """How long a released id stays reserved for the person who owned it."""


@dataclass
class AwarenessVerdict:
    """What to do with one awareness frame from one connection."""

    frame: bytes | None
    """The frame to forward (rewritten), or None when nothing is left."""
    entries: list[tuple[int, int, str]] = field(default_factory=list)
    """What ``frame`` holds: (client id, clock, state JSON) of each kept entry."""
    nudge: bytes | None = None
    """A frame for the sender alone (see the module docstring), or None."""
    changed_states: list[dict[str, Any] | None] = field(default_factory=list)
    """Sender's states that differ from what it sent before (activity)."""
    forged: int = 0
    """Entries that tried to change somebody else's state (dropped)."""
    echoes: int = 0
    """Entries that repeated what the server already knew (dropped silently)."""

    @property
    def renewal(self) -> bool:
        """Whether the kept entries change nothing but clocks (keep-alive renewals)."""
        return bool(self.entries) and not self.changed_states


@dataclass
class _Seen:
    raw: str
    rewritten: str


@dataclass
class _Claim:
    """One client id owned by one connection."""

    conn: object
    person: str
    clock: int = -1
    """Last clock forwarded to peers (the client's own)."""
    live: bool = False
    """Whether the last forwarded state was not a removal."""


@dataclass
class _Released:
    clock: int
    person: str
    at: float


_RELEASED_LIMIT = 10_000


class RoomAwareness:
    """Ownership of awareness client ids in one room."""

    def __init__(
        self,
        server_client_id: int | None = None,
        server_meta: Mapping[int, Mapping[str, Any]] | None = None,
        limits: AwarenessLimits | None = None,
    ) -> None:
        self.limits = limits or AwarenessLimits()
        self._claims: dict[int, _Claim] = {}
        self._seen: dict[int, _Seen] = {}
        self._owned: dict[object, set[int]] = {}
        self._released: dict[int, _Released] = {}
        self._server_id = server_client_id
        # The room's own pycrdt Awareness meta: the server's id renews its
        # clock there, and browsers echo it back.
        self._server_meta = server_meta if server_meta is not None else {}
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

    def live_ids(self) -> list[int]:
        """Client ids of connections whose last state is not a removal."""
        return [cid for cid, c in self._claims.items() if c.live and c.conn is not _SERVER]

    def filter(
        self, conn: object, user_json: str, frame: bytes, person: str = ""
    ) -> AwarenessVerdict:
        """Apply the rules to ``frame`` sent by ``conn`` of ``person``.

        Raises MalformedFrame, and OverLimit when the frame or the
        connection exceeds :class:`AwarenessLimits`.
        """
        limits = self.limits
        entries = parse_awareness(frame, limits.max_entries, limits.max_state_bytes)
        owned = self._owned.get(conn)
        first = owned is None
        if owned is None:
            owned = self._owned[conn] = set()
        kept: list[tuple[int, int, str]] = []
        nudges: list[tuple[int, int, str]] = []
        verdict = AwarenessVerdict(frame=None)
        for entry in entries:
            cid = entry.client_id
            claim = self._claims.get(cid)
            if claim is None:
                claim = self._claim(conn, person, owned, entry, verdict, nudges)
                if claim is None:
                    continue
            elif claim.conn is not conn:
                if claim.conn is _SERVER:
                    server_clock = int(self._server_meta.get(cid, {}).get("clock", -1))
                    if entry.clock <= server_clock:
                        verdict.echoes += 1
                    else:
                        verdict.forged += 1
                    continue
                takeover = first and not owned and bool(person) and claim.person == person
                if not takeover or entry.is_removal:
                    if entry.clock <= claim.clock:
                        verdict.echoes += 1
                    else:
                        verdict.forged += 1
                    continue
                self._owned.get(claim.conn, set()).discard(cid)
                claim.conn = conn
                owned.add(cid)
                if entry.clock <= claim.clock:
                    # Peers know this clock already: ask for a higher one.
                    nudges.append((cid, claim.clock, "null"))
                    continue
            elif entry.clock <= claim.clock:
                verdict.echoes += 1  # a repeat of what this connection sent
                continue
            state_json = self._rewrite(entry, user_json, verdict)
            claim.clock = entry.clock
            claim.live = state_json != "null"
            kept.append((cid, entry.clock, state_json))
        if kept:
            verdict.frame = encode_awareness(kept)
            verdict.entries = kept
        if nudges:
            verdict.nudge = encode_awareness(nudges)
        return verdict

    def _claim(
        self,
        conn: object,
        person: str,
        owned: set[int],
        entry: AwarenessEntry,
        verdict: AwarenessVerdict,
        nudges: list[tuple[int, int, str]],
    ) -> _Claim | None:
        """A new claim of an unowned id, or None when the entry is dropped."""
        cid = entry.client_id
        if entry.is_removal:
            # Nobody's state: peers echoing a removal they applied.
            verdict.echoes += 1
            return None
        released = self._released.get(cid)
        floor = -1
        if released is not None:
            if owned and entry.clock <= released.clock:
                verdict.echoes += 1  # a late echo of somebody who left
                return None
            reserved = time.monotonic() - released.at < self.limits.reserve_seconds
            if reserved and released.person != person:
                verdict.forged += 1
                return None
            floor = released.clock
        if len(owned) >= self.limits.max_client_ids:
            raise OverLimit(f"more than {self.limits.max_client_ids} client ids on one connection")
        self._released.pop(cid, None)
        owned.add(cid)
        claim = self._claims[cid] = _Claim(conn, person)
        # Peers may know this id at up to max(floor, its clock) - after a
        # removal we broadcast, or from before a server restart that we
        # cannot see: ask the client to announce itself above that.
        nudges.append((cid, max(floor, entry.clock), "null"))
        return claim

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
        try:
            body = json.dumps(state, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except RecursionError:
            raise MalformedFrame("awareness state is nested too deeply") from None
        # Splice the pre-serialised identity in rather than re-encoding it.
        head = '{"user":' + user_json
        rewritten = head + "}" if body == "{}" else head + "," + body[1:]
        self._seen[entry.client_id] = _Seen(entry.state_json, rewritten)
        verdict.changed_states.append(state)
        return rewritten

    def release(self, conn: object) -> list[tuple[int, int]]:
        """Forget ``conn``'s client ids.

        Returns (client id, clock) for each of its ids whose last state was
        not a removal: what others must be told is gone. The removal carries
        the last clock, which y-protocols applies to a state it has.
        """
        gone = []
        now = time.monotonic()
        if len(self._released) >= _RELEASED_LIMIT:
            horizon = now - self.limits.reserve_seconds
            self._released = {c: r for c, r in self._released.items() if r.at >= horizon}
        for cid in self._owned.pop(conn, set()):
            claim = self._claims.get(cid)
            if claim is None or claim.conn is not conn:
                continue
            del self._claims[cid]
            self._seen.pop(cid, None)
            if claim.live:
                gone.append((cid, claim.clock))
            if len(self._released) < _RELEASED_LIMIT:
                self._released[cid] = _Released(claim.clock, claim.person, now)
        return gone


def removal_frame(client_ids_and_clocks: list[tuple[int, int]]) -> bytes:
    """An awareness frame that removes the given clients at the given clocks."""
    return encode_awareness([(cid, clock, "null") for cid, clock in client_ids_and_clocks])


class RoomAwarenessMap:
    """One :class:`RoomAwareness` per live room object (forgotten with the room)."""

    def __init__(self, limits: AwarenessLimits | None = None) -> None:
        self.limits = limits or AwarenessLimits()
        self._guards: weakref.WeakKeyDictionary[Any, RoomAwareness] = weakref.WeakKeyDictionary()

    def get(self, room: Any) -> RoomAwareness:
        guard = self._guards.get(room)
        if guard is None:
            awareness = room.awareness
            guard = self._guards[room] = RoomAwareness(
                awareness.client_id, awareness.meta, self.limits
            )
        return guard
