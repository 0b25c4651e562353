"""What the stock browser does with awareness, in Python, for tests.

A faithful model of y-protocols' ``Awareness`` (``applyAwarenessUpdate``,
``setLocalState``, ``removeAwarenessStates``, the 15 s renewal and 30 s
timeout) together with y-websocket's ``WebsocketProvider``, which sends
every *changed* client back to the server whatever the origin of the
change, remote ones included, and announces its own state when a socket
opens. Read from y-protocols/awareness.js and y-websocket's provider as
bundled by JupyterLab 4.6 (``@jupyter/docprovider``).

The server's rules must converge with this client: a rule that makes it
loop is a bug in the rule (issue 11). :class:`StockAwareness` is pure (no
I/O): feed it received entries, send what it returns.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

Entry = tuple[int, int, dict[str, Any] | None]
"""(client id, clock, state or None for a removal)."""

OUTDATED_TIMEOUT = 30.0


@dataclass
class _Meta:
    clock: int
    last_updated: float


class StockAwareness:
    """One browser tab's awareness for one room."""

    def __init__(self, client_id: int, state: dict[str, Any] | None = None) -> None:
        self.client_id = client_id
        self.states: dict[int, dict[str, Any]] = {}
        self.meta: dict[int, _Meta] = {}
        self.sent = 0
        """Entries this tab has sent (its own and echoes)."""
        self.set_local_state({} if state is None else state)

    @property
    def clock(self) -> int:
        return self.meta[self.client_id].clock

    def local_state(self) -> dict[str, Any] | None:
        return self.states.get(self.client_id)

    def set_local_state(
        self, state: dict[str, Any] | None, now: float | None = None
    ) -> list[Entry]:
        """``setLocalState``: bump the own clock; returns what the provider sends."""
        now = time.monotonic() if now is None else now
        current = self.meta.get(self.client_id)
        clock = 0 if current is None else current.clock + 1
        if state is None:
            self.states.pop(self.client_id, None)
        else:
            self.states[self.client_id] = state
        self.meta[self.client_id] = _Meta(clock, now)
        return self.encode([self.client_id])

    def apply(self, entries: list[Entry], now: float | None = None) -> list[Entry]:
        """``applyAwarenessUpdate``; returns the provider's echo (may be empty)."""
        now = time.monotonic() if now is None else now
        changed: list[int] = []
        for client_id, clock, state in entries:
            meta = self.meta.get(client_id)
            current = 0 if meta is None else meta.clock
            if current < clock or (current == clock and state is None and client_id in self.states):
                if state is None:
                    if client_id == self.client_id and self.local_state() is not None:
                        # Never let a remote client remove the local state:
                        # announce it again with a higher clock.
                        clock += 1
                    else:
                        self.states.pop(client_id, None)
                else:
                    self.states[client_id] = state
                self.meta[client_id] = _Meta(clock, now)
                # added, updated and removed all go into the "update" event
                if meta is not None or state is not None:
                    changed.append(client_id)
        return self.encode(changed)

    def remove_remote(self, origin_timeout: bool = False) -> list[Entry]:
        """The provider's socket closed: drop every remote state, clocks kept."""
        gone = [cid for cid in self.states if cid != self.client_id]
        for cid in gone:
            del self.states[cid]
        return self.encode(gone)

    def tick(self, now: float | None = None) -> list[Entry]:
        """The 3 s check: renew our state after 15 s, time out others after 30 s."""
        now = time.monotonic() if now is None else now
        out: list[Entry] = []
        own = self.meta.get(self.client_id)
        if (
            self.local_state() is not None
            and own
            and now - own.last_updated >= OUTDATED_TIMEOUT / 2
        ):
            out += self.set_local_state(self.local_state(), now)
        stale = [
            cid
            for cid, meta in self.meta.items()
            if cid != self.client_id
            and now - meta.last_updated >= OUTDATED_TIMEOUT
            and cid in self.states
        ]
        for cid in stale:
            del self.states[cid]
        return out + self.encode(stale)

    def on_open(self) -> list[Entry]:
        """The provider's ``onopen``: announce the own state with its current clock."""
        if self.local_state() is None:
            return []
        return self.encode([self.client_id])

    def encode(self, client_ids: list[int]) -> list[Entry]:
        """``encodeAwarenessUpdate``: current clock and state (None if absent)."""
        out = [(cid, self.meta[cid].clock, self.states.get(cid)) for cid in client_ids]
        self.sent += len(out)
        return out


class StockTab:
    """A :class:`StockAwareness` driving a real websocket client.

    Every awareness frame the client receives is applied with y-protocols'
    rules and whatever changed is sent back at once, as a JupyterLab tab
    does. Counts what it sent, to show whether a room settles.
    """

    def __init__(self, client: Any, state: dict[str, Any] | None = None) -> None:
        from pycrdt import create_awareness_message

        from .yclient import encode_awareness_update

        self.client = client
        self.awareness = StockAwareness(client.client_id, state)
        self.messages_sent = 0
        self._pending: list[Entry] = []
        self._encode = encode_awareness_update
        self._message = create_awareness_message
        self._tasks: set[Any] = set()
        client.on_awareness(self._on_entry)
        # What arrived while the socket opened (the server's snapshot of the
        # room) was received before this tab existed: apply it now.
        for entry in list(client.awareness_log):
            self._on_entry(entry)

    async def announce(self) -> None:
        """What the provider does when its socket opens."""
        await self._send(self.awareness.on_open())

    async def set_local_state(self, state: dict[str, Any]) -> None:
        await self._send(self.awareness.set_local_state(state))

    def _on_entry(self, entry: Any) -> None:
        # Entries of one frame arrive in one synchronous burst: apply them
        # together, as applyAwarenessUpdate does with one update.
        if not self._pending:
            import asyncio

            asyncio.get_running_loop().call_soon(self._flush)
        self._pending.append((entry.client_id, entry.clock, entry.state))

    def _flush(self) -> None:
        import asyncio

        entries, self._pending = self._pending, []
        echo = self.awareness.apply(entries)
        if echo and not self.client.closed:
            task = asyncio.ensure_future(self._send(echo))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self, entries: list[Entry]) -> None:
        if not entries or self.client.closed:
            return
        self.messages_sent += 1
        await self.client.send_raw(self._message(self._encode(entries)))
