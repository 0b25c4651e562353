"""No lost edits: the room side of crash recovery, batched YStore writes and autosave.

:class:`DurableRoomMixin` is put in front of each document room's class
before the room starts (:func:`adopt_durable`, called from
``rtc_presence.fanout.adopt_room``). It

- writes every update of the document to the YStore through a
  :class:`~rtc_presence.ywriter.YStoreWriter` (one ordered transaction per
  batch, queued as the update's transaction commits, that is before the
  fan-out loop sends it), instead of one upstream write task per update;
- decides, when the room starts, whether it is restored from the YStore or
  from the file (:mod:`rtc_presence.recovery`), before upstream's
  ``DocumentRoom.initialize`` runs: a restored document is saved to the file
  first, so upstream then finds file and YStore equal and keeps the YStore's
  document, with its history (reconnecting clients merge into it);
- saves at most ``max_save_wait`` seconds after the first unsaved change
  (:mod:`rtc_presence.autosave`), and records each save's hash once the
  YStore holds everything the save wrote.

Upstream members used (jupyter_server_ydoc/rooms.py ``DocumentRoom``):
``_file`` (the room's FileLoader, wrapped by :class:`SavingLoader` to see each
save's result), ``_save_to_disc`` (the save a RAW ``save`` request starts),
``_save_delay`` and ``_update_lock`` (upstream's own autosave conditions),
``create_task``; all pinned by
``tests/test_recovery.py::test_upstream_members_recovery_relies_on``.
"""

from __future__ import annotations

import asyncio
import weakref
from logging import Logger
from typing import Any, cast

from jupyter_server.utils import ensure_async
from jupyter_ydoc import ydocs
from pycrdt import Doc, Subscription, TransactionEvent
from pycrdt.store import BaseYStore, YDocNotFound
from pycrdt.websocket import WebsocketServer, YRoom

from .autosave import MaxWaitAutosave
from .mixins import adopt
from .recovery import Notices, SavedHashes, copy_candidates, decide, saved_db_path
from .ywriter import YStoreWriter

EMPTY_UPDATE = b"\x00\x00"


class Keeper:
    """What every durable room of a server shares: configuration and records."""

    def __init__(
        self,
        *,
        crash_recovery: bool,
        max_save_wait: float | None,
        contents_manager: Any,
        ystore_journal: str = "keep",
        log: Logger,
        emit: Any,
        notices: Notices,
    ) -> None:
        self.crash_recovery = crash_recovery
        self.max_save_wait = max_save_wait
        self.ystore_journal = ystore_journal
        self.contents_manager = contents_manager
        self.log = log
        self.emit = emit
        self.notices = notices
        self._records: dict[str, SavedHashes] = {}

    def records_for(self, ystore: BaseYStore | None) -> SavedHashes | None:
        db_path = getattr(ystore, "db_path", None)
        if not isinstance(db_path, str) or db_path == ":memory:":
            return None  # no database to sit next to: never restore, always copy
        records = self._records.get(db_path)
        if records is None:
            records = self._records[db_path] = SavedHashes(saved_db_path(db_path))
        return records

    async def file_hash(self, path: str) -> str | None:
        model = await ensure_async(
            self.contents_manager.get(path, content=False, require_hash=True)
        )
        value = model.get("hash")
        return str(value) if value else None

    async def exists(self, path: str) -> bool:
        return bool(await ensure_async(self.contents_manager.exists(path)))

    async def save_copy(self, model: dict[str, Any], path: str) -> None:
        await ensure_async(self.contents_manager.save(model, path))


_keepers: weakref.WeakKeyDictionary[WebsocketServer, Keeper] = weakref.WeakKeyDictionary()


def attach_keeper(server: WebsocketServer, keeper: Keeper) -> None:
    """Make the rooms ``server`` starts from now on durable rooms of ``keeper``."""
    _keepers[server] = keeper


def adopt_durable(room: YRoom, server: object) -> YRoom:
    """Put :class:`DurableRoomMixin` in front of a document room's class (in place)."""
    keeper = _keepers.get(server) if isinstance(server, WebsocketServer) else None
    if keeper is None or isinstance(room, DurableRoomMixin):
        return room
    from jupyter_server_ydoc.rooms import DocumentRoom

    if not isinstance(room, DocumentRoom):
        return room
    adopt(room, DurableRoomMixin, "Durable")
    durable: Any = room
    durable.rtc_setup(keeper)
    return cast(YRoom, durable)


class SavingLoader:
    """The room's FileLoader, telling the room what each of its saves wrote.

    Upstream cancels a running save task whenever the document changes again
    (``_maybe_save_document``); the file is still written (the loader shields
    the write) but the save's result, with the file's new hash, is dropped.
    So the loader's save runs in a task of its own that the room watches.
    """

    def __init__(self, loader: Any, room: DurableRoomMixin) -> None:
        self._loader = loader
        self._room = room

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)

    async def maybe_save_content(self, model: dict[str, Any]) -> Any:
        snapshot = self._room.rtc_autosave.snapshot()
        task = asyncio.ensure_future(self._loader.maybe_save_content(model))
        task.add_done_callback(lambda t: self._room.rtc_saved(snapshot, t))
        return await asyncio.shield(task)


class DurableRoomMixin:
    """Document rooms whose acknowledged edits survive a crash (module docstring)."""

    rtc_keeper: Keeper
    rtc_writer: YStoreWriter | None
    rtc_autosave: MaxWaitAutosave
    _rtc_loader: Any
    _rtc_subscription: Subscription | None
    _rtc_record_lock: asyncio.Lock
    _rtc_recorded_seq: int

    def rtc_setup(self, keeper: Keeper) -> None:
        room: Any = self
        self.rtc_keeper = keeper
        ystore = room.ystore
        self.rtc_writer = (
            YStoreWriter(ystore, room.log, keeper.ystore_journal) if ystore is not None else None
        )
        self.rtc_autosave = MaxWaitAutosave(keeper.max_save_wait, self._rtc_force_save, room.log)
        self._rtc_loader = room._file
        room._file = SavingLoader(room._file, self)
        self._rtc_subscription = None
        self._rtc_record_lock = asyncio.Lock()
        self._rtc_recorded_seq = -1

    # -- start -----------------------------------------------------------------

    async def initialize(self) -> None:
        room: Any = self
        if not room.ready and self.rtc_keeper.crash_recovery and room.ystore is not None:
            try:
                await self._rtc_recover()
            except Exception:
                room.log.exception(
                    "rtc-presence: crash recovery of room %s failed; the file wins",
                    room.room_id,
                )
        await super().initialize()  # type: ignore[misc]
        if room.ready and self._rtc_subscription is None:
            # Right after upstream set ready (no await in between): the same
            # transactions its fan-out stream gets from now on.
            self._rtc_subscription = room.ydoc.observe(self._rtc_on_transaction)
            if self.rtc_writer is not None:
                self.rtc_writer.start()

    async def _rtc_recover(self) -> None:
        room: Any = self
        keeper = self.rtc_keeper
        ystore = room.ystore
        async with ystore.start_lock:  # as DocumentRoom.initialize starts it
            if not ystore.started.is_set():
                room.create_task(ystore.start())
                await ystore.started.wait()
        loader = self._rtc_loader
        model = await loader.load_content(room.file_format, room.file_type)
        path, file_id = loader.path, loader.file_id
        file_hash = await keeper.file_hash(path)
        records = keeper.records_for(ystore)
        scratch: Doc[Any] = Doc()
        try:
            await ystore.apply_updates(scratch)
        except YDocNotFound:
            stored = None
        else:
            stored = await ydocs.get(room.file_type, ydocs["file"])(scratch).aget()
        recorded = await records.get(file_id) if records is not None and stored else None
        decision = decide(stored, model["content"], recorded, file_hash) if stored else "same"
        if decision == "restore":
            content = {"format": room.file_format, "type": room.file_type, "content": stored}
            try:
                saved = await loader.maybe_save_content(content)
            except Exception:
                room.log.exception("rtc-presence: could not write the restored %s", path)
                saved = None
            if saved and records is not None:
                await records.put(file_id, str(saved["hash"]))
                room.log.warning(
                    "rtc-presence: %s restored from the YStore (edits the file did not have)",
                    path,
                )
                keeper.emit({"action": "restored", "path": path, "room": room.room_id})
                return
            decision = "keep_file"
        if decision == "keep_file":
            copy = await self._rtc_write_copy(path, stored)
            room.log.warning(
                "rtc-presence: %s was changed while its room was down; the file wins, "
                "the room's version is in %s",
                path,
                copy,
            )
            keeper.emit({"action": "recovered", "path": path, "copy": copy, "room": room.room_id})
            keeper.notices.publish({"type": "recovered", "path": path, "copy": copy})
        if records is not None and file_hash is not None:
            await records.put(file_id, file_hash)  # the room now agrees with this file

    async def _rtc_write_copy(self, path: str, content: Any) -> str:
        room: Any = self
        keeper = self.rtc_keeper
        for candidate in copy_candidates(path):
            if not await keeper.exists(candidate):
                model = {"type": room.file_type, "format": room.file_format, "content": content}
                await keeper.save_copy(model, candidate)
                return candidate
        raise AssertionError("unreachable")  # copy_candidates never ends

    # -- every transaction ---------------------------------------------------------

    def _rtc_on_transaction(self, event: TransactionEvent) -> None:
        update = event.update
        if update == EMPTY_UPDATE:
            return
        if self.rtc_writer is not None:
            self.rtc_writer.put(update)
        room: Any = self
        if not room._update_lock.locked():  # upstream's autosave skips file loads too
            self.rtc_autosave.changed()

    def persist_update(self, update: bytes) -> None:
        """The fan-out loop's YStore write: ours was queued by the observer."""
        if self.rtc_writer is None or self._rtc_subscription is None:
            super().persist_update(update)  # type: ignore[misc]

    # -- saving ----------------------------------------------------------------------

    def _rtc_force_save(self) -> asyncio.Future[Any] | bool:
        room: Any = self
        if room._save_delay is None:
            return True  # autosave off (document_save_delay = None)
        wants = [s.get("autosave", True) for s in room.awareness.states.values() if s]
        if wants and not any(wants):
            return True  # every client turned autosave off, as upstream honours
        task: asyncio.Future[Any] | None = room._save_to_disc()
        return False if task is None else task

    def rtc_saved(self, snapshot: tuple[int, float], task: asyncio.Future[Any]) -> None:
        if task.cancelled() or task.exception() is not None:
            return  # upstream logs or handles the failure (OutOfBandChanges)
        saved = task.result()
        if not saved:
            return
        self.rtc_autosave.saved(snapshot)
        file_hash = saved.get("hash")
        if file_hash:
            room: Any = self
            room.create_task(self._rtc_record(snapshot[0], str(file_hash)))

    async def _rtc_record(self, seq: int, file_hash: str) -> None:
        room: Any = self
        records = self.rtc_keeper.records_for(room.ystore)
        if records is None:
            return
        async with self._rtc_record_lock:
            if seq < self._rtc_recorded_seq:
                return  # a later save was recorded already
            # Only once the YStore holds all the saved content has: then "the
            # file is the one we wrote" implies "the YStore is at least as new".
            if self.rtc_writer is not None and not await self.rtc_writer.flush():
                room.log.warning("rtc-presence: YStore behind; save of %s not recorded", room)
                return
            await records.put(self._rtc_loader.file_id, file_hash)
            self._rtc_recorded_seq = seq

    # -- stop ------------------------------------------------------------------------

    async def stop(self) -> None:
        room: Any = self
        self.rtc_autosave.cancel()
        if self._rtc_subscription is not None:
            room.ydoc.unobserve(self._rtc_subscription)
            self._rtc_subscription = None
        if self.rtc_writer is not None:
            await self.rtc_writer.stop()
        await super().stop()  # type: ignore[misc]
