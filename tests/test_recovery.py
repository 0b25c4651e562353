"""No lost edits (issue 16): autosave with a maximum wait, crash recovery, and the
upstream members they rely on.

Real ``jupyter_server`` subprocesses (``SubprocessServer``, own YStore and file-id
database in the test's temporary directory), SIGKILL, real Yjs clients. The kill -9
test of acknowledged edits is ``test_reliability_faults.py::
test_kill9_mid_edit_then_restart_keeps_saved_work``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import nbformat
import pycrdt
import pytest
import sqlite_anyio
from jupyter_server_ydoc.handlers import YDocWebSocketHandler
from jupyter_server_ydoc.rooms import DocumentRoom
from pycrdt.store import SQLiteYStore
from websockets.asyncio.client import ClientConnection, connect

from rtc_presence.testing.waiting import until
from rtc_presence.testing.yclient import YClient, append_text
from rtc_presence.ywriter import YStoreWriter, batchable, write_batch
from tests.reliability.util import (
    USERS,
    SubprocessServer,
    doc_text,
    file_sources,
    marker,
    markers,
    record,
    write_notebook,
)


def test_upstream_members_recovery_relies_on(tmp_path: Path) -> None:
    # rtc_presence.durable: DocumentRoom's private members it uses.
    init = inspect.getsource(DocumentRoom.__init__)
    for name in ("self._file", "self._save_delay", "self._update_lock"):
        assert name in init, name
    assert callable(DocumentRoom._save_to_disc) and callable(DocumentRoom.create_task)
    # the forced save is upstream's save task, returned (None while a file loads)
    assert "return self._saving_document" in inspect.getsource(DocumentRoom._save_to_disc)
    save = inspect.getsource(DocumentRoom._maybe_save_document)
    # the content is taken right before the loader's save, whose result has the hash
    assert '"content": await self._document.aget()' in save
    assert "await self._file.maybe_save_content(" in save
    assert 'saved_model["hash"]' in save
    assert "saving_document.cancel()" in save  # why SavingLoader shields the save
    # a cancelled save returns quietly (why autosave restarts one that took nothing)
    assert "except asyncio.CancelledError:\n            return" in save
    on_change = inspect.getsource(DocumentRoom._on_document_change)
    assert "self._update_lock.locked()" in on_change and '"autosave"' in on_change
    init_room = inspect.getsource(DocumentRoom.initialize)
    assert "out-of-sync" in init_room and "self.ystore.apply_updates(self.ydoc)" in init_room
    # rooms.py: upstream awaits a save inside on_message (why it runs in a task)
    assert "await save_task" in inspect.getsource(YDocWebSocketHandler.on_message)

    # rtc_presence.ywriter: SQLiteYStore's private members, and that a batch it
    # writes (checkpoints included) reads back as upstream's writes do.
    write = inspect.getsource(SQLiteYStore.write)
    for name in ("self._db", "self.lock", "self._update_counter", "self._compress"):
        assert name in write, name
    assert '"INSERT INTO yupdates VALUES (?, ?, ?, ?)"' in write
    assert "timestamp >= ?" in inspect.getsource(SQLiteYStore._apply_checkpointed_updates)
    # ...and sqlite_anyio's: the batch is one hop to its worker thread, on the real
    # connection, under the connection's limiter. Its handler, which the store
    # installs, logs and swallows errors: why the batch raises on its own.
    connection_init = inspect.getsource(sqlite_anyio.Connection.__init__)
    assert "self._real_connection = _real_connection" in connection_init
    assert "self._limiter = CapacityLimiter(1)" in connection_init
    assert "exception_handler=exception_logger" in inspect.getsource(SQLiteYStore._init_db)

    async def roundtrip() -> None:
        class Store(SQLiteYStore):
            db_path = str(tmp_path / "ystore.db")
            checkpoint_interval = 3

        store = Store("doc")
        async with store:
            assert batchable(store)
            doc: pycrdt.Doc[Any] = pycrdt.Doc()
            text = doc.get("t", type=pycrdt.Text)
            updates: list[bytes] = []
            doc.observe(lambda event: updates.append(event.update))
            writer = YStoreWriter(store, store.log, "wal")
            for batch in range(10):
                for i in range(batch + 1):
                    text += f"<{batch}.{i}>"
                await write_batch(store, updates, writer)
                writer.batches += 1
                updates.clear()
            again: pycrdt.Doc[Any] = pycrdt.Doc()
            async with Store("doc") as fresh:  # a fresh connection, as after a restart
                await fresh.apply_updates(again)
            assert str(again.get("t", type=pycrdt.Text)) == str(text)
            assert writer.next_timestamp(0) > time.time() - 1
            assert writer.wal and not writer.wal_pending  # switched before the first batch
            # A batch that fails is rolled back and raises (the writer keeps it and
            # retries), however the store's connection handles errors.
            store_any: Any = store
            store_any._db._real_connection.execute("ALTER TABLE yupdates RENAME TO moved")
            store_any._db._real_connection.commit()
            with pytest.raises(sqlite3.OperationalError):
                await write_batch(store, [doc.get_update()], writer)
            assert not store_any._db._real_connection.in_transaction

    asyncio.run(roundtrip())


async def _ws(server: SubprocessServer, user: str, path: str) -> ClientConnection:
    return await connect(
        server.ws_url + path, additional_headers=server.auth(user), proxy=None, open_timeout=10
    )


async def _type_for(typists: list[tuple[YClient, str, int]], seconds: float) -> dict[str, float]:
    """Each typist appends a unique marker every 0.1 s for ``seconds``; returns when
    each marker was typed (time.monotonic)."""
    typed: dict[str, float] = {}
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        for client, who, cell in typists:
            m = marker(who, n)
            append_text(client.doc, cell, m)
            typed[m] = time.monotonic()
        n += 1
        await asyncio.sleep(0.1)
    return typed


async def _read_markers(path: Path) -> set[str]:
    """The markers in the notebook on disk. jupyter_server writes a notebook in place
    (``atomic_writing`` in jupyter_server/services/contents/fileio.py keeps a backup
    and restores it when *it* reads a broken file), so another program can read a
    partial file during a save: read again until it is whole."""
    found: set[str] = await until(
        lambda: set(markers("".join(file_sources(path)))),
        1,
        f"{path} readable",
        interval=0.01,
        accept=lambda _: True,  # no marker yet is an answer too
        ignore=(ValueError,),  # nbformat.reader.NotJSONError: a partial file
    )
    return found


async def test_continuous_typing_file_never_more_than_max_save_wait_behind(
    tmp_path: Path,
) -> None:
    max_wait = 5.0
    seconds = 30.0
    server = SubprocessServer(tmp_path / "server", USERS, {"max_save_wait": max_wait})
    # upstream's default debounce: typing every 0.1 s never leaves it a pause
    server.config["YDocExtension"]["document_save_delay"] = 1.0
    clients: list[YClient] = []
    try:
        clients += await server.start_and_join(
            "typing.ipynb", ["# alice\n", "# bob\n"], ["alice", "bob"]
        )
        alice, bob = clients
        path = server.root / "typing.ipynb"

        typing = asyncio.create_task(_type_for([(alice, "alice", 0), (bob, "bob", 1)], seconds))
        samples: list[tuple[float, set[str]]] = []
        while not typing.done():
            await asyncio.sleep(0.2)
            at = time.monotonic()
            samples.append((at, await _read_markers(path)))
        typed = await typing
        # how far behind the file was at each sample: the oldest marker typed before
        # the sample and not in it
        behind = [
            max((at - typed[m] for m in typed if typed[m] < at and m not in on_disk), default=0)
            for at, on_disk in samples
        ]
        writes = len({frozenset(s) for _, s in samples})
        # read as the sampler does: the server may be writing the file right now
        await until(
            lambda: _read_markers(path), 15, "the last save", accept=lambda m: m == set(typed)
        )
        record(
            "autosave_max_wait",
            {
                "seconds_typing": seconds,
                "edits_typed": len(typed),
                "max_save_wait": max_wait,
                "document_save_delay": 1.0,
                "samples": len(samples),
                "file_versions_seen": writes,
                "max_seconds_behind": round(max(behind), 2),
            },
        )
        assert max(behind) <= max_wait + 1.0, max(behind)
        assert server.errors_in_logs() == [], server.log_tail()
    finally:
        for c in clients:
            if not c.closed:
                c.abort()
        server.stop()


async def _next_json(ws: ClientConnection, want: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no {want!r} message within {timeout} s")
        message = json.loads(await asyncio.wait_for(ws.recv(), remaining))
        if message.get("type") == want:
            return dict(message)


async def test_file_changed_while_down_wins_copy_holds_room_version_owner_told(
    tmp_path: Path,
) -> None:
    server = SubprocessServer(tmp_path / "server", USERS)
    clients: list[YClient] = []
    try:
        # carol sees what was fanned out
        clients += await server.start_and_join(
            "ext.ipynb", ["# alice\n", "# bob\n"], ["alice", "bob", "carol"]
        )
        alice, bob, carol = clients
        path = server.root / "ext.ipynb"
        typed = await _type_for([(alice, "alice", 0), (bob, "bob", 1)], 1.0)
        await carol.wait_until(lambda: set(markers(doc_text(carol.doc))) == set(typed), 10)
        fanned_out = set(markers(doc_text(carol.doc)))
        await asyncio.sleep(0.2)  # fanned out at least 200 ms before the kill
        server.kill9()
        for c in clients:
            await c.wait_closed(10)

        # Another program rewrites the file while the server is down (git checkout).
        write_notebook(path, ["# rewritten elsewhere\n", "print('theirs')\n"])
        theirs = file_sources(path)

        server.start()
        await server.wait_ready_async()
        owner_stream = await _ws(server, "alice", "api/rtc-presence/presence/stream")
        guest_stream = await _ws(server, "bob", "api/rtc-presence/presence/stream")
        reopened = await server.room("bob", "ext.ipynb")
        clients.append(reopened)
        notice = await _next_json(owner_stream, "recovered", 15)
        # the file wins, in the room and on disk
        assert [str(c["source"]) for c in reopened.doc.get("cells", type=pycrdt.Array)] == theirs
        assert file_sources(path) == theirs
        # the recovery copy, next to the file, holds the room's version
        assert notice["path"] == "ext.ipynb"
        copy = server.root / notice["copy"]
        assert copy.parent == path.parent and copy.name.startswith("ext.recovered-")
        assert copy.suffix == ".ipynb"
        nbformat.validate(nbformat.read(copy, as_version=4))  # type: ignore[no-untyped-call]
        in_copy = markers("".join(file_sources(copy)))
        assert set(in_copy) >= fanned_out and set(in_copy) <= set(typed)
        assert all(n == 1 for n in in_copy.values()), in_copy.most_common(3)
        # told once: not to a guest, not again to an owner's stream that opens later
        later = await _ws(server, "alice", "api/rtc-presence/presence/stream")
        await asyncio.sleep(0.5)  # let any (wrong) second notice arrive
        for ws in (guest_stream, later):
            while True:
                try:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 0.2))
                except asyncio.TimeoutError:
                    break
                assert message.get("type") != "recovered", message
        for ws in (owner_stream, guest_stream, later):
            await ws.close()
        assert server.errors_in_logs() == [], server.log_tail()
        record(
            "recovery_file_changed_while_down",
            {
                "edits_typed": len(typed),
                "edits_fanned_out": len(fanned_out),
                "edits_in_recovery_copy": len(in_copy),
                "lost": len(fanned_out - set(in_copy)),
                "copy": notice["copy"],
            },
        )
    finally:
        for c in clients:
            if not c.closed:
                c.abort()
        server.stop()
