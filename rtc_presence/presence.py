"""The live presence registry: who is on this server and what they are doing.

Fed only by the server's own observations of each connection (which room it
joined, which updates it sent, what it put in the global awareness), never
by what a client claims about itself. One entry per person, not per tab.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import count
from typing import Any

GLOBAL_ROOM = "JupyterLab:globalAwareness"

PresenceListener = Callable[[dict[str, Any]], None]


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


class PresenceRegistry:
    """Live presence of people on this server, with change notifications."""

    def __init__(self, activity_window: float = 60.0, update_delay: float = 0.25) -> None:
        self.activity_window = activity_window
        self.update_delay = update_delay
        self._people: dict[str, _Person] = {}
        self._listeners: list[PresenceListener] = []
        self._ids = count(1)
        self._dirty: set[str] = set()
        self._flush_handle: asyncio.TimerHandle | None = None

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

    def record_edit(self, conn: Connection) -> None:
        person = self._people.get(conn.username)
        if person is None:
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

    # -- reading -----------------------------------------------------------

    def people(self) -> list[dict[str, Any]]:
        return [self._person_model(p) for p in self._people.values()]

    def is_present(self, username: str) -> bool:
        return username in self._people

    def identity_of(self, username: str) -> dict[str, Any] | None:
        person = self._people.get(username)
        return None if person is None else person.identity

    def subscribe(self, listener: PresenceListener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _person_model(self, person: _Person) -> dict[str, Any]:
        horizon = time.time() - self.activity_window
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
        return {
            **person.identity,
            "joined_at": iso(person.joined_at),
            "connections": len(person.connections),
            "documents": documents,
            "current": person.current,
            "last_activity": iso(person.last_activity or person.joined_at),
        }

    # -- notifications -----------------------------------------------------

    def _emit(self, message: dict[str, Any]) -> None:
        for listener in list(self._listeners):
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
