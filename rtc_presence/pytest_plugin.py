"""Reusable pytest fixtures: a real Jupyter server with jupyter-collaboration
and rtc-presence, several verified users, and real Yjs websocket clients.

Use it with
``pytest_plugins = ["pytest_jupyter.jupyter_server", "rtc_presence.pytest_plugin"]``
(in that order: our ``jp_server_config`` overrides pytest-jupyter's). It builds on
pytest-jupyter's ``jp_serverapp`` (an in-process server listening on
127.0.0.1 on a free port, stopped at the end of the test). The server's home,
Jupyter directories, file-id database and YStore are all in the test's
``tmp_path``; list ``rtc_presence.pytest_hermetic`` first to keep the rest of
the session (collection, subprocesses) out of the real home too.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nbformat
import pytest
from traitlets.config import Config
from websockets.asyncio.client import ClientConnection, connect

from .state import EVENTS_SCHEMA_ID, SETTINGS_KEY
from .testing.identity import TokenIdentityProvider
from .testing.yclient import YClient, open_session, room_url

#: token -> identity. alice owns the server; bob and carol are guests;
#: carol's authenticator-provided initials and color must win.
TEST_USERS: dict[str, dict[str, Any]] = {
    "alice-token": {"username": "alice", "display_name": "Alice Martin"},
    "bob-token": {"username": "bob", "display_name": "Bob Dupont"},
    "carol-token": {
        "username": "carol",
        "display_name": "Carol Nguyen",
        "initials": "CaN",
        "color": "#123456",
    },
    "mallory-token": {"username": "mallory", "display_name": "Mallory"},
}


@pytest.fixture
def rtc_users() -> dict[str, dict[str, Any]]:
    """The users of the test server (token -> identity fields)."""
    return TEST_USERS


@pytest.fixture
def rtc_config() -> dict[str, Any]:
    """Extra ``RTCPresence`` settings for the test server (override per test module)."""
    return {}


@pytest.fixture
def jp_server_config(
    rtc_users: dict[str, Any],
    rtc_config: dict[str, Any],
    tmp_path: Path,
    jp_environ: None,
) -> Config:
    """The test server's config: every store it keeps is in ``tmp_path``.

    ``jp_environ`` (pytest-jupyter) points ``HOME`` and the Jupyter config, data
    and runtime directories into ``tmp_path`` before anything reads them; the
    databases are named here because their defaults are not: the file-id
    database's default is computed once, when jupyter_server_fileid is first
    imported (``default_db_path`` in jupyter_server_fileid/manager.py), perhaps
    while the tests are collected, with the real ``~/.local/share/jupyter``
    (issue 11); the YStore's is relative to the working directory.
    """
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {
                    "jupyter_server_fileid": True,
                    "jupyter_server_ydoc": True,
                    "rtc_presence": True,
                },
                "identity_provider_class": TokenIdentityProvider,
                "allow_root": True,
            },
            "TokenIdentityProvider": {"users": rtc_users},
            "RTCPresence": {"owner": "alice", **rtc_config},
            "YDocExtension": {"document_save_delay": 0.2, "file_poll_interval": 0.5},
            # One store per test: a shared one in the working directory makes
            # concurrent servers wait on SQLite's lock.
            "SQLiteYStore": {"db_path": str(tmp_path / "ystore.db")},
            # Both file-id managers (Arbitrary, Local) take it from their base class.
            "BaseFileIdManager": {"db_path": str(tmp_path / "file_id_manager.db")},
        }
    )


class RTCServer:
    """Handle on a running test server: HTTP and websocket helpers per user."""

    def __init__(self, app: Any, port: int, base_url: str, root: Path) -> None:
        self.app = app
        self.root = root
        self.http_url = f"http://127.0.0.1:{port}{base_url}"
        self.ws_url = f"ws://127.0.0.1:{port}{base_url}"
        self._clients: list[YClient] = []

    @property
    def state(self) -> Any:
        return self.app.web_app.settings[SETTINGS_KEY]

    @staticmethod
    def auth(user: str | None) -> dict[str, str]:
        return {} if user is None else {"Authorization": f"token {user}-token"}

    async def request(
        self,
        user: str | None,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        async with httpx.AsyncClient(trust_env=False, timeout=20) as http:
            return await http.request(
                method,
                self.http_url + path.lstrip("/"),
                content=None if body is None else json.dumps(body),
                headers={**self.auth(user), **(headers or {})},
            )

    def notebook(self, name: str = "shared.ipynb", cells: int = 2) -> str:
        nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
        nb.cells = [
            nbformat.v4.new_code_cell(f"# cell {i}\n")  # type: ignore[no-untyped-call]
            for i in range(cells)
        ]
        nbformat.write(nb, self.root / name)  # type: ignore[no-untyped-call]
        return name

    async def room_link(self, user: str, path: str) -> str:
        """The websocket URL of ``path``'s room, with a session opened as ``user``."""
        room_id, session = await open_session(self.http_url, path, headers=self.auth(user))
        return room_url(self.ws_url, room_id, session)

    async def room(self, user: str, path: str, **kwargs: Any) -> YClient:
        url = await self.room_link(user, path)
        client = await YClient.connect(url, headers=self.auth(user), **kwargs)
        self._clients.append(client)
        return client

    def presence_events(self) -> list[dict[str, Any]]:
        """A list that receives every rtc-presence event (join, leave, evicted) from now on."""
        seen: list[dict[str, Any]] = []

        async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
            seen.append(data)

        self.app.event_logger.add_listener(schema_id=EVENTS_SCHEMA_ID, listener=listener)
        return seen

    async def global_room(self, user: str, **kwargs: Any) -> YClient:
        url = room_url(self.ws_url, "JupyterLab:globalAwareness")
        client = await YClient.connect(url, headers=self.auth(user), **kwargs)
        self._clients.append(client)
        return client

    async def stream(self, user: str | None) -> ClientConnection:
        url = self.ws_url + "api/rtc-presence/presence/stream"
        return await connect(url, additional_headers=self.auth(user), proxy=None)

    def ws(self, path: str, user: str | None) -> Any:
        query = "" if user is None else "?" + urllib.parse.urlencode({"token": f"{user}-token"})
        return connect(self.ws_url + path.lstrip("/") + query, proxy=None)

    async def close_all(self) -> None:
        for client in self._clients:
            if not client.closed:
                client.abort()


@pytest.fixture
def rtc_server(
    jp_serverapp: Any,
    jp_http_port: int,
    jp_base_url: str,
    jp_root_dir: Path,
    jp_asyncio_loop: asyncio.AbstractEventLoop,
    http_server: Any,
) -> Iterator[RTCServer]:
    """A running Jupyter server with jupyter-collaboration and rtc-presence.

    Async tests run on pytest-jupyter's loop (the server's); fixtures are
    therefore synchronous and clean up on that loop. ``http_server`` makes
    pytest-jupyter listen on ``jp_http_port``.
    """
    server = RTCServer(jp_serverapp, jp_http_port, jp_base_url, jp_root_dir)
    try:
        yield server
    finally:
        jp_asyncio_loop.run_until_complete(server.close_all())
