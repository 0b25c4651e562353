"""The Yjs test client against a real, stock jupyter-collaboration server.

rtc_presence is disabled explicitly here: these tests check the client itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import nbformat
import pytest
from pycrdt import Doc

from rtc_presence.testing.waiting import until
from rtc_presence.testing.yclient import (
    YClient,
    YClientError,
    append_text,
    cell_source,
    notebook_cells,
    open_session,
    room_url,
)


@pytest.fixture
def jp_server_config(jp_root_dir: Path) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {
                "jupyter_server_ydoc": True,
                "jupyter_server_fileid": True,
                "rtc_presence": False,
            },
            "disable_check_xsrf": True,
        },
        "SQLiteYStore": {"db_path": str(jp_root_dir / ".rtc_test.db")},
        "BaseFileIdManager": {
            "root_dir": str(jp_root_dir),
            "db_path": str(jp_root_dir / ".fid_test.db"),
            "db_journal_mode": "OFF",
        },
        "YDocExtension": {"document_save_delay": 1, "document_cleanup_delay": 60},
    }


@pytest.fixture
def urls(
    jp_serverapp: Any, http_server: Any, jp_http_port: int, jp_base_url: str
) -> tuple[str, str]:
    # `http_server` (pytest_jupyter) is what actually serves the bound port.
    http = f"http://127.0.0.1:{jp_http_port}{jp_base_url}"
    return http, "ws" + http[len("http") :]


@pytest.fixture
def notebook(jp_root_dir: Path) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("print(1)\n"))
    (jp_root_dir / "nb.ipynb").write_text(nbformat.writes(nb, version=4))
    return "nb.ipynb"


@asynccontextmanager
async def two_clients(
    urls: tuple[str, str],
    auth: dict[str, str],
    path: str,
    second: dict[str, Any] | None = None,
) -> AsyncIterator[tuple[str, YClient, YClient]]:
    """Two clients in the room of ``path``; ``second`` = options of the second one."""
    http, ws = urls
    room_id, session_id = await open_session(http, path, headers=auth)
    url = room_url(ws, room_id, session_id)
    a = await YClient.connect(url, headers=auth)
    b = await YClient.connect(url, headers=auth, **(second or {}))
    try:
        yield room_id, a, b
    finally:
        for client in (a, b):
            if client.frozen:
                client.abort()  # a frozen client reads nothing, not even the close
            elif not client.closed:
                await client.close()


async def test_open_session(
    urls: tuple[str, str],
    jp_auth_header: dict[str, str],
    notebook: str,
) -> None:
    room_id, session_id = await open_session(urls[0], notebook, headers=jp_auth_header)
    assert room_id.startswith("json:notebook:")
    assert session_id
    with pytest.raises(YClientError):
        await open_session(urls[0], notebook, headers={"Authorization": "token nope"})


async def test_sync_and_edit_fan_out(
    urls: tuple[str, str],
    jp_auth_header: dict[str, str],
    notebook: str,
) -> None:
    async with two_clients(urls, jp_auth_header, notebook) as (_, a, b):
        # Initial sync delivered the notebook loaded from disk.
        assert len(notebook_cells(a.doc)) == 1
        assert str(cell_source(b.doc, 0)) == "print(1)\n"

        received: list[tuple[bytes, float]] = []
        b.on_update(lambda update, t: received.append((update, t)))
        append_text(a.doc, 0, "hello from a")
        await b.wait_until(lambda: "hello from a" in str(cell_source(b.doc, 0)), 10)
        assert received
        assert all(isinstance(t, float) for _, t in received)

        # And back: b's local transaction reaches a.
        append_text(b.doc, 0, "|b")
        await a.wait_until(lambda: str(cell_source(a.doc, 0)).endswith("|b"), 10)
        assert str(cell_source(a.doc, 0)) == str(cell_source(b.doc, 0))


async def test_send_update_raw(
    urls: tuple[str, str],
    jp_auth_header: dict[str, str],
    notebook: str,
) -> None:
    async with two_clients(urls, jp_auth_header, notebook) as (_, a, b):
        # An update produced elsewhere, sent without touching a.doc.
        other = Doc()
        other.apply_update(a.doc.get_update())
        with other.transaction():
            cell_source(other, 0).insert(0, "# top\n")
        update = other.get_update(a.doc.get_state())
        await a.send_update(update)
        await b.wait_until(lambda: str(cell_source(b.doc, 0)).startswith("# top\n"), 10)


async def test_awareness_fan_out_and_forging(
    urls: tuple[str, str],
    jp_auth_header: dict[str, str],
    notebook: str,
) -> None:
    async with two_clients(urls, jp_auth_header, notebook) as (_, a, b):
        await a.set_awareness({"user": {"name": "alice"}})
        await b.wait_awareness(
            lambda st: (st.get(a.client_id) or {}).get("user") == {"name": "alice"}, 10
        )
        assert b.awareness_clocks[a.client_id] == 0

        # Next clock by default.
        await a.set_awareness({"user": {"name": "alice2"}})
        await b.wait_awareness(
            lambda st: (st.get(a.client_id) or {}).get("user") == {"name": "alice2"}, 10
        )
        assert b.awareness_clocks[a.client_id] == 1

        # Forge: b writes a state for a's client id with a higher clock (stock forwards it).
        await b.set_awareness({"user": {"name": "mallory"}}, client_id=a.client_id, clock=7)
        await a.wait_awareness(
            lambda st: (st.get(a.client_id) or {}).get("user") == {"name": "mallory"}, 10
        )
        # A stale clock is logged but not applied.
        await b.set_awareness({"user": {"name": "old"}}, client_id=a.client_id, clock=3)
        await a.wait_until(lambda: any(e.clock == 3 and not e.applied for e in a.awareness_log), 10)
        assert a.awareness[a.client_id] == {"user": {"name": "mallory"}}

        # Removal (null state) with the same clock.
        await a.set_awareness(None, clock=7)
        await b.wait_awareness(lambda st: a.client_id in st and st[a.client_id] is None, 10)


async def test_raw_save_reply_tolerated(
    urls: tuple[str, str],
    jp_auth_header: dict[str, str],
    notebook: str,
) -> None:
    async with two_clients(urls, jp_auth_header, notebook) as (_, a, b):
        await a.send_save(42)
        await a.wait_until(
            lambda: any(
                isinstance(m, dict) and m.get("type") == "save" and m.get("responseTo") == 42
                for m in a.raw_messages
            ),
            15,
        )
        # The connection is still usable afterwards.
        await a.set_awareness({"ok": True})
        await b.wait_awareness(lambda st: (st.get(a.client_id) or {}).get("ok") is True, 10)


async def test_abort_and_close(
    urls: tuple[str, str],
    jp_auth_header: dict[str, str],
    notebook: str,
    jp_serverapp: Any,
) -> None:
    rooms = jp_serverapp.web_app.settings["jupyter_server_ydoc"].ywebsocket_server.rooms
    async with two_clients(urls, jp_auth_header, notebook) as (room_id, a, b):
        assert len(rooms[room_id].clients) == 2
        await a.set_awareness({"user": {"name": "crash"}})
        await b.wait_awareness(lambda st: st.get(a.client_id) is not None, 10)

        a.abort()
        code, _ = await a.wait_closed(5)
        assert code == 1006  # abnormal closure, no handshake
        assert a.closed

        # The server notices the dropped TCP connection and removes the client.
        await until(
            lambda: len(rooms[room_id].clients),
            10,
            "the server dropping the aborted client",
            accept=lambda n: n == 1,
        )

        # b is unaffected.
        append_text(b.doc, 0, "still here")
        await b.flush()
        await b.close()
        assert b.close_code == 1000
        code, reason = await b.wait_closed(1)
        assert code == 1000
        assert reason == ""


async def test_awareness_timeout_like_a_browser(
    urls: tuple[str, str],
    jp_auth_header: dict[str, str],
    notebook: str,
) -> None:
    browser_like = {"awareness_timeout": 1.0}
    async with two_clients(urls, jp_auth_header, notebook, browser_like) as (_, silent, browser):
        await browser.set_awareness({"me": 1})
        await silent.set_awareness({"me": 2})
        await browser.wait_awareness(lambda st: st.get(silent.client_id) is not None, 5)
        # The browser renews its own state every timeout / 2 ...
        await silent.wait_awareness(
            lambda st: silent.awareness_clocks.get(browser.client_id, 0) >= 2, 5
        )
        # ... and drops a state that was not renewed for the timeout.
        await browser.wait_awareness(lambda st: st.get(silent.client_id) is None, 5)
        # The frozen client stops answering: nothing more is read (a window
        # is the only way to observe an absence).
        silent.freeze()
        before = silent.messages_received
        await browser.set_awareness({"me": 3})
        await asyncio.sleep(0.3)
        assert silent.messages_received == before


async def test_light_client_does_not_apply_updates(
    urls: tuple[str, str],
    jp_auth_header: dict[str, str],
    notebook: str,
) -> None:
    light_options = {"apply_updates": False}
    async with two_clients(urls, jp_auth_header, notebook, light_options) as (_, a, light):
        # The initial sync is applied ...
        assert str(cell_source(light.doc, 0)) == "print(1)\n"
        seen: list[bytes] = []
        light.on_update(lambda update, t: seen.append(update))
        append_text(a.doc, 0, "#marker;")
        await light.wait_until(lambda: any(b"#marker;" in u for u in seen), 10)
        # ... later updates are only reported.
        assert str(cell_source(light.doc, 0)) == "print(1)\n"
