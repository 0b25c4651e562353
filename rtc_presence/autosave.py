"""An autosave that cannot starve, and saves that never block a connection.

jupyter-collaboration's autosave is a pure debounce: every change of a
document cancels the pending save and waits ``document_save_delay`` again
(``DocumentRoom._on_document_change`` / ``_maybe_save_document`` in
jupyter_server_ydoc/rooms.py), so while people keep typing nothing is ever
written. :class:`MaxWaitAutosave` adds a maximum wait on top of it: once a
document has changes the file does not have, it is saved at the latest
``max_save_wait`` seconds later, however often it changes meanwhile, and again
every ``max_save_wait`` seconds while the changes go on (and while a save
fails).

A forced save runs in upstream's save task, which the next change cancels
(``_maybe_save_document`` cancels the previous task first). If that happens
before the save took the document's content, nothing was written: under load,
with people typing, that cost a whole extra ``max_save_wait``. So a save that
ends without having taken a snapshot is started again at once.

A RAW ``save`` request is awaited inside upstream's
``YDocWebSocketHandler.on_message``, and tornado reads nothing more from that
connection (pings included) until it returns: :func:`run_detached` answers it
in a task of our own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from logging import Logger
from typing import Any

#: How soon to try again when a forced save could not start (the room was busy
#: loading the file, upstream's update lock).
BUSY_RETRY_SECONDS = 0.25


class MaxWaitAutosave:
    """Forces a save ``max_wait`` seconds after the first unsaved change.

    ``save()`` starts a save now and returns its task, True when there is
    nothing to save (autosave turned off) or False when it cannot start yet.
    The room calls :meth:`changed` for every document transaction,
    :meth:`snapshot` when a save takes the document's content and
    :meth:`saved` with that snapshot when the file was written.
    """

    def __init__(
        self,
        max_wait: float | None,
        save: Callable[[], asyncio.Future[Any] | bool],
        log: Logger,
    ) -> None:
        self.max_wait = max_wait if max_wait and max_wait > 0 else None
        self._save = save
        self.log = log
        self.seq = 0
        self.dirty_since: float | None = None
        self.forced = 0
        #: forced saves that ended before taking the content (cancelled), started again
        self.restarted = 0
        self._snapshots = 0
        self._timer: asyncio.TimerHandle | None = None

    def changed(self) -> None:
        self.seq += 1
        if self.max_wait is None:
            return
        now = time.monotonic()
        if self.dirty_since is None:
            self.dirty_since = now
        if self._timer is None:
            self._arm(self.dirty_since + self.max_wait - now)

    def snapshot(self) -> tuple[int, float]:
        self._snapshots += 1
        return self.seq, time.monotonic()

    def saved(self, snapshot: tuple[int, float]) -> None:
        seq, taken_at = snapshot
        if self.dirty_since is None or self.max_wait is None:
            return
        if seq >= self.seq:
            self.dirty_since = None
            self.cancel()
            return
        # Changes came after the content was taken: they wait from then at most.
        self.dirty_since = taken_at
        self.cancel()
        self._arm(taken_at + self.max_wait - time.monotonic())

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self, delay: float) -> None:
        self._timer = asyncio.get_running_loop().call_later(max(0.0, delay), self._fire)

    def _fire(self) -> None:
        self._timer = None
        if self.dirty_since is None or self.max_wait is None:
            return
        try:
            started = self._save()
        except Exception:
            self.log.exception("rtc-presence: could not start a save")
            started = False
        if started is not False:
            self.forced += 1
        if isinstance(started, asyncio.Future):
            started.add_done_callback(self._save_ended(self._snapshots))
        # A watchdog: if this save fails or is overtaken, try again.
        self._arm(self.max_wait if started is not False else BUSY_RETRY_SECONDS)

    def _save_ended(self, snapshots_before: int) -> Callable[[asyncio.Future[Any]], None]:
        def ended(_: asyncio.Future[Any]) -> None:
            if self._snapshots == snapshots_before and self.dirty_since is not None:
                # cancelled before it took the content: nothing was written
                self.restarted += 1
                self.cancel()
                self._arm(0.0)

        return ended


_detached: set[asyncio.Task[Any]] = set()


def run_detached(coro: Coroutine[Any, Any, Any] | Any, log: Logger) -> None:
    """Run ``coro`` (an awaitable or None) in a task of its own; log its failure."""
    if coro is None:
        return
    task = asyncio.ensure_future(coro)
    _detached.add(task)

    def done(t: asyncio.Task[Any]) -> None:
        _detached.discard(t)
        if not t.cancelled() and t.exception() is not None:
            log.error("rtc-presence: a room save request failed", exc_info=t.exception())

    task.add_done_callback(done)
