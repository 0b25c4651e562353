"""Batched, ordered writes of a room's document updates to its YStore.

pycrdt-websocket starts one ``ystore.write(update)`` task per update
(``YRoom._broadcast_updates``), and ``SQLiteYStore.write`` is one SQLite
transaction per update (several worker-thread hops and a commit each). Under
a typing storm those tasks queue up behind the store's lock, so a SIGKILL
loses every update still waiting, although each was already fanned out.

:class:`YStoreWriter` takes every update of the room's document as its
transaction commits (:meth:`put`, synchronous, called from a document
observer) and writes everything pending in **one** transaction, again and
again: one commit per tick of the writer, however many updates arrived
meanwhile. The fan-out is never delayed by it (the commit runs in
sqlite_anyio's worker thread); an update is committed one commit time after
it was fanned out. :meth:`flush` waits until everything put so far is
committed (used before the recovery record of a save, see
:mod:`rtc_presence.recovery`).

For pycrdt-store's ``SQLiteYStore`` (jupyter-collaboration's default) the
batch is merged into one update and inserted with the store's own connection
and lock, as ``SQLiteYStore.write`` does, checkpoints included
(pycrdt/store/sqlite.py: ``_db``, ``lock``, ``db_initialized``,
``_update_counter``, ``_compress`` are private members; pinned by
``tests/test_recovery.py::test_upstream_members_recovery_relies_on``). Any
other store, or a SQLiteYStore with squashing or size cleanup configured, gets
its own ``write`` per update, still in order from this one task.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from logging import Logger
from typing import Any

from anyio import to_thread
from pycrdt import Doc, merge_updates
from pycrdt.store import BaseYStore, SQLiteYStore

from .limits import ThrottledLog
from .ystorejournal import use_wal, wants_wal

RETRY_SECONDS = 1.0


class YStoreWriter:
    """One room's YStore writes: ordered, one transaction per batch."""

    def __init__(self, ystore: BaseYStore, log: Logger, journal: str = "keep") -> None:
        self.ystore = ystore
        self.log = log
        #: switch the store to SQLite's WAL before the first batch (ystorejournal)
        self.wal_pending = batchable(ystore) and wants_wal(
            journal, str(getattr(ystore, "db_path", ""))
        )
        self.wal = False
        self.queued = 0
        self.committed = 0
        self.batches = 0
        self.max_batch = 0
        self._pending: list[bytes] = []
        self._wake = asyncio.Event()
        self._progress = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._errors = ThrottledLog(60.0)
        self._last_ts = 0.0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    def put(self, update: bytes) -> None:
        """Queue one update (a document transaction's update) for the next batch."""
        self._pending.append(update)
        self.queued += 1
        self._wake.set()

    # A deadline that answers False (the caller goes on), not a cancel scope.
    async def flush(self, timeout: float = 10.0) -> bool:  # noqa: ASYNC109
        """Wait until every update put so far is committed; False at the timeout."""
        target = self.queued
        deadline = time.monotonic() + timeout
        while self.committed < target:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._task is None or self._task.done():
                return False
            progress = self._progress
            try:
                await asyncio.wait_for(progress.wait(), remaining)
            except asyncio.TimeoutError:
                return False
        return True

    async def stop(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Commit what is pending (up to ``timeout``), then stop."""
        if self._task is None:
            return
        await self.flush(timeout)
        self._task.cancel()
        self._task = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    await write_batch(self.ystore, batch, self)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self._errors.log(
                        self.log, 1, "rtc-presence: YStore write failed, retrying: %r", exc
                    )
                    self._pending = batch + self._pending
                    await asyncio.sleep(RETRY_SECONDS)
                    continue
                self.committed += len(batch)
                self.batches += 1
                self.max_batch = max(self.max_batch, len(batch))
                progress, self._progress = self._progress, asyncio.Event()
                progress.set()

    def next_timestamp(self, floor: float) -> float:
        """Wall-clock time, but strictly after every row this writer inserted and
        ``floor``: a clock stepping back must not put a row before a checkpoint."""
        self._last_ts = max(time.time(), floor, self._last_ts + 1e-6)
        return self._last_ts


def batchable(ystore: BaseYStore) -> bool:
    """Whether ``ystore`` can take a batch in one transaction (see module docstring)."""
    return (
        isinstance(ystore, SQLiteYStore)
        and ystore.squash_after_inactivity_of is None
        and ystore.document_ttl is None
        and ystore.squash_history_older_than is None
        and not ystore.cleanup_when_db_size_above
    )


async def write_batch(ystore: BaseYStore, updates: list[bytes], writer: YStoreWriter) -> None:
    """Write ``updates`` to ``ystore``: one transaction when :func:`batchable`."""
    if not batchable(ystore):
        for update in updates:
            await ystore.write(update)
        return
    assert isinstance(ystore, SQLiteYStore)
    data = updates[0] if len(updates) == 1 else merge_updates(*updates)
    if ystore.db_initialized is None:
        raise RuntimeError("YStore not started")
    await ystore.db_initialized.wait()
    store: Any = ystore  # private members of pycrdt-store's SQLiteYStore, see above
    async with ystore.lock:
        metadata = await ystore.get_metadata()
        interval = ystore.checkpoint_interval
        checkpoint = bool(interval) and store._update_counter + 1 >= interval
        # The whole transaction is one hop to sqlite_anyio's worker thread, under
        # the connection's own limiter (so nothing else uses the connection
        # meanwhile): through sqlite_anyio's async cursor it was three or four
        # hops per batch, each a thread wake-up and a loop wake-up, a tenth of
        # the server's CPU at 10 keys/s. ``_real_connection`` and ``_limiter``
        # are sqlite_anyio's private members (pinned with the ones above).
        db = store._db
        job = _Transaction(
            db._real_connection, ystore.path, data, metadata, writer, checkpoint, store
        )
        await to_thread.run_sync(job.run, limiter=db._limiter)
        store._update_counter = 0 if checkpoint else store._update_counter + 1


class _Transaction:
    """One batch's SQL, run in the worker thread: the insert, the checkpoint when
    it is due, the commit; a rollback and the error otherwise (sqlite_anyio's
    handler would log and swallow it, and the batch would count as written)."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: str,
        data: bytes,
        metadata: bytes,
        writer: YStoreWriter,
        checkpoint: bool,
        store: Any,
    ) -> None:
        self.conn = conn
        self.path = path
        self.data = data
        self.metadata = metadata
        self.writer = writer
        self.checkpoint = checkpoint
        self.compress = store._compress
        self.decompress = store._decompress

    def run(self) -> None:
        writer = self.writer
        if writer.wal_pending:  # once, whatever SQLite answers (it is logged)
            writer.wal_pending = False
            writer.wal = use_wal(self.conn, writer.log)
        try:
            cursor = self.conn.cursor()
            floor = 0.0
            if self.writer.batches == 0:
                cursor.execute("SELECT MAX(timestamp) FROM yupdates WHERE path = ?", (self.path,))
                row = cursor.fetchone()
                floor = float(row[0]) if row and row[0] is not None else 0.0
            ts = self.writer.next_timestamp(floor)
            blob = self.compress(self.data) if self.compress else self.data
            cursor.execute(
                "INSERT INTO yupdates VALUES (?, ?, ?, ?)", (self.path, blob, self.metadata, ts)
            )
            if self.checkpoint:
                self._checkpoint(cursor, ts)
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise

    def _checkpoint(self, cursor: sqlite3.Cursor, ts: float) -> None:
        # What SQLiteYStore.write does every checkpoint_interval updates: the last
        # checkpoint plus every later update, squashed. Its timestamp is the last
        # row's, so loading (checkpoint, then rows with timestamp >= it) applies
        # that row twice, which Yjs ignores, and never skips one. The Doc lives
        # only in this call, so in this thread.
        decompress = self.decompress
        cursor.execute(
            "SELECT checkpoint, timestamp FROM ycheckpoints WHERE path = ?", (self.path,)
        )
        row = cursor.fetchone()
        doc: Doc[Any] = Doc()
        since = 0.0
        if row:
            blob, since = row
            doc.apply_update(decompress(blob) if decompress else blob)
        cursor.execute(
            "SELECT yupdate FROM yupdates WHERE path = ? AND timestamp >= ? ORDER BY timestamp ASC",
            (self.path, since),
        )
        for (update,) in cursor.fetchall():
            doc.apply_update(decompress(update) if decompress else update)
        state = doc.get_update()
        cursor.execute(
            "INSERT OR REPLACE INTO ycheckpoints (path, checkpoint, timestamp) VALUES (?, ?, ?)",
            (self.path, self.compress(state) if self.compress else state, ts),
        )
