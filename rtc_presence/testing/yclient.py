"""A real Yjs websocket client (y-websocket protocol) for tests and benchmarks.

It speaks the same wire protocol as JupyterLab's ``@jupyter/docprovider``:

- binary frames whose first var-uint is the message type: ``0`` SYNC (followed by
  the sync sub-type STEP1 / STEP2 / UPDATE and a var-length payload), ``1``
  AWARENESS (a var-length awareness update), ``2`` RAW (jupyter-collaboration's
  JSON side channel, e.g. save replies);
- on connect both sides send SyncStep1 (their state vector) and answer the
  other's SyncStep1 with SyncStep2 (the missing updates).

The document is a real :class:`pycrdt.Doc`: received updates are applied to it, and
every local transaction on it is sent to the server as a sync update. Awareness
updates can be encoded with *any* client id and clock, so tests can forge them.

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
import json
import socket
import time
import urllib.parse
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Any

import httpx
import pycrdt
from pycrdt import (
    Array,
    Decoder,
    Doc,
    Encoder,
    Map,
    Text,
    YMessageType,
    YSyncMessageType,
    create_awareness_message,
    create_sync_message,
    create_update_message,
    handle_sync_message,
)
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

__all__ = [
    "RAW_MESSAGE_TYPE",
    "AwarenessEntry",
    "AwarenessStates",
    "YClient",
    "YClientError",
    "append_text",
    "encode_awareness_update",
    "insert_cell",
    "notebook_cells",
    "open_session",
    "room_url",
]

#: jupyter-collaboration's ``MessageType.RAW`` (JSON side channel, e.g. save replies).
RAW_MESSAGE_TYPE = 2

AwarenessStates = dict[int, dict[str, Any] | None]
UpdateCallback = Callable[[bytes, float], None]
AwarenessCallback = Callable[["AwarenessEntry"], None]


class YClientError(Exception):
    """Raised when the connection or the initial sync fails."""


class AwarenessEntry:
    """One (client id, clock, state) triple of a received awareness update."""

    __slots__ = ("applied", "client_id", "clock", "received_at", "state")

    def __init__(
        self,
        client_id: int,
        clock: int,
        state: dict[str, Any] | None,
        received_at: float,
        applied: bool,
    ) -> None:
        self.client_id = client_id
        self.clock = clock
        self.state = state
        self.received_at = received_at
        #: False when the entry was ignored by the Yjs clock rule (stale clock).
        self.applied = applied

    def __repr__(self) -> str:
        return (
            f"AwarenessEntry(client_id={self.client_id}, clock={self.clock}, "
            f"state={self.state!r}, applied={self.applied})"
        )


# ---------------------------------------------------------------------------
# HTTP helpers
# ---------------------------------------------------------------------------


async def open_session(
    base_url: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    file_type: str = "notebook",
    file_format: str = "json",
    timeout: float = 10,
) -> tuple[str, str]:
    """Open (or join) the collaborative session of a document.

    ``PUT {base_url}api/collaboration/session/{path}``; returns
    ``(room_id, session_id)`` where ``room_id`` is ``"{format}:{type}:{fileId}"``.
    """
    if not base_url.endswith("/"):
        base_url += "/"
    url = f"{base_url}api/collaboration/session/{urllib.parse.quote(path)}"
    body = json.dumps({"format": file_format, "type": file_type})
    async with httpx.AsyncClient(timeout=timeout, trust_env=False) as http:
        resp = await http.put(url, content=body, headers=headers or {})
    if resp.status_code not in (200, 201):
        raise YClientError(f"PUT {url} answered {resp.status_code}: {resp.text[:500]}")
    data = resp.json()
    room_id = f"{data['format']}:{data['type']}:{data['fileId']}"
    return room_id, str(data["sessionId"])


def room_url(base_ws_url: str, room_id: str, session_id: str | None = None) -> str:
    """The websocket URL of a collaboration room (``ws://host:port/base/`` + room)."""
    if base_ws_url.startswith("http"):
        base_ws_url = "ws" + base_ws_url[len("http") :]
    if not base_ws_url.endswith("/"):
        base_ws_url += "/"
    url = f"{base_ws_url}api/collaboration/room/{room_id}"
    if session_id is not None:
        url += "?" + urllib.parse.urlencode({"sessionId": session_id})
    return url


# ---------------------------------------------------------------------------
# Notebook structure helpers (jupyter_ydoc.YNotebook layout)
# ---------------------------------------------------------------------------


def notebook_cells(doc: Doc[Any]) -> Array[Any]:
    """The ``cells`` array of a YNotebook document (an Array of Maps)."""
    cells: Array[Any] = doc.get("cells", type=Array)
    return cells


def cell_source(doc: Doc[Any], cell_index: int) -> Text:
    """The ``source`` Text of a notebook cell."""
    cell = notebook_cells(doc)[cell_index]
    if not isinstance(cell, Map):
        raise YClientError(f"cell {cell_index} is not a Map: {type(cell).__name__}")
    source = cell["source"]
    if not isinstance(source, Text):
        raise YClientError(f"cell {cell_index} source is not a Text: {type(source).__name__}")
    return source


def append_text(doc: Doc[Any], cell_index: int, text: str) -> None:
    """Type ``text`` at the end of a cell's source (one transaction = one update)."""
    source = cell_source(doc, cell_index)
    with doc.transaction():
        source.insert(len(source), text)


def insert_cell(
    doc: Doc[Any],
    index: int | None = None,
    *,
    source: str = "",
    cell_type: str = "code",
) -> None:
    """Insert a cell shaped like jupyter_ydoc's ``YNotebook.create_ycell`` builds it."""
    cell: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "cell_type": cell_type,
        "source": Text(source),
        "metadata": Map(),
    }
    if cell_type == "code":
        cell["outputs"] = Array()
        cell["execution_count"] = None
        cell["execution_state"] = "idle"
    cells = notebook_cells(doc)
    with doc.transaction():
        if index is None:
            cells.append(Map(cell))
        else:
            cells.insert(index, Map(cell))


# ---------------------------------------------------------------------------
# Awareness encoding
# ---------------------------------------------------------------------------


def encode_awareness_update(entries: list[tuple[int, int, dict[str, Any] | None]]) -> bytes:
    """Encode an awareness update (the payload of an AWARENESS message).

    ``entries`` are ``(client_id, clock, state)``; ``state=None`` encodes ``"null"``
    (the client is gone).
    """
    encoder = Encoder()
    encoder.write_var_uint(len(entries))
    for client_id, clock, state in entries:
        encoder.write_var_uint(client_id)
        encoder.write_var_uint(clock)
        encoder.write_var_string(json.dumps(state, separators=(",", ":")))
    return encoder.to_bytes()


def decode_awareness_update(payload: bytes) -> list[tuple[int, int, dict[str, Any] | None]]:
    """Decode an awareness update into ``(client_id, clock, state)`` triples."""
    decoder = Decoder(payload)
    count = decoder.read_var_uint()
    out: list[tuple[int, int, dict[str, Any] | None]] = []
    for _ in range(count):
        client_id = decoder.read_var_uint()
        clock = decoder.read_var_uint()
        raw = decoder.read_var_string()
        state = json.loads(raw) if raw else None
        out.append((client_id, clock, state if isinstance(state, dict) else None))
    return out


# ---------------------------------------------------------------------------
# The client
# ---------------------------------------------------------------------------


class YClient:
    """A y-websocket client over ``websockets`` (asyncio) with a real pycrdt Doc.

    Create it with :meth:`connect`. All methods must be called from the event loop
    that connected it.
    """

    doc: Doc[Any]
    client_id: int
    #: Awareness states received from the server, by client id (None = removed).
    awareness: AwarenessStates
    #: Last applied awareness clock per client id.
    awareness_clocks: dict[int, int]
    #: Every awareness entry received, applied or not (bounded by ``log_limit``).
    awareness_log: list[AwarenessEntry]
    #: Decoded JSON payloads of RAW (type 2) messages, e.g. save replies.
    raw_messages: list[Any]
    #: Messages whose type this client does not know (kept for inspection).
    unknown_messages: list[bytes]
    close_code: int | None
    close_reason: str | None

    def __init__(
        self,
        ws: ClientConnection,
        doc: Doc[Any],
        *,
        client_id: int | None = None,
        log_limit: int = 10_000,
    ) -> None:
        self._ws = ws
        self.doc = doc
        self.client_id = doc.client_id if client_id is None else client_id
        self.awareness = {}
        self.awareness_clocks = {}
        self.awareness_log = []
        self.raw_messages = []
        self.unknown_messages = []
        self.close_code = None
        self.close_reason = None
        self.updates_received = 0
        self.messages_received = 0
        self.last_error: BaseException | None = None
        self._log_limit = log_limit
        self._own_clocks: dict[int, int] = {}
        self._update_callbacks: list[UpdateCallback] = []
        self._awareness_callbacks: list[AwarenessCallback] = []
        self._synced = asyncio.Event()
        self._closed = asyncio.Event()
        self._aw_event = asyncio.Event()
        self._msg_event = asyncio.Event()
        self._msg_waiters = 0
        self._applying_remote = False
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._reader_task: asyncio.Task[None] | None = None
        self._writer_task: asyncio.Task[None] | None = None
        self._subscription: pycrdt.Subscription | None = None
        self._ticker_task: asyncio.Task[None] | None = None
        self._awareness_timeout: float | None = None
        #: ``time.monotonic()`` of the last applied awareness entry per client id.
        self.awareness_updated_at: dict[int, float] = {}
        self._local_state: dict[str, Any] | None = None
        self._local_state_at = 0.0
        self.frozen = False
        self.apply_updates = True

    # -- construction -------------------------------------------------------

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
        try:
            ws = await asyncio.wait_for(
                connect(
                    ws_url,
                    additional_headers=headers or {},
                    compression=None,
                    proxy=None,
                    max_size=None,
                    max_queue=max_queue,
                    ping_interval=None,
                    open_timeout=timeout,
                    close_timeout=2,
                ),
                timeout,
            )
        except (OSError, asyncio.TimeoutError) as exc:
            raise YClientError(f"cannot connect to {ws_url}: {exc!r}") from exc
        sock = ws.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self = cls(ws, doc, client_id=client_id)
        self.apply_updates = apply_updates
        self._subscription = doc.observe(self._on_local_transaction)
        self._reader_task = asyncio.create_task(self._reader())
        self._writer_task = asyncio.create_task(self._writer())
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

    async def __aenter__(self) -> YClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- properties -----------------------------------------------------------

    @property
    def synced(self) -> bool:
        return self._synced.is_set()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    @property
    def websocket(self) -> ClientConnection:
        return self._ws

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
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate(self.awareness):
            if self._closed.is_set():
                raise YClientError(f"connection closed: {self.close_code} {self.close_reason!r}")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise asyncio.TimeoutError(f"awareness predicate not met within {timeout} s")
            event = self._aw_event
            closed = asyncio.ensure_future(self._closed.wait())
            changed = asyncio.ensure_future(event.wait())
            try:
                await asyncio.wait(
                    {closed, changed}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                closed.cancel()
                changed.cancel()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float) -> None:
        """Wait until ``predicate()`` holds, re-checking after every received message.

        Typical use: ``await client.wait_until(lambda: "x" in str(cell_source(doc, 0)), 5)``.
        Raises ``asyncio.TimeoutError`` at the deadline and :class:`YClientError` if the
        connection closes first.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if self._closed.is_set():
                raise YClientError(f"connection closed: {self.close_code} {self.close_reason!r}")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise asyncio.TimeoutError(f"predicate not met within {timeout} s")
            event = self._msg_event
            closed = asyncio.ensure_future(self._closed.wait())
            changed = asyncio.ensure_future(event.wait())
            self._msg_waiters += 1
            try:
                await asyncio.wait(
                    {closed, changed}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                self._msg_waiters -= 1
                closed.cancel()
                changed.cancel()

    async def wait_closed(self, timeout: float) -> tuple[int | None, str | None]:
        """Wait until the connection is closed; returns ``(close_code, close_reason)``."""
        await asyncio.wait_for(self._closed.wait(), timeout)
        return self.close_code, self.close_reason

    # -- callbacks --------------------------------------------------------------

    def on_update(self, callback: UpdateCallback) -> None:
        """Call ``callback(update, perf_counter_at_receipt)`` for every received update.

        Both SYNC_UPDATE and SYNC_STEP2 payloads are reported (after being applied).
        """
        self._update_callbacks.append(callback)

    def on_awareness(self, callback: AwarenessCallback) -> None:
        """Call ``callback(entry)`` for every received awareness entry."""
        self._awareness_callbacks.append(callback)

    # -- sending -----------------------------------------------------------------

    async def _send(self, data: bytes) -> None:
        await self._ws.send(data)

    async def send_raw(self, data: bytes) -> None:
        """Send arbitrary bytes as one binary frame (fuzzing)."""
        await self._ws.send(data)

    async def send_update(self, update: bytes) -> None:
        """Send a Yjs update as a SYNC_UPDATE message (not applied to ``self.doc``)."""
        await self._ws.send(create_update_message(update))

    async def send_save(self, save_id: int = 1) -> None:
        """Ask the server to save the document (RAW ``save`` message, as JupyterLab)."""
        encoder = Encoder()
        encoder.write_var_uint(RAW_MESSAGE_TYPE)
        encoder.write_var_string("save")
        encoder.write_var_uint(save_id)
        await self._ws.send(encoder.to_bytes())

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
        if clock is None:
            clock = max(self._own_clocks.get(cid, -1), self.awareness_clocks.get(cid, -1)) + 1
        self._own_clocks[cid] = max(clock, self._own_clocks.get(cid, -1))
        if cid == self.client_id:
            self._local_state = state
            self._local_state_at = time.monotonic()
        payload = encode_awareness_update([(cid, clock, state)])
        await self._ws.send(create_awareness_message(payload))

    async def flush(self, timeout: float = 10) -> None:
        """Wait until every local edit queued so far was handed to the socket."""
        await asyncio.wait_for(self._outbox.join(), timeout)

    # -- closing -----------------------------------------------------------------

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection with a close handshake and stop the tasks."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._ws.close(code, reason), 5)
        self._finish()
        if self._reader_task is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._reader_task, 5)

    def freeze(self) -> None:
        """Stop reading from the socket and stop sending (a hung or partitioned client).

        The TCP connection stays open, so the server only notices through its own
        pings or timeouts (pings are not answered because nothing is read).
        """
        self.frozen = True
        self._ws.transport.pause_reading()
        self._finish()

    def abort(self) -> None:
        """Drop the TCP connection without a close handshake (a crashed client)."""
        transport = self._ws.transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # SO_LINGER 0 -> RST, like a killed process with unsent data.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00" * 2)
        transport.abort()
        self._finish()

    def _finish(self) -> None:
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                self.doc.unobserve(self._subscription)
            self._subscription = None
        if self._writer_task is not None and not self._writer_task.done():
            self._writer_task.cancel()
        if self._ticker_task is not None and not self._ticker_task.done():
            self._ticker_task.cancel()

    # -- internals ---------------------------------------------------------------

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

    async def _writer(self) -> None:
        while True:
            data = await self._outbox.get()
            try:
                await self._ws.send(data)
            except ConnectionClosed:
                pass
            except Exception as exc:
                self.last_error = exc
            finally:
                self._outbox.task_done()

    async def _awareness_ticker(self, timeout: float) -> None:
        """y-protocols' outdated-state check and keep-alive renewal."""
        while not self._closed.is_set() and not self.frozen:
            await asyncio.sleep(timeout / 10)
            now = time.monotonic()
            if self._local_state is not None and now - self._local_state_at >= timeout / 2:
                with contextlib.suppress(ConnectionClosed):
                    await self.set_awareness(self._local_state)
            removed = False
            for client_id, updated_at in list(self.awareness_updated_at.items()):
                if (
                    client_id != self.client_id
                    and now - updated_at >= timeout
                    and self.awareness.get(client_id) is not None
                ):
                    self.awareness[client_id] = None
                    removed = True
            if removed:
                self._notify_awareness()

    def _apply_remote(self, update: bytes) -> None:
        self._applying_remote = True
        try:
            self.doc.apply_update(update)
        finally:
            self._applying_remote = False

    def _notify_message(self) -> None:
        event = self._msg_event
        self._msg_event = asyncio.Event()
        event.set()

    def _notify_awareness(self) -> None:
        event = self._aw_event
        self._aw_event = asyncio.Event()
        event.set()

    async def _reader(self) -> None:
        try:
            while True:
                try:
                    message = await self._ws.recv()
                except ConnectionClosed:
                    break
                received_at = time.perf_counter()
                if isinstance(message, str):
                    self.unknown_messages.append(message.encode())
                    continue
                self.messages_received += 1
                try:
                    self._handle(message, received_at)
                except Exception as exc:
                    # A broken frame from the server must not kill the client.
                    self.last_error = exc
                    self._remember(self.unknown_messages, message)
                if self._msg_waiters:
                    self._notify_message()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # pragma: no cover - defensive
            self.last_error = exc
        finally:
            self.close_code = self._ws.close_code
            self.close_reason = self._ws.close_reason
            self._closed.set()
            self._finish()
            self._notify_awareness()
            self._notify_message()

    def _remember(self, bucket: list[Any], item: Any) -> None:
        if len(bucket) < self._log_limit:
            bucket.append(item)

    def _handle(self, message: bytes, received_at: float) -> None:
        if not message:
            return
        msg_type = message[0]
        if msg_type == YMessageType.SYNC:
            sub_type = message[1]
            payload = message[1:]
            if sub_type == YSyncMessageType.SYNC_STEP1:
                reply = handle_sync_message(payload, self.doc)
                if reply is not None:
                    self._outbox.put_nowait(reply)
                return
            if sub_type in (YSyncMessageType.SYNC_STEP2, YSyncMessageType.SYNC_UPDATE):
                update = Decoder(message[2:]).read_message()
                if update is None:
                    raise YClientError("truncated sync message")
                if update != b"\x00\x00" and (
                    self.apply_updates or sub_type == YSyncMessageType.SYNC_STEP2
                ):
                    self._apply_remote(update)
                if sub_type == YSyncMessageType.SYNC_STEP2:
                    self._synced.set()
                else:
                    self.updates_received += 1
                for update_cb in self._update_callbacks:
                    update_cb(update, received_at)
                return
            self._remember(self.unknown_messages, message)
            return
        if msg_type == YMessageType.AWARENESS:
            aw_payload = Decoder(message[1:]).read_message()
            if aw_payload is None:
                raise YClientError("truncated awareness message")
            changed = False
            for client_id, clock, state in decode_awareness_update(aw_payload):
                current = self.awareness_clocks.get(client_id)
                applied = bool(
                    current is None
                    or current < clock
                    or (
                        current == clock
                        and state is None
                        and self.awareness.get(client_id) is not None
                    )
                )
                if applied:
                    self.awareness_clocks[client_id] = clock
                    self.awareness[client_id] = state
                    self.awareness_updated_at[client_id] = time.monotonic()
                    changed = True
                entry = AwarenessEntry(client_id, clock, state, received_at, applied)
                self._remember(self.awareness_log, entry)
                for awareness_cb in self._awareness_callbacks:
                    awareness_cb(entry)
            if changed:
                self._notify_awareness()
            return
        if msg_type == RAW_MESSAGE_TYPE:
            decoder = Decoder(message)
            decoder.read_var_uint()
            text = decoder.read_var_string()
            try:
                self._remember(self.raw_messages, json.loads(text))
            except ValueError:
                self._remember(self.raw_messages, text)
            return
        self._remember(self.unknown_messages, message)
