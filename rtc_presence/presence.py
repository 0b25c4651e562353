"""The live presence registry: who is on this server and what they are doing.

Fed only by the server's own observations of each connection (which room it
joined, which updates it sent, what it put in the global awareness), never
by what a client claims about itself. One entry per person, not per tab.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import count
from typing import Any, Literal

from .frames import MalformedFrame, read_varbytes, read_varuint

GLOBAL_ROOM = "JupyterLab:globalAwareness"

PresenceListener = Callable[[dict[str, Any]], None]

Activity = Literal["editing", "viewing", "active", "idle"]

#: Requests JupyterLab repeats by itself while a tab is open (its kernel,
#: session, terminal and file-browser polls, identity and presence
#: refreshes; paths relative to the server's base URL): not a sign that
#: anyone is using the server.
BACKGROUND_PATHS = (
    "api/kernels",
    "api/sessions",
    "api/terminals",
    "api/kernelspecs",
    "api/contents",
    "api/me",
    "api/status",
    "api/rtc-presence/presence",
    "api/rtc-presence/info",
    "lsp/status",
)


_ITEM_ANY = 8  # Yjs struct content: ContentAny (a JSON-like value)
_ANY_STRING = 119  # lib0 "any" encoding of a string


def is_document_stamp(frame: bytes, room_id: str) -> bool:
    """Whether a SYNC_UPDATE ``frame`` only writes the room's own id into the document.

    JupyterLab's document provider writes ``state.document_id`` = the room
    name each time it syncs a document (@jupyter/docprovider,
    ``WebSocketProvider._onSync``): an update one tab sends on every open,
    not an edit. Recognised exactly: one struct whose content is the room id
    (a first write names its parent, ``state``/``document_id``; a rewrite
    points at the previous value instead). Anything else is an edit.
    """
    try:
        _, pos = read_varuint(frame, 0)  # message type: sync
        _, pos = read_varuint(frame, pos)  # sync subtype: update
        update, _ = read_varbytes(frame, pos)
        clients, pos = read_varuint(update, 0)
        structs, pos = read_varuint(update, pos)
        if clients != 1 or structs != 1:
            return False
        _, pos = read_varuint(update, pos)  # client
        _, pos = read_varuint(update, pos)  # clock
        info = update[pos]
        pos += 1
        if info & 0x1F != _ITEM_ANY:
            return False
        for flag in (0x80, 0x40):  # origin, right origin: an ID each
            if info & flag:
                _, pos = read_varuint(update, pos)
                _, pos = read_varuint(update, pos)
        if not info & 0xC0:  # no neighbour: the parent is written out
            is_root, pos = read_varuint(update, pos)
            if not is_root:
                return False
            parent, pos = read_varbytes(update, pos)
            if parent != b"state" or not info & 0x20:
                return False
            key, pos = read_varbytes(update, pos)
            if key != b"document_id":
                return False
        count, pos = read_varuint(update, pos)
        if count != 1 or update[pos] != _ANY_STRING:
            return False
        value, _ = read_varbytes(update, pos + 1)
        return value == room_id.encode("utf-8")
    except (MalformedFrame, IndexError):
        return False


def counts_as_activity(method: str, path: str) -> bool:
    """Whether an HTTP request (``path`` relative to the base URL) is a use of the server.

    Everything but the background reads above: page loads, the sharing
    dialog, opening a document, saving, running code, layout changes.
    """
    return not (method in ("GET", "HEAD", "OPTIONS") and path.startswith(BACKGROUND_PATHS))


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    dt = datetime.fromtimestamp(ts, tz=timezone.utc)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def path_from_current(current: object) -> str | None:
    """Document path from JupyterLab's global awareness ``current`` field.

    JupyterLab writes the layout restorer key, e.g. ``notebook:RTC:a.ipynb``
    (widget factory, then the path, possibly with the ``RTC:`` drive).
    """
    if not isinstance(current, str) or ":" not in current:
        return None
    _, path = current.split(":", 1)
    if path.startswith("RTC:"):
        path = path[4:]
    return path[:4096] or None


@dataclass(eq=False)
class Connection:
    """One collaboration websocket of one person."""

    username: str
    room_id: str
    path: str | None
    id: int = 0
    opened_at: float = field(default_factory=time.time)


@dataclass
class _DocActivity:
    path: str | None
    edits: deque[float] = field(default_factory=lambda: deque(maxlen=4096))
    last_edit: float | None = None
    connections: int = 0


@dataclass
class _Person:
    identity: dict[str, Any]
    joined_at: float
    connections: set[Connection] = field(default_factory=set)
    documents: dict[str, _DocActivity] = field(default_factory=dict)
    current: str | None = None
    last_activity: float | None = None
    activity: str = "idle"  # as last sent


class PresenceRegistry:
    """Live presence of people on this server, with change notifications."""

    def __init__(self, activity_window: float = 60.0, update_delay: float = 0.25) -> None:
        self.activity_window = activity_window
        self.update_delay = update_delay
        self._people: dict[str, _Person] = {}
        # user name -> time of their last request that counts as activity
        self._requests: dict[str, float] = {}
        self._expiry: asyncio.TimerHandle | None = None
        self._expiry_at = math.inf
        self._listeners: list[PresenceListener] = []
        # Listeners of joins and leaves only (the activity log): without a stream
        # open, nobody's row is rebuilt on every cursor move.
        self._membership: list[PresenceListener] = []
        self._ids = count(1)
        self._dirty: set[str] = set()
        self._flush_handle: asyncio.TimerHandle | None = None
        #: What a person has running now (``{path, cell_id, since}``) or None;
        #: set by the execution tracker (rtc_presence/executionlog.py).
        self.running_of: Callable[[str], dict[str, Any] | None] = lambda _username: None

    # -- feeding -----------------------------------------------------------

    def connect(self, identity: dict[str, Any], room_id: str, path: str | None) -> Connection:
        username = identity["username"]
        conn = Connection(username, room_id, path, next(self._ids))
        person = self._people.get(username)
        joined = person is None
        if person is None:
            person = self._people[username] = _Person(identity=identity, joined_at=time.time())
        else:
            person.identity = identity
        person.connections.add(conn)
        if room_id != GLOBAL_ROOM:
            doc = person.documents.get(room_id)
            if doc is None:
                doc = person.documents[room_id] = _DocActivity(path)
            doc.connections += 1
        if joined:
            self._emit({"type": "join", "person": self._person_model(person)})
        else:
            self._mark(username)
        return conn

    def disconnect(self, conn: Connection) -> None:
        person = self._people.get(conn.username)
        if person is None or conn not in person.connections:
            return
        person.connections.discard(conn)
        doc = person.documents.get(conn.room_id)
        if doc is not None:
            doc.connections -= 1
            if doc.connections <= 0:
                del person.documents[conn.room_id]
        if not person.connections:
            del self._people[conn.username]
            self._dirty.discard(conn.username)
            self._emit({"type": "leave", "username": conn.username})
        else:
            self._mark(conn.username)

    def record_edit(self, conn: Connection, frame: bytes | None = None) -> None:
        """A document update sent by ``conn`` (``frame``: the SYNC_UPDATE message)."""
        person = self._people.get(conn.username)
        if person is None or (frame is not None and is_document_stamp(frame, conn.room_id)):
            return
        now = time.time()
        doc = person.documents.get(conn.room_id)
        if doc is not None:
            doc.edits.append(now)
            doc.last_edit = now
        person.last_activity = now
        self._mark(conn.username)

    def record_awareness(self, conn: Connection, state: dict[str, Any] | None) -> None:
        """A changed awareness state of ``conn`` (cursor move, document switch)."""
        person = self._people.get(conn.username)
        if person is None:
            return
        if conn.room_id == GLOBAL_ROOM and state is not None and "current" in state:
            person.current = path_from_current(state.get("current"))
        person.last_activity = time.time()
        self._mark(conn.username)

    def record_request(self, username: str) -> None:
        """An HTTP request of ``username`` that is a use of the server (cheap: per request)."""
        now = time.time()
        before = self._requests.get(username)
        self._requests[username] = now
        if before is None or now - before >= self.activity_window:
            if username in self._people:
                self._mark(username)  # may turn "idle" into "active"
            if len(self._requests) > 10_000:
                horizon = now - self.activity_window
                self._requests = {k: t for k, t in self._requests.items() if t >= horizon}

    # -- reading -----------------------------------------------------------

    def people(self) -> list[dict[str, Any]]:
        return [self._person_model(p) for p in self._people.values()]

    def is_present(self, username: str) -> bool:
        return username in self._people

    def identity_of(self, username: str) -> dict[str, Any] | None:
        person = self._people.get(username)
        return None if person is None else person.identity

    def subscribe(
        self, listener: PresenceListener, *, membership_only: bool = False
    ) -> Callable[[], None]:
        """Call ``listener`` with every message, or with joins and leaves only."""
        listeners = self._membership if membership_only else self._listeners
        listeners.append(listener)
        return lambda: listeners.remove(listener) if listener in listeners else None

    def activity(self, person: _Person, now: float) -> tuple[Activity, float]:
        """What ``person`` is doing, and until when that holds unless something happens.

        editing: a document edit within ``activity_window``; viewing: a
        document open (global awareness ``current``, or a document room)
        and no recent edit; active: any other use of the server (HTTP
        requests other than background polls, awareness changes) within
        the window; idle: none of those.
        """
        window = self.activity_window
        edits = [d.last_edit for d in person.documents.values() if d.last_edit is not None]
        last_edit = max(edits, default=-math.inf)
        if now - last_edit < window:
            return "editing", last_edit + window
        if person.current is not None or person.documents:
            return "viewing", math.inf
        used = max(
            self._requests.get(person.identity["username"], -math.inf),
            person.last_activity if person.last_activity is not None else -math.inf,
        )
        if now - used < window:
            return "active", used + window
        return "idle", math.inf

    def _person_model(self, person: _Person) -> dict[str, Any]:
        now = time.time()
        horizon = now - self.activity_window
        documents = []
        for room_id, doc in person.documents.items():
            while doc.edits and doc.edits[0] < horizon:
                doc.edits.popleft()
            documents.append(
                {
                    "path": doc.path,
                    "room_id": room_id,
                    "edits_recent": len(doc.edits),
                    "last_edit": iso(doc.last_edit),
                }
            )
        activity, until = self.activity(person, now)
        person.activity = activity
        self._expire_at(until)
        return {
            **person.identity,
            "joined_at": iso(person.joined_at),
            "connections": len(person.connections),
            "documents": documents,
            "current": person.current,
            "last_activity": iso(self._last_use(person)),
            "activity": activity,
            "running": self.running_of(person.identity["username"]),
        }

    def _last_use(self, person: _Person) -> float:
        last = person.last_activity or person.joined_at
        return max(last, self._requests.get(person.identity["username"], last))

    # -- activity that ends with time ----------------------------------------

    def _expire_at(self, when: float) -> None:
        """Re-evaluate activities at ``when`` (one timer for everyone, the earliest)."""
        if when >= self._expiry_at or not self._listeners:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._expiry is not None:
            self._expiry.cancel()
        self._expiry_at = when
        self._expiry = loop.call_later(max(0.0, when - time.time()) + 0.05, self._expired)

    def _expired(self) -> None:
        self._expiry, self._expiry_at = None, math.inf
        now = time.time()
        soonest = math.inf
        for username, person in self._people.items():
            activity, until = self.activity(person, now)
            if activity != person.activity:
                self._mark(username)
            soonest = min(soonest, until)
        self._expire_at(soonest)

    # -- notifications -----------------------------------------------------

    def touch(self, username: str) -> None:
        """Something shown on ``username``'s row changed elsewhere (``running``)."""
        if username in self._people:
            self._mark(username)

    def publish(self, message: dict[str, Any]) -> None:
        """Send ``message`` to every stream as it is (``{"type": "activity", ...}``)."""
        self._emit(message)

    def _emit(self, message: dict[str, Any]) -> None:
        for listener in list(self._listeners):
            listener(message)
        if message.get("type") in ("join", "leave"):
            for listener in list(self._membership):
                listener(message)

    def _mark(self, username: str) -> None:
        """Coalesce activity into at most one update per person per delay."""
        self._dirty.add(username)
        if self._flush_handle is None and self._listeners:
            loop = asyncio.get_running_loop()
            self._flush_handle = loop.call_later(self.update_delay, self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        dirty, self._dirty = self._dirty, set()
        for username in dirty:
            person = self._people.get(username)
            if person is not None:
                self._emit({"type": "update", "person": self._person_model(person)})
