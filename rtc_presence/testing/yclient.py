"""A real Yjs websocket client (y-websocket protocol) for tests and benchmarks.

It speaks the same wire protocol as JupyterLab's ``@jupyter/docprovider``
(:mod:`.ywire`): on connect both sides send SyncStep1 (their state vector) and
answer the other's SyncStep1 with SyncStep2 (the missing updates).

The document is a real :class:`pycrdt.Doc`: received updates are applied to it, and
every local transaction on it is sent to the server as a sync update. Awareness
updates can be encoded with *any* client id and clock, so tests can forge them.

The parts, each in its own module and all importable from here:
:mod:`.ywire` (the frame codec), :mod:`.ytransport` (the reading and writing
tasks, closing, waiting), :mod:`.yawareness` (the client's view of the room's
awareness), :mod:`.ysession` (where to connect), :mod:`.ynotebook` (editing a
notebook document) and :mod:`.yfaults` (crashing or hanging the connection).

Example::

    room_id, session_id = await open_session("http://127.0.0.1:8888/", "a.ipynb",
                                             headers=auth)
    url = room_url("ws://127.0.0.1:8888/", room_id, session_id)
    async with await YClient.connect(url, headers=auth) as client:
        append_text(client.doc, 0, "hello")
        await client.set_awareness({"user": {"name": "alice"}})
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import pycrdt
from pycrdt import (
    Doc,
    create_awareness_message,
    create_sync_message,
    create_update_message,
    handle_sync_message,
)
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from .yawareness import AwarenessCallback, AwarenessEntry, AwarenessMirror, AwarenessStates
from .ynotebook import append_text, cell_source, insert_cell, notebook_cells
from .ysession import open_session, room_url
from .ytransport import FrameTransport, open_websocket
from .ywire import (
    RAW_MESSAGE_TYPE,
    YClientError,
    decode_awareness_update,
    decode_frame,
    encode_awareness_update,
    encode_save,
)

__all__ = [
    "RAW_MESSAGE_TYPE",
    "AwarenessEntry",
    "AwarenessStates",
    "YClient",
    "YClientError",
    "append_text",
    "cell_source",
    "decode_awareness_update",
    "encode_awareness_update",
    "insert_cell",
    "notebook_cells",
    "open_session",
    "room_url",
]

UpdateCallback = Callable[[bytes, float], None]


class YClient(FrameTransport):
    """A y-websocket client over ``websockets`` (asyncio) with a real pycrdt Doc.

    Create it with :meth:`connect`. All methods must be called from the event loop
    that connected it.
    """

    doc: Doc[Any]
    client_id: int
    #: Decoded JSON payloads of RAW (type 2) messages, e.g. save replies.
    raw_messages: list[Any]

    def __init__(
        self,
        ws: ClientConnection,
        doc: Doc[Any],
        *,
        client_id: int | None = None,
        log_limit: int = 10_000,
    ) -> None:
        super().__init__(ws, log_limit=log_limit)
        self.doc = doc
        self.client_id = doc.client_id if client_id is None else client_id
        self._aw = AwarenessMirror(log_limit)
        self.raw_messages = []
        self.updates_received = 0
        self.apply_updates = True
        self._update_callbacks: list[UpdateCallback] = []
        self._synced = asyncio.Event()
        self._aw_event = asyncio.Event()
        self._applying_remote = False
        self._subscription: pycrdt.Subscription | None = None
        self._ticker_task: asyncio.Task[None] | None = None
        self._awareness_timeout: float | None = None
        self._local_state: dict[str, Any] | None = None
        self._local_state_at = 0.0

    @classmethod
    async def connect(
        cls,
        ws_url: str,
        *,
        headers: dict[str, str] | None = None,
        doc: Doc[Any] | None = None,
        client_id: int | None = None,
        wait_synced: bool = True,
        timeout: float = 10,
        max_queue: int | None = 4096,
        awareness_timeout: float | None = None,
        apply_updates: bool = True,
    ) -> YClient:
        """Open the websocket, start the sync handshake and (by default) wait for it.

        ``client_id`` is the awareness client id used by default (the Doc's own
        client id otherwise); when ``doc`` is not given and ``client_id`` is, the
        new Doc gets that client id too.

        ``awareness_timeout`` (seconds) turns on what y-protocols' ``Awareness`` does
        in a browser (``outdatedTimeout``, 30 s there): the own state is renewed
        every ``timeout / 2`` and remote states not updated for ``timeout`` are
        removed locally (checked every ``timeout / 10``). Off by default, so
        ``awareness`` shows exactly what the server sent.

        ``apply_updates=False`` makes a lighter client for load generation: the
        initial sync is applied, later SYNC_UPDATE payloads are only reported to
        :meth:`on_update` callbacks, not applied to ``doc`` (local edits still work).
        """
        if doc is None:
            doc = Doc(client_id=client_id) if client_id is not None else Doc()
        ws = await open_websocket(ws_url, headers, timeout, max_queue)
        self = cls(ws, doc, client_id=client_id)
        self.apply_updates = apply_updates
        self._subscription = doc.observe(self._on_local_transaction)
        self._start()
        if awareness_timeout is not None and awareness_timeout > 0:
            self._awareness_timeout = awareness_timeout
            self._ticker_task = asyncio.create_task(self._awareness_ticker(awareness_timeout))
        # Our SyncStep1: ask the server for what we miss.
        await self._send(create_sync_message(doc))
        if wait_synced:
            try:
                await self.wait_synced(timeout)
            except BaseException:
                self.abort()
                raise
        return self

    # -- state ------------------------------------------------------------------

    @property
    def synced(self) -> bool:
        return self._synced.is_set()

    @property
    def awareness(self) -> AwarenessStates:
        """Awareness states received from the server, by client id (None = removed)."""
        return self._aw.states

    @property
    def awareness_clocks(self) -> dict[int, int]:
        """Last applied awareness clock per client id."""
        return self._aw.clocks

    @property
    def awareness_log(self) -> list[AwarenessEntry]:
        """Every awareness entry received, applied or not (bounded by ``log_limit``)."""
        return self._aw.log

    @property
    def awareness_updated_at(self) -> dict[int, float]:
        """``time.monotonic()`` of the last applied awareness entry per client id."""
        return self._aw.updated_at

    # -- waiting ----------------------------------------------------------------

    async def wait_synced(self, timeout: float = 10) -> None:
        """Wait until the server's SyncStep2 was received and applied."""
        if self._synced.is_set():
            return
        synced = asyncio.ensure_future(self._synced.wait())
        closed = asyncio.ensure_future(self._closed.wait())
        try:
            await asyncio.wait(
                {synced, closed}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            synced.cancel()
            closed.cancel()
        if self._synced.is_set():
            return
        if self._closed.is_set():
            raise YClientError(
                f"connection closed before sync: {self.close_code} {self.close_reason!r}"
            )
        raise asyncio.TimeoutError(f"not synced within {timeout} s")

    async def wait_awareness(
        self, predicate: Callable[[AwarenessStates], bool], timeout: float
    ) -> None:
        """Wait (event-driven, no polling) until ``predicate(self.awareness)`` holds.

        Raises ``asyncio.TimeoutError`` at the deadline and :class:`YClientError` if the
        connection closes first.
        """
        states = self._aw.states
        await self._wait(
            lambda: predicate(states), "awareness predicate", timeout, lambda: self._aw_event
        )

    # -- callbacks --------------------------------------------------------------

    def on_update(self, callback: UpdateCallback) -> None:
        """Call ``callback(update, perf_counter_at_receipt)`` for every received update.

        Both SYNC_UPDATE and SYNC_STEP2 payloads are reported (after being applied).
        """
        self._update_callbacks.append(callback)

    def on_awareness(self, callback: AwarenessCallback) -> None:
        """Call ``callback(entry)`` for every received awareness entry."""
        self._aw.callbacks.append(callback)

    # -- sending -----------------------------------------------------------------

    async def send_update(self, update: bytes) -> None:
        """Send a Yjs update as a SYNC_UPDATE message (not applied to ``self.doc``)."""
        await self._ws.send(create_update_message(update))

    async def send_save(self, save_id: int = 1) -> None:
        """Ask the server to save the document (RAW ``save`` message, as JupyterLab)."""
        await self._ws.send(encode_save(save_id))

    async def set_awareness(
        self,
        state: dict[str, Any] | None,
        *,
        client_id: int | None = None,
        clock: int | None = None,
    ) -> None:
        """Send an awareness update for ``client_id`` (default: own) with ``clock``.

        The default clock is one more than the last clock this client sent for that
        id (or that it saw from the server, whichever is larger). Any id / clock can
        be given, to forge or replay states in tests.
        """
        cid = self.client_id if client_id is None else client_id
        clock = self._aw.next_clock(cid, clock)
        if cid == self.client_id:
            self._local_state = state
            self._local_state_at = time.monotonic()
        payload = encode_awareness_update([(cid, clock, state)])
        await self._ws.send(create_awareness_message(payload))

    # -- internals ---------------------------------------------------------------

    def _finish(self) -> None:
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                self.doc.unobserve(self._subscription)
            self._subscription = None
        super()._finish()
        if self._ticker_task is not None and not self._ticker_task.done():
            self._ticker_task.cancel()

    def _wake_all(self) -> None:
        self._notify_awareness()
        super()._wake_all()

    def _on_local_transaction(self, event: pycrdt.TransactionEvent) -> None:
        if self._applying_remote:
            return
        try:
            update = event.update
        except Exception:  # pragma: no cover - defensive, never raise in a callback
            return
        if update == b"\x00\x00" or self._closed.is_set():
            return
        self._outbox.put_nowait(create_update_message(update))

    async def _awareness_ticker(self, timeout: float) -> None:
        """y-protocols' outdated-state check and keep-alive renewal."""
        while not self._closed.is_set() and not self.frozen:
            await asyncio.sleep(timeout / 10)
            now = time.monotonic()
            if self._local_state is not None and now - self._local_state_at >= timeout / 2:
                with contextlib.suppress(ConnectionClosed):
                    await self.set_awareness(self._local_state)
            if self._aw.expire(self.client_id, timeout, now):
                self._notify_awareness()

    def _apply_remote(self, update: bytes) -> None:
        self._applying_remote = True
        try:
            self.doc.apply_update(update)
        finally:
            self._applying_remote = False

    def _notify_awareness(self) -> None:
        event = self._aw_event
        self._aw_event = asyncio.Event()
        event.set()

    def _handle(self, message: bytes, received_at: float) -> None:
        frame = decode_frame(message)
        if frame is None:
            return
        kind = frame.kind
        if kind == "sync_step1":
            reply = handle_sync_message(frame.payload, self.doc)
            if reply is not None:
                self._outbox.put_nowait(reply)
        elif kind in ("sync_step2", "sync_update"):
            update = frame.payload
            step2 = kind == "sync_step2"
            if update != b"\x00\x00" and (self.apply_updates or step2):
                self._apply_remote(update)
            if step2:
                self._synced.set()
            else:
                self.updates_received += 1
            for update_cb in self._update_callbacks:
                update_cb(update, received_at)
        elif kind == "awareness":
            if self._aw.apply(frame.payload, received_at):
                self._notify_awareness()
        elif kind == "raw":
            self._remember(self.raw_messages, frame.raw)
        else:
            self._remember(self.unknown_messages, message)
