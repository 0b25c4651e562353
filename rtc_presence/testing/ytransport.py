"""The websocket machinery under a test client: one task reads, one writes.

:class:`FrameTransport` reads every frame in a task and hands binary ones to
``_handle`` (the protocol on top: :class:`~.yclient.YClient`), writes queued
frames in another (local edits are queued from pycrdt callbacks, which cannot
await), keeps the close code and reason, and offers the one wait with a
deadline the clients use. Closing: a handshake (:meth:`close`), a crash
(:meth:`abort`) or a hang (:meth:`freeze`, :mod:`.yfaults`).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from . import yfaults
from .closing import AsyncClosing
from .ywire import YClientError

__all__ = ["FrameTransport", "open_websocket"]


async def open_websocket(
    ws_url: str, headers: dict[str, str] | None, timeout: float, max_queue: int | None
) -> ClientConnection:
    """Open a websocket as the test clients use it (no compression, no pings of
    its own, unbounded frames, TCP_NODELAY as the server sets it)."""
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
    return ws


class FrameTransport(AsyncClosing):
    """A websocket read and written by tasks; subclasses implement ``_handle``."""

    #: Messages whose type this client does not know (kept for inspection).
    unknown_messages: list[bytes]
    close_code: int | None
    close_reason: str | None

    def __init__(self, ws: ClientConnection, *, log_limit: int = 10_000) -> None:
        self._ws = ws
        self.unknown_messages = []
        self.close_code = None
        self.close_reason = None
        self.messages_received = 0
        self.last_error: BaseException | None = None
        self.frozen = False
        self._log_limit = log_limit
        self._closed = asyncio.Event()
        self._msg_event = asyncio.Event()
        self._msg_waiters = 0
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._reader_task: asyncio.Task[None] | None = None
        self._writer_task: asyncio.Task[None] | None = None

    def _start(self) -> None:
        self._reader_task = asyncio.create_task(self._reader())
        self._writer_task = asyncio.create_task(self._writer())

    async def aclose(self) -> None:
        """:meth:`close` with the normal code (``async with`` ends here)."""
        await self.close()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    @property
    def websocket(self) -> ClientConnection:
        return self._ws

    # -- waiting ----------------------------------------------------------------

    async def wait_until(self, predicate: Callable[[], bool], timeout: float) -> None:
        """Wait until ``predicate()`` holds, re-checking after every received message.

        Typical use: ``await client.wait_until(lambda: "x" in str(cell_source(doc, 0)), 5)``.
        Raises ``asyncio.TimeoutError`` at the deadline and :class:`YClientError` if the
        connection closes first.
        """
        await self._wait(predicate, "predicate", timeout)

    async def _wait(
        self,
        holds: Callable[[], bool],
        what: str,
        timeout: float,
        changed: Callable[[], asyncio.Event] | None = None,
    ) -> None:
        """The one wait with a deadline: re-check ``holds`` whenever the event
        ``changed()`` fires (default: after each received message)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        every_message = changed is None
        while not holds():
            if self._closed.is_set():
                raise YClientError(f"connection closed: {self.close_code} {self.close_reason!r}")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise asyncio.TimeoutError(f"{what} not met within {timeout} s")
            event = self._msg_event if changed is None else changed()
            closed = asyncio.ensure_future(self._closed.wait())
            fired = asyncio.ensure_future(event.wait())
            # The reader wakes message waiters only while there are some.
            self._msg_waiters += every_message
            try:
                await asyncio.wait(
                    {closed, fired}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                self._msg_waiters -= every_message
                closed.cancel()
                fired.cancel()

    async def wait_closed(self, timeout: float) -> tuple[int | None, str | None]:
        """Wait until the connection is closed; returns ``(close_code, close_reason)``."""
        await asyncio.wait_for(self._closed.wait(), timeout)
        return self.close_code, self.close_reason

    # -- sending and closing ------------------------------------------------------

    async def _send(self, data: bytes) -> None:
        await self._ws.send(data)

    async def send_raw(self, data: bytes) -> None:
        """Send arbitrary bytes as one binary frame (fuzzing)."""
        await self._ws.send(data)

    async def flush(self, timeout: float = 10) -> None:
        """Wait until every frame queued so far was handed to the socket."""
        await asyncio.wait_for(self._outbox.join(), timeout)

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
        yfaults.hang(self._ws)
        self._finish()

    def abort(self) -> None:
        """Drop the TCP connection without a close handshake (a crashed client)."""
        yfaults.crash(self._ws)
        self._finish()

    def _finish(self) -> None:
        """Stop sending (extended by subclasses for what they run)."""
        if self._writer_task is not None and not self._writer_task.done():
            self._writer_task.cancel()

    # -- the tasks ------------------------------------------------------------------

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
            self._wake_all()

    def _handle(self, message: bytes, received_at: float) -> None:
        """One received binary frame (``received_at``: ``time.perf_counter()``)."""
        raise NotImplementedError

    def _wake_all(self) -> None:
        """The connection closed: wake every waiter (extended by subclasses)."""
        self._notify_message()

    def _notify_message(self) -> None:
        event = self._msg_event
        self._msg_event = asyncio.Event()
        event.set()

    def _remember(self, bucket: list[Any], item: Any) -> None:
        if len(bucket) < self._log_limit:
            bucket.append(item)
