"""Helpers of the reliability suite (``tests/reliability/``; the durability and
hermeticity tests use some too).

* :func:`record` keeps the figures of a run (messages fuzzed, clients, edits, seconds,
  faults survived, data lost) in one JSON file, for ``docs/reliability.md``;
* :class:`SubprocessServer` runs a real ``python -m jupyter_server`` with
  jupyter-collaboration and rtc-presence, configured like the ``rtc_server`` fixture,
  that a test may kill with SIGKILL and restart on the same files;
* hostile frames (an independent reference of the protocol, a seeded fuzzer) are in
  :mod:`tests.reliability.fuzzing`;
* :func:`graphemes` splits text into user-perceived characters (enough of UAX #29 for
  the names the suite uses), :func:`markers` finds the unique markers typed by clients.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import nbformat
import pycrdt
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from rtc_presence.testing import waiting
from rtc_presence.testing.server import JupyterServerProcess
from rtc_presence.testing.yclient import YClient, notebook_cells, open_session, room_url

USERS: dict[str, dict[str, Any]] = {
    "alice-token": {"username": "alice", "display_name": "Alice Martin"},
    "bob-token": {"username": "bob", "display_name": "Bob Dupont"},
    "carol-token": {"username": "carol", "display_name": "Carol Nguyen"},
}
"""alice (the owner), bob and carol by token: the people of a :class:`SubprocessServer`."""

# ---------------------------------------------------------------- figures


def figures_path() -> Path:
    """Where the figures of this run go (``RTC_RELIABILITY_FIGURES`` or the temp dir)."""
    default = Path(tempfile.gettempdir()) / "rtc-presence-reliability.json"
    return Path(os.environ.get("RTC_RELIABILITY_FIGURES", default))


def record(key: str, value: dict[str, Any]) -> None:
    """Store the figures of one test (printed too, visible with ``pytest -s``)."""
    path = figures_path()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    data[key] = {**value, "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    print(f"\nFIGURES {key}: {json.dumps(value, ensure_ascii=False)}")


# ---------------------------------------------------------------- websockets


async def ws_status(url: str, headers: dict[str, str] | None = None) -> int:
    """101 if a websocket opens at ``url`` (closed again at once), else the HTTP status."""
    try:
        ws = await asyncio.wait_for(
            connect(url, additional_headers=headers or {}, proxy=None, open_timeout=10), 15
        )
    except InvalidStatus as exc:
        return int(exc.response.status_code)
    await ws.close()
    return 101


async def until(predicate: Any, timeout: float, what: str, step: float = 0.05) -> float:
    """Poll a sync or async predicate until true; return the seconds it took."""
    t0 = time.monotonic()
    await waiting.until(predicate, timeout, what, interval=step)
    return time.monotonic() - t0


# ---------------------------------------------------------------- documents

MARKER = re.compile(r"<m:([a-z0-9]+):(\d+)>")


def marker(who: str, n: int) -> str:
    """A unique marker: ``<m:who:n>`` (who is lowercase letters and digits)."""
    return f"<m:{who}:{n}>"


def markers(text: str) -> Counter[str]:
    """How many times each marker occurs in ``text``."""
    return Counter(m.group(0) for m in MARKER.finditer(text))


def doc_text(doc: pycrdt.Doc[Any]) -> str:
    """All cell sources of a YNotebook document, joined (for marker counting)."""
    out = []
    for cell in notebook_cells(doc):
        source = cell["source"] if isinstance(cell, pycrdt.Map) else None
        out.append(str(source) if source is not None else "")
    return "\n".join(out)


def doc_sources(doc: pycrdt.Doc[Any]) -> list[str]:
    return [str(cell["source"]) for cell in notebook_cells(doc)]


def file_sources(path: Path) -> list[str]:
    """Cell sources of the notebook file on disk (raises if it is not a valid notebook)."""
    nb = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    nbformat.validate(nb)  # type: ignore[no-untyped-call]
    return [cell.source for cell in nb.cells]


def write_notebook(path: Path, sources: list[str]) -> None:
    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]  # type: ignore[no-untyped-call]
    nbformat.write(nb, path)  # type: ignore[no-untyped-call]


async def save(client: YClient, save_id: int, timeout: float = 20) -> str:
    """Ask the server to save (as JupyterLab's Ctrl-S); return the reply's status."""
    await client.send_save(save_id)

    def replied() -> bool:
        return any(
            isinstance(m, dict) and m.get("type") == "save" and m.get("responseTo") == save_id
            for m in client.raw_messages
        )

    await client.wait_until(replied, timeout)
    reply = next(
        m
        for m in client.raw_messages
        if isinstance(m, dict) and m.get("type") == "save" and m.get("responseTo") == save_id
    )
    return str(reply.get("status"))


async def save_until_success(client: YClient, first_id: int, tries: int = 20) -> int:
    """Save until the server says "success" (it says "skipped" while a save runs)."""
    for i in range(tries):
        if await save(client, first_id + i) == "success":
            return first_id + i
        await asyncio.sleep(0.3)
    raise AssertionError(f"no successful save in {tries} tries")


# ---------------------------------------------------------------- graphemes

_RI = range(0x1F1E6, 0x1F200)  # regional indicators (flags are pairs)
_EXTEND_CATEGORIES = {"Mn", "Mc", "Me"}


def _extends(ch: str) -> bool:
    cp = ord(ch)
    return (
        unicodedata.category(ch) in _EXTEND_CATEGORIES
        or 0xFE00 <= cp <= 0xFE0F  # variation selectors
        or 0x1F3FB <= cp <= 0x1F3FF  # skin tones
        or 0xE0020 <= cp <= 0xE007F  # tags (subdivision flags)
        or cp == 0x200D
    )


def graphemes(text: str) -> list[str]:
    """User-perceived characters of ``text``: combining marks, variation selectors, skin
    tones, tags and zero-width-joiner sequences stay with their base, and regional
    indicators pair into flags (the parts of UAX #29 that names with emoji need)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        cluster = text[i]
        i += 1
        if ord(cluster) in _RI and i < len(text) and ord(text[i]) in _RI:
            cluster += text[i]
            i += 1
        while i < len(text) and _extends(text[i]):
            joiner = text[i] == "\u200d"
            cluster += text[i]
            i += 1
            if joiner and i < len(text):
                cluster += text[i]
                i += 1
        out.append(cluster)
    return out


def is_visible(cluster: str) -> bool:
    """Does the cluster show something (not only format or separator characters)?"""
    return unicodedata.category(cluster[0])[0] not in ("C", "Z")


# ---------------------------------------------------------------- subprocess server


class SubprocessServer(JupyterServerProcess):
    """``python -m jupyter_server`` with jupyter-collaboration and rtc-presence, configured
    like ``rtc_presence.pytest_plugin`` (token users, owner alice, 0.2 s save delay).

    Everything lives under ``workdir`` (root, config, data, runtime, the YStore), so a
    server restarted on the same ``workdir`` finds the same files, ids and stored updates.
    """

    def __init__(
        self,
        workdir: Path,
        users: dict[str, dict[str, Any]],
        rtc_config: dict[str, Any] | None = None,
    ) -> None:
        self.users = users
        config = {
            "ServerApp": {
                "jpserver_extensions": {
                    "jupyter_server_fileid": True,
                    "jupyter_server_ydoc": True,
                    "rtc_presence": True,
                },
                "identity_provider_class": "rtc_presence.testing.identity.TokenIdentityProvider",
                "allow_root": True,
                "log_level": "WARN",
            },
            "TokenIdentityProvider": {"users": users},
            "RTCPresence": {"owner": "alice", **(rtc_config or {})},
            "YDocExtension": {"document_save_delay": 0.2, "file_poll_interval": 0.5},
        }
        super().__init__(workdir, config)
        self.ready_headers = self.auth("alice")

    def token(self, user: str) -> str:
        return next(t for t, info in self.users.items() if info["username"] == user)

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"token {self.token(user)}"}

    async def room(self, user: str, path: str, **kwargs: Any) -> YClient:
        room_id, session = await open_session(self.http_url, path, headers=self.auth(user))
        return await YClient.connect(
            room_url(self.ws_url, room_id, session), headers=self.auth(user), **kwargs
        )

    async def start_and_join(
        self, name: str, sources: list[str], users: list[str]
    ) -> list[YClient]:
        """Start the server, write notebook ``name`` with one code cell per source and
        open it as each of ``users`` (in order)."""
        self.start()
        await self.wait_ready_async()
        write_notebook(self.root / name, sources)
        return [await self.room(user, name) for user in users]

    async def request(self, user: str, method: str, path: str) -> httpx.Response:
        async with httpx.AsyncClient(trust_env=False, timeout=20) as http:
            return await http.request(method, self.http_url + path, headers=self.auth(user))


StartServer = Callable[..., Awaitable[SubprocessServer]]
"""The ``subprocess_server`` fixture (tests/reliability/conftest.py): ``await
start(users, rtc_config=None)`` gives a started, ready server, stopped after the test."""
