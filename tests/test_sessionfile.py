"""Upstream's session file is written when it changes (rtc_presence.sessionfile)."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
from pathlib import Path

from jupyter_server_ydoc import handlers, utils

from rtc_presence.pytest_plugin import RTCServer
from rtc_presence.sessionfile import cached


def test_upstream_looks_the_save_up_in_its_handlers_module(rtc_server: RTCServer) -> None:
    # The cache replaces handlers.save_current_session; upstream's open must
    # still call it by that name, and the path helper must still exist.
    assert "await save_current_session(" in inspect.getsource(handlers.YDocWebSocketHandler.open)
    params = list(inspect.signature(utils._get_jupyter_session_store).parameters)
    assert params == ["root_dir", "session_store_path"]
    assert getattr(handlers.save_current_session, "_rtc_presence_cached", False)


async def test_a_repeated_save_is_skipped_until_the_file_or_the_record_changes(
    tmp_path: Path,
) -> None:
    calls = []

    async def original(
        root_dir: str,
        session_id: str,
        version: str,
        lock: asyncio.Lock,
        document_version: str | None = None,
        session_store_path: str | None = None,
    ) -> None:
        calls.append(document_version)
        await utils.save_current_session(
            root_dir, session_id, version, lock, document_version, session_store_path
        )

    save = cached(original, utils._get_jupyter_session_store)
    lock = asyncio.Lock()
    root = str(tmp_path)
    store = utils._get_jupyter_session_store(root, None)
    for _ in range(5):
        await save(root, "s1", "4.0", lock, document_version="d1")
    assert calls == ["d1"]
    assert json.loads(store.read_text())["s1"]["document_version"] == "d1"
    await save(root, "s1", "4.0", lock, document_version="d2")  # another room's document
    await save(root, "s1", "4.0", lock, document_version="d1")
    assert calls == ["d1", "d2", "d1"]
    store.unlink()  # removed by something else: written again
    await save(root, "s1", "4.0", lock, document_version="d1")
    assert calls == ["d1", "d2", "d1", "d1"] and store.exists()
    store.write_text("{}")  # rewritten by something else: written again
    os.utime(store, ns=(1, 1))
    await save(root, "s1", "4.0", lock, document_version="d1")
    assert len(calls) == 5 and "s1" in json.loads(store.read_text())


async def test_many_opens_of_one_notebook_write_the_file_once(rtc_server: RTCServer) -> None:
    path = rtc_server.notebook()
    first = await rtc_server.room("alice", path)
    await first.wait_synced()
    store = utils._get_jupyter_session_store(str(rtc_server.root), None)
    written = store.stat().st_mtime_ns
    record = json.loads(store.read_text())
    for user in ("bob", "carol", "alice", "bob"):
        client = await rtc_server.room(user, path)
        await client.wait_synced()
    assert store.stat().st_mtime_ns == written
    assert json.loads(store.read_text()) == record
    # The record upstream checks on a reconnect is there and says this server.
    assert handlers.SERVER_SESSION in record
