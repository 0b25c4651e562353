"""Faults (issue 7, part 4, a and d): the server killed mid-edit, guests' networks dropping.

(a) A real ``jupyter_server`` subprocess is killed with SIGKILL while two people type;
    every edit the server confirmed as saved is in the file, the file is a valid
    notebook, and after a restart the room holds each marker exactly once: every edit
    the server had fanned out to a third client at least 200 ms before the kill
    (restored from the YStore, issue 16), nothing never typed.
(d) A guest's connections are cut (TCP reset, as a crashed laptop or a lost Wi-Fi) and
    come back with the same document, several times, while everyone keeps typing,
    offline edits included: no edit is lost or duplicated, in every client and on disk,
    and presence shows one row with the right number of connections.

The hub-side faults (b, c) are in ``test_reliability_hub_faults.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from pathlib import Path
from typing import Any

import pycrdt

from rtc_presence.pytest_plugin import RTCServer
from rtc_presence.testing.stockawareness import StockTab
from rtc_presence.testing.yclient import YClient, append_text, room_url
from tests.reliability.util import (
    USERS,
    SubprocessServer,
    doc_text,
    file_sources,
    marker,
    markers,
    record,
    save_until_success,
    until,
)


class Typist:
    """Types unique markers into one cell of its client's document."""

    def __init__(self, client: YClient, who: str, cell: int) -> None:
        self.client = client
        self.who = who
        self.cell = cell
        self.typed: list[str] = []

    def type(self, n: int = 1) -> None:
        for _ in range(n):
            m = marker(self.who, len(self.typed))
            append_text(self.client.doc, self.cell, m)
            self.typed.append(m)


def _size(path: Path) -> int:
    return path.stat().st_size


async def test_kill9_mid_edit_then_restart_keeps_saved_work(tmp_path: Path) -> None:
    server = SubprocessServer(tmp_path / "server", USERS)
    clients: list[YClient] = []
    try:
        # carol watches and presses Ctrl-S
        clients += await server.start_and_join(
            "crash.ipynb", ["# alice\n", "# bob\n"], ["alice", "bob", "carol"]
        )
        alice, bob, carol = clients
        path = server.root / "crash.ipynb"
        # When each marker first reached carol: what the server had fanned out.
        fanned_at: dict[str, float] = {}

        def seen(_update: bytes, _at: float) -> None:
            now = time.monotonic()
            for m in markers(doc_text(carol.doc)):
                fanned_at.setdefault(m, now)

        carol.on_update(seen)
        typists = [Typist(alice, "alice", 0), Typist(bob, "bob", 1)]

        # Rounds of typing, each confirmed by a save: what carol sees has been applied by
        # the server, so a "success" after that covers it.
        confirmed: set[str] = set()
        save_id = 0
        for _ in range(5):
            for _ in range(10):
                for t in typists:
                    t.type()
                await asyncio.sleep(0.01)
            wanted = {m for t in typists for m in t.typed}
            await carol.wait_until(lambda: set(markers(doc_text(carol.doc))) >= wanted, 10)  # noqa: B023
            seen = set(markers(doc_text(carol.doc)))
            save_id = await save_until_success(carol, save_id + 1)
            confirmed |= seen
        on_disk = markers("".join(file_sources(path)))
        assert set(on_disk) >= confirmed

        # Mid-edit: both keep typing, and the server is killed without warning.
        stop = asyncio.Event()

        async def keep_typing(t: Typist) -> None:
            while not stop.is_set():
                t.type()
                await asyncio.sleep(0.005)

        tasks = [asyncio.create_task(keep_typing(t)) for t in typists]
        await asyncio.sleep(0.7)
        t_kill = time.monotonic()
        server.kill9()
        stop.set()
        await asyncio.gather(*tasks)
        for c in clients:
            code, _ = await c.wait_closed(10)
            assert code == 1006  # no close frame: the process is gone
        # The killed server kept its YStore in SQLite's WAL (ystorejournal, "auto" on
        # this local disk): the restart below reads commits still in the -wal file.
        ystore_db = server.workdir / ".jupyter_ystore.db"
        assert _size(Path(f"{ystore_db}-wal")) > 0
        typed = {m for t in typists for m in t.typed}
        unsaved = typed - confirmed
        acknowledged = {m for m, at in fanned_at.items() if at <= t_kill - 0.2}
        assert acknowledged - confirmed, "nothing was fanned out after the last save"

        # The file is a whole notebook (saves are atomic) with every confirmed edit once.
        after_kill = markers("".join(file_sources(path)))
        assert set(after_kill) >= confirmed
        assert all(n == 1 for n in after_kill.values()), after_kill.most_common(3)

        # Restart on the same files (root, file ids, YStore): the room holds each marker
        # once, every one fanned out 200 ms before the kill (the confirmed ones among
        # them), nothing that was never typed; and it was saved to the file at once.
        server.start()
        restart_s = await server.wait_ready_async()
        reopened = await server.room("alice", "crash.ipynb")
        clients.append(reopened)
        counts = markers(doc_text(reopened.doc))
        assert set(counts) >= confirmed, sorted(confirmed - set(counts))[:5]
        assert set(counts) >= acknowledged, sorted(acknowledged - set(counts))[:5]
        assert set(counts) <= typed
        assert all(n == 1 for n in counts.values()), counts.most_common(3)
        assert markers("".join(file_sources(path))) == counts  # restored and saved
        # ... and saving it again writes exactly that.
        await save_until_success(reopened, 1000)
        assert markers("".join(file_sources(path))) == counts
        with sqlite3.connect(ystore_db) as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        # The server logged no traceback while being killed and restarted.
        assert server.errors_in_logs() == [], server.log_tail()
        record(
            "kill9_single_user_server",
            {
                "edits_typed": len(typed),
                "edits_confirmed_saved": len(confirmed),
                "edits_unsaved_at_kill": len(unsaved),
                "edits_fanned_out": len(fanned_at),
                "edits_fanned_out_200ms_before_kill": len(acknowledged),
                "unsaved_recovered_after_restart": len(set(counts) & unsaved),
                "recovered": len(counts),
                "acknowledged_lost": len(acknowledged - set(counts)),
                "fanned_out_lost": len(set(fanned_at) - set(counts)),
                "fanned_out_lost_max_ms_before_kill": round(
                    max((t_kill - fanned_at[m] for m in set(fanned_at) - set(counts)), default=0)
                    * 1000,
                    1,
                ),
                "confirmed_lost": len(confirmed - set(counts)),
                "duplicated": sum(1 for n in counts.values() if n > 1),
                "restart_seconds": round(restart_s, 1),
                "seconds_since_kill": round(time.monotonic() - t_kill, 1),
            },
        )
    finally:
        for c in clients:
            if not c.closed:
                c.abort()
        server.stop()


async def _reconnect(url: str, headers: dict[str, str], doc: pycrdt.Doc[Any]) -> YClient:
    return await YClient.connect(url, headers=headers, doc=doc)


async def test_guest_network_drops_lose_and_duplicate_nothing(rtc_server: RTCServer) -> None:
    path = rtc_server.notebook("drops.ipynb", cells=2)
    url = await rtc_server.room_link("bob", path)
    global_url = room_url(rtc_server.ws_url, "JupyterLab:globalAwareness")
    bob_headers = rtc_server.auth("bob")
    alice = await rtc_server.room("alice", path)
    bob_doc: pycrdt.Doc[Any] = pycrdt.Doc()
    bob = await _reconnect(url, bob_headers, bob_doc)
    bob_global = await YClient.connect(global_url, headers=bob_headers)
    a, b = Typist(alice, "alice", 0), Typist(bob, "bob", 1)
    drops = 10
    offline_edits = 0
    t0 = time.monotonic()
    try:
        for cycle in range(drops):
            a.type(3)
            b.type(3)
            # (clocks well apart: see the reconnect test below for y-websocket's own clocks)
            await bob.set_awareness({"cursor": {"head": cycle}}, clock=100 * (cycle + 1))
            await asyncio.sleep(0.05)
            # the network goes: both of bob's sockets are reset, no close handshake
            bob.abort()
            bob_global.abort()
            a.type(2)
            b.type(2)  # typed while offline: only in bob's document for now
            offline_edits += 2
            await asyncio.sleep(0.05)
            bob = await _reconnect(url, bob_headers, bob_doc)
            bob_global = await YClient.connect(global_url, headers=bob_headers)
            b.client = bob
        await bob.set_awareness({"cursor": {"head": "last"}}, clock=100 * (drops + 1))
        everything = set(a.typed) | set(b.typed)
        for client in (alice, bob):
            await client.wait_until(
                lambda c=client: set(markers(doc_text(c.doc))) >= everything,  # type: ignore[misc]
                10,
            )
            counts = markers(doc_text(client.doc))
            assert set(counts) == everything and max(counts.values()) == 1, counts.most_common(3)
        await save_until_success(alice, 1)
        assert markers("".join(file_sources(rtc_server.root / path))) == markers(
            doc_text(alice.doc)
        )
        # presence: one row for bob with his two live connections
        presence = rtc_server.state.presence

        def bob_row() -> list[dict[str, Any]]:
            return [p for p in presence.people() if p["username"] == "bob"]

        await until(lambda: len(bob_row()) == 1 and bob_row()[0]["connections"] == 2, 5, "bob")
        assert len([p for p in presence.people() if p["username"] == "alice"]) == 1
        # awareness: alice sees bob's current state, once
        await alice.wait_awareness(
            lambda s: (s.get(bob.client_id) or {}).get("cursor") == {"head": "last"}, 5
        )
        bobs = [s for s in alice.awareness.values() if s and s["user"]["username"] == "bob"]
        assert len(bobs) == 1, bobs
        record(
            "network_drops",
            {
                "drops": drops,
                "edits": len(everything),
                "offline_edits": offline_edits,
                "lost": 0,
                "duplicated": 0,
                "presence_rows_for_bob": 1,
                "seconds": round(time.monotonic() - t0, 1),
            },
        )
    finally:
        for c in (bob, bob_global):
            if not c.closed:
                c.abort()


async def test_reconnect_after_reset_shows_the_cursor_at_once(rtc_server: RTCServer) -> None:
    """y-websocket keeps its Awareness across reconnects and, on open, sends its local
    state with the clock it already had. The server broadcast the old connection's
    removal at that clock, so peers ignore the state (Yjs clock rule). Lifting the
    clock on the server made stock tabs adopt and re-send it without end (issue 11's
    storm); instead the server nudges the tab (a removal of its own id, for it alone),
    which y-protocols answers by announcing itself one clock higher: seen at once."""
    path = rtc_server.notebook("reconnect.ipynb", cells=1)
    url = await rtc_server.room_link("bob", path)
    alice = await rtc_server.room("alice", path)
    bob = StockTab(await YClient.connect(url, headers=rtc_server.auth("bob")))
    await bob.set_local_state({"cursor": 1})
    await alice.wait_awareness(lambda s: (s.get(bob.client.client_id) or {}).get("cursor") == 1, 5)
    bob.client.abort()
    await alice.wait_awareness(lambda s: s.get(bob.client.client_id) is None, 2)
    again = await YClient.connect(url, headers=rtc_server.auth("bob"), doc=bob.client.doc)
    tab = StockTab(again)
    tab.awareness = bob.awareness  # the same Awareness object survives the reconnect
    try:
        await tab.announce()  # what y-websocket sends on open
        await alice.wait_awareness(lambda s: (s.get(again.client_id) or {}).get("cursor") == 1, 2)
        await tab.set_local_state({"cursor": 2})  # his next move
        await alice.wait_awareness(lambda s: (s.get(again.client_id) or {}).get("cursor") == 2, 2)
    finally:
        again.abort()


async def test_half_open_drop_then_reconnect_keeps_the_guest_visible(
    rtc_server: RTCServer,
) -> None:
    """A network change often leaves the old socket half-open (no reset reaches the
    server). The browser reconnects at once with the same Yjs document and awareness
    client id. The new connection's awareness used to be dropped as "forged" (the id
    belonged to the stale connection) until pings dropped the stale one, which then
    broadcast the id's removal: the guest vanished until his next update."""
    path = rtc_server.notebook("halfopen.ipynb", cells=1)
    url = await rtc_server.room_link("bob", path)
    alice = await rtc_server.room("alice", path)
    bob = await YClient.connect(url, headers=rtc_server.auth("bob"))
    await bob.set_awareness({"cursor": 1}, clock=1)
    await alice.wait_awareness(lambda s: (s.get(bob.client_id) or {}).get("cursor") == 1, 5)
    bob.freeze()  # the old socket stays open on the server's side
    again = await YClient.connect(url, headers=rtc_server.auth("bob"), doc=bob.doc)
    try:
        await again.set_awareness({"cursor": 2}, clock=10)
        await alice.wait_awareness(lambda s: (s.get(bob.client_id) or {}).get("cursor") == 2, 2)
        cfg = rtc_server.state.settings
        await asyncio.sleep(cfg.ping_interval + cfg.ping_timeout + 1.5)
        assert (alice.awareness.get(bob.client_id) or {}).get("cursor") == 2, alice.awareness
        people = {p["username"]: p for p in rtc_server.state.presence.people()}
        assert people["bob"]["connections"] == 1
    finally:
        with contextlib.suppress(Exception):
            bob.abort()
        again.abort()
