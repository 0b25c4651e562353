"""The server's recent timeline: joins, leaves, executions, revocations, level changes.

A bounded ring buffer of the server's own records (never what a client
claims), read by ``GET /api/rtc-presence/activity`` and pushed live on the
presence stream as ``{"type": "activity", "event": {...}}``. An entry that
changes later (an execution that finishes) is sent again with the same
``id`` and a newer ``updated``; ``?since=`` selects by ``updated``, inclusive
(times are to the millisecond: a client that polls with the last ``updated``
it saw gets that entry again, deduplicated by ``id``, and misses nothing).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timezone
from itertools import count
from typing import Any, Literal

from tornado import web

from .access import user_role
from .presence import iso
from .state import state_of

Kind = Literal[
    "join",
    "leave",
    "execute",
    "interrupt",
    "restart",
    "shutdown",
    "terminal",
    "revoked",
    "access_changed",
]

Publish = Callable[[dict[str, Any]], None]


class ActivityLog:
    """The last ``size`` timeline entries, oldest first."""

    def __init__(
        self,
        size: int,
        publish: Publish,
        identity_of: Callable[[str], dict[str, Any]],
    ) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=max(1, size))
        self._publish = publish
        self._identity_of = identity_of
        self._ids = count(1)

    def record(self, kind: Kind, username: str, **fields: Any) -> dict[str, Any]:
        """Add an entry about ``username`` (identity from the server's records)."""
        now = _ms(time.time())
        ident = self._identity_of(username)
        entry: dict[str, Any] = {
            "id": next(self._ids),
            "kind": kind,
            "at": iso(now),
            "updated": iso(now),
            "username": username,
            "display_name": ident.get("display_name") or username,
            "initials": ident.get("initials"),
            "color": ident.get("color"),
            **fields,
            "_ts": now,
        }
        self._entries.append(entry)
        self._send(entry)
        return entry

    def update(self, entry: dict[str, Any], **fields: Any) -> None:
        """Change an entry (still in the buffer or not) and send it again."""
        now = _ms(time.time())
        entry.update(fields, updated=iso(now), _ts=now)
        self._send(entry)

    def since(self, ts: float | None = None, path: str | None = None) -> list[dict[str, Any]]:
        """Entries updated at or after ``ts`` (all if None), about ``path`` if given."""
        floor = None if ts is None else _key(ts)
        return [
            public(e)
            for e in self._entries
            if (floor is None or _key(e["_ts"]) >= floor)
            and (path is None or e.get("path") == path)
        ]

    def _send(self, entry: dict[str, Any]) -> None:
        self._publish({"type": "activity", "event": public(entry)})


def sees_activity(settings: dict[str, Any], user: Any) -> bool:
    """Whether ``user`` may read the timeline (REST and the presence stream);
    ``settings``: the tornado settings (``c.RTCPresence.activity_visible_to_guests``
    is read from the server's :class:`~rtc_presence.state.RTCState`)."""
    state = state_of(settings)
    visible = state.settings.activity_visible_to_guests if state is not None else True
    return visible or user_role(user) == "owner"


def _ms(ts: float) -> float:
    """``ts`` cut to the millisecond, as ``updated`` says it."""
    return math.floor(ts * 1000) / 1000


def _key(ts: float) -> int:
    """Whole milliseconds: what entries and ``since`` are compared by."""
    return round(ts * 1000)


def public(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if not k.startswith("_")}


def parse_since(value: str | None) -> float | None:
    """An ISO 8601 time (``2026-12-02T14:03:00.000Z``) as a POSIX timestamp."""
    if value is None or value == "":
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise web.HTTPError(
            400, "since must be an ISO 8601 time, e.g. 2026-12-02T14:03:00Z."
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()
