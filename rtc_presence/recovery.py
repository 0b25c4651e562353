"""Crash recovery: what we last wrote to each file, and what a room starts from.

jupyter-collaboration rebuilds a room from the file whenever the room's YStore
and the file differ ("The file is out-of-sync with the ystore",
``DocumentRoom.initialize`` in jupyter_server_ydoc/rooms.py), although after a
crash the YStore holds every update the server received and the file only
what the last save wrote. Here:

- :class:`SavedHashes` remembers, per file id, the hash of the file as the
  server last wrote it (or last loaded it into a room): a row of a small
  SQLite database next to the YStore (``<ystore>.rtc-saved.db``), each write
  one transaction, so a crash leaves the old row or the new one, never a torn
  one. A save's row is written only after the YStore has committed every
  update the saved content holds (:meth:`YStoreWriter.flush`).
- :func:`decide` says, when a room starts on a YStore that differs from the
  file: ``restore`` (the file is the one we last wrote: nobody changed it
  since, the YStore is ahead) or ``keep_file`` (the file was changed by
  someone else, or we do not know: the file wins as upstream does, and the
  YStore's version is written next to it as a recovery copy, see
  :func:`copy_candidates`).
- :class:`Notices` tells the owner's JupyterLab, once, through the presence
  stream: ``{"type": "recovered", "path", "copy"}``.

The room side (when these run) is :mod:`rtc_presence.durable`.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any, Literal

EVENTS_SCHEMA = Path(__file__).parent / "events" / "recovery.yaml"
EVENTS_SCHEMA_ID = "https://schema.jupyter.org/rtc_presence/recovery/v1"

Decision = Literal["same", "restore", "keep_file"]


def saved_db_path(ystore_db_path: str) -> Path:
    """Where the save records of a YStore database live: next to it."""
    path = Path(ystore_db_path)
    return path.with_name(path.stem + ".rtc-saved" + (path.suffix or ".db"))


class SavedHashes:
    """``file id -> hash of the file as we last wrote or loaded it``, in SQLite."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10)
        conn.execute(
            "CREATE TABLE IF NOT EXISTS saved "
            "(file_id TEXT PRIMARY KEY, hash TEXT NOT NULL, saved_at REAL NOT NULL)"
        )
        return conn

    def _get(self, file_id: str) -> str | None:
        conn = self._connect()
        try:
            row = conn.execute("SELECT hash FROM saved WHERE file_id = ?", (file_id,)).fetchone()
        finally:
            conn.close()
        return str(row[0]) if row else None

    def _put(self, file_id: str, file_hash: str) -> None:
        conn = self._connect()
        try:
            with conn:  # one transaction: the old row or the new one
                conn.execute(
                    "INSERT OR REPLACE INTO saved VALUES (?, ?, ?)",
                    (file_id, file_hash, time.time()),
                )
        finally:
            conn.close()

    async def get(self, file_id: str) -> str | None:
        return await asyncio.to_thread(self._get, file_id)

    async def put(self, file_id: str, file_hash: str) -> None:
        await asyncio.to_thread(self._put, file_id, file_hash)


def decide(stored: Any, file_content: Any, recorded: str | None, file_hash: str | None) -> Decision:
    """What a room starts from, given the YStore's content and the file's.

    ``recorded`` is the hash we last wrote or loaded, ``file_hash`` the file's
    now. Unknown hashes never restore: the file wins and nothing is discarded.
    """
    if stored == file_content:
        return "same"
    if recorded is not None and file_hash is not None and recorded == file_hash:
        return "restore"
    return "keep_file"


def copy_candidates(path: str, now: datetime | None = None) -> Iterator[str]:
    """``dir/name.recovered-<UTC timestamp>.ext`` next to ``path``, then ``-2``, ``-3``..."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    pure = PurePosixPath(path)
    yield str(pure.with_name(f"{pure.stem}.recovered-{stamp}{pure.suffix}"))
    for n in itertools.count(2):
        yield str(pure.with_name(f"{pure.stem}.recovered-{stamp}-{n}{pure.suffix}"))


class Notices:
    """``{"type": "recovered", ...}`` for the owner's presence streams, each once.

    Sent at once to every open presence stream of the owner; when none is open,
    kept (at most ``limit``) and sent to the next one that opens
    (:class:`NoticeStreams`).
    """

    def __init__(self, is_owner: Callable[[Any], bool], limit: int = 50) -> None:
        self.is_owner = is_owner
        self.limit = limit
        self.sent: list[dict[str, Any]] = []
        self.pending: list[dict[str, Any]] = []
        self.streams: Iterable[Any] = ()

    def publish(self, notice: dict[str, Any]) -> None:
        owners = [s for s in list(self.streams) if self._owner_stream(s)]
        if not owners:
            self.pending = [*self.pending, notice][-self.limit :]
            return
        for stream in owners:
            stream._send(notice)
        self.sent = [*self.sent, notice][-self.limit :]

    def stream_opened(self, stream: Any) -> None:
        if self.pending and self._owner_stream(stream):
            pending, self.pending = self.pending, []
            for notice in pending:
                stream._send(notice)
            self.sent = [*self.sent, *pending][-self.limit :]

    def _owner_stream(self, stream: Any) -> bool:
        user = getattr(stream, "current_user", None)
        return user is not None and self.is_owner(user)


class NoticeStreams(set[Any]):
    """The presence streams (``RTCState.streams``); a stream that joins gets the
    recovery notices nobody has seen yet."""

    def __init__(self, notices: Notices) -> None:
        super().__init__()
        self.notices = notices
        notices.streams = self

    def add(self, stream: Any) -> None:
        super().add(stream)
        self.notices.stream_opened(stream)
