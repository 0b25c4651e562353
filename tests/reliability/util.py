"""Helpers of the reliability suite (``tests/reliability/``; the durability and
hermeticity tests use some too).

* :func:`record` keeps the figures of a run (messages fuzzed, clients, edits, seconds,
  faults survived, data lost) in one JSON file, for ``docs/reliability.md``;
* :class:`SubprocessServer` runs a real ``python -m jupyter_server`` with
  jupyter-collaboration and rtc-presence, configured like the ``rtc_server`` fixture,
  that a test may kill with SIGKILL and restart on the same files;
* :func:`classify_frame` is an independent reference of the y-websocket protocol (what
  a server must accept), and :class:`FrameFuzzer` makes seeded hostile frames;
* :func:`graphemes` splits text into user-perceived characters (enough of UAX #29 for
  the names the suite uses), :func:`markers` finds the unique markers typed by clients.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
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


# ---------------------------------------------------------------- y-websocket reference


class Bad(Exception):
    """The frame is not valid y-websocket (a server must close with 4400)."""


_MAX_VARUINT = 8  # rtc-presence's documented bound (2**56), below JavaScript's 2**53 too


def _uint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    for n in range(_MAX_VARUINT):
        if pos >= len(data):
            raise Bad("end of frame inside an integer")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos
        if n == _MAX_VARUINT - 1:
            break
    raise Bad("integer too long")


def _bytes(data: bytes, pos: int) -> tuple[bytes, int]:
    length, pos = _uint(data, pos)
    if pos + length > len(data):
        raise Bad("length past the end")
    return data[pos : pos + length], pos + length


def _strict_json_object(text: str) -> None:
    """JSON as browsers' JSON.parse reads it, and that can be written back as UTF-8."""

    def no_constants(name: str) -> None:
        raise Bad(f"JSON constant {name} (not JSON for browsers)")

    def finite(literal: str) -> float:
        value = float(literal)
        if value in (float("inf"), float("-inf")):
            raise Bad(f"{literal} overflows to Infinity")
        return value

    try:
        value = json.loads(text, parse_constant=no_constants, parse_float=finite)
    except ValueError:
        raise Bad("state is not JSON") from None
    if not isinstance(value, dict):
        raise Bad("state is not an object")
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise Bad("lone surrogate escape in the state") from None


def check_frame(frame: bytes | str) -> str:
    """Raise :class:`Bad` unless ``frame`` is valid; return its kind.

    Written from the y-websocket protocol (y-protocols sync and awareness, and
    jupyter-collaboration's RAW side channel), independently of rtc_presence.frames.
    """
    if isinstance(frame, str):
        raise Bad("text frame")
    kind, pos = _uint(frame, 0)
    if kind == 0:  # SYNC
        sub, pos = _uint(frame, pos)
        payload, pos = _bytes(frame, pos)
        if pos != len(frame):
            raise Bad("trailing bytes")
        if sub == 0:
            count, p = _uint(payload, 0)
            for _ in range(2 * count):
                _, p = _uint(payload, p)
            if p != len(payload):
                raise Bad("trailing bytes in state vector")
            return "sync-step1"
        if sub in (1, 2):
            try:
                pycrdt.get_state(payload)
            except Exception:
                raise Bad("not a Yjs update") from None
            return "sync-update"
        raise Bad("unknown sync type")
    if kind == 1:  # AWARENESS
        payload, pos = _bytes(frame, pos)
        if pos != len(frame):
            raise Bad("trailing bytes")
        count, p = _uint(payload, 0)
        for _ in range(count):
            _, p = _uint(payload, p)
            _, p = _uint(payload, p)
            raw, p = _bytes(payload, p)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise Bad("state is not UTF-8") from None
            if text not in ("null", ""):
                _strict_json_object(text)
        if p != len(payload):
            raise Bad("trailing bytes in awareness")
        return "awareness"
    if kind == 2:  # RAW: a string, then for "save" a request id, nothing else
        raw, p = _bytes(frame, pos)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Bad("RAW string is not UTF-8") from None
        if text == "save":
            _, p = _uint(frame, p)
        if p != len(frame):
            raise Bad("trailing bytes after the RAW message")
        return "raw"
    raise Bad("unknown message type")


def classify_frame(frame: bytes | str) -> str:
    """``"ok"`` or ``"malformed"``."""
    try:
        check_frame(frame)
    except Bad:
        return "malformed"
    return "ok"


def varuint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def varbytes(payload: bytes) -> bytes:
    return varuint(len(payload)) + payload


def awareness_frame(entries: list[tuple[int, int, bytes]]) -> bytes:
    """An AWARENESS frame from (client id, clock, raw state bytes) triples."""
    body = varuint(len(entries)) + b"".join(
        varuint(cid) + varuint(clock) + varbytes(state) for cid, clock, state in entries
    )
    return varuint(1) + varbytes(body)


_ALPHABET = "abcXYZ 019_-<>&\"'\\/é漢字😀\u200d\u202e\n\t"


class FrameFuzzer:
    """Seeded y-websocket frames: valid ones that leave the notebook alone, and hostile ones.

    ``valid()`` frames never touch the notebook's content: state vectors, empty updates,
    updates to a scratch root type, awareness states (own or foreign client ids) and RAW
    strings other than "save". ``hostile()`` frames are random bytes, truncations,
    mutations or extensions of valid frames, non-UTF-8 or non-object awareness states
    and text frames; :func:`classify_frame` decides what each one really is.
    """

    def __init__(self, seed: int, foreign_ids: list[int]) -> None:
        self.rng = random.Random(seed)
        self.foreign_ids = foreign_ids
        self._scratch = pycrdt.Doc()
        self._scratch_text = self._scratch.get("rtc-fuzz-scratch", type=pycrdt.Text)
        self._clock = 0

    def _json_value(self, depth: int = 0) -> Any:
        r = self.rng.random()
        if depth > 2 or r < 0.3:
            return self.rng.choice(
                [
                    None,
                    True,
                    self.rng.randint(-(2**40), 2**40),
                    self.rng.random() * 1e6,
                    self._text(),
                ]
            )
        if r < 0.6:
            return [self._json_value(depth + 1) for _ in range(self.rng.randint(0, 3))]
        return {self._text(6): self._json_value(depth + 1) for _ in range(self.rng.randint(0, 3))}

    def _text(self, limit: int = 24) -> str:
        return "".join(self.rng.choice(_ALPHABET) for _ in range(self.rng.randint(0, limit)))

    def _state(self) -> bytes:
        state = {self._text(8): self._json_value() for _ in range(self.rng.randint(0, 4))}
        if self.rng.random() < 0.3:
            state["user"] = {"username": "alice", "role": "owner", "display_name": self._text()}
        return json.dumps(state, ensure_ascii=False).encode("utf-8")

    def valid(self, own_id: int) -> bytes:
        rng = self.rng
        pick = rng.random()
        if pick < 0.15:
            pairs = [(rng.randrange(2**32), rng.randrange(2**20)) for _ in range(rng.randint(0, 4))]
            sv = varuint(len(pairs)) + b"".join(varuint(c) + varuint(k) for c, k in pairs)
            return varuint(0) + varuint(0) + varbytes(sv)
        if pick < 0.25:
            return varuint(0) + varuint(rng.choice((1, 2))) + varbytes(b"\x00\x00")
        if pick < 0.40:
            before = self._scratch.get_state()
            self._scratch_text.insert(len(self._scratch_text), self._text(8) or "x")
            update = self._scratch.get_update(before)
            return varuint(0) + varuint(2) + varbytes(update)
        if pick < 0.80:
            self._clock += 1
            target = own_id if rng.random() < 0.8 else rng.choice(self.foreign_ids)
            state = b"null" if rng.random() < 0.05 else self._state()
            return awareness_frame([(target, self._clock, state)])
        text = self._text(16)
        if text == "save":
            text = "saved"
        return varuint(2) + varbytes(text.encode("utf-8"))

    def hostile(self, own_id: int) -> bytes | str:
        rng = self.rng
        pick = rng.random()
        if pick < 0.20:
            head = bytes([rng.choice((0, 1, 2, 3, 0x80, rng.randrange(256)))])
            return head + rng.randbytes(rng.randint(0, 48))
        if pick < 0.80:
            base = self.valid(own_id)
            how = rng.random()
            if how < 0.4:
                return base[: rng.randint(1, max(1, len(base) - 1))]
            if how < 0.8:
                mutated = bytearray(base)
                for _ in range(rng.randint(1, 3)):
                    i = rng.randrange(len(mutated))
                    mutated[i] = rng.randrange(256) if rng.random() < 0.5 else mutated[i] ^ 0x80
                return bytes(mutated)
            return base + rng.randbytes(rng.randint(1, 8))
        if pick < 0.86:
            bad_state = rng.choice(
                [
                    b"\xff\xfe",
                    b'{"a":"\xc0\xaf"}',
                    b'{"a":"\xed\xa0\x80"}',
                    b"[1,2]",
                    b"{",
                    b"42",
                    b'{"a":NaN}',
                    b'{"a":-Infinity}',
                    b'{"a":1e999}',
                    b'{"a":"\\ud800"}',
                ]
            )
            return awareness_frame([(own_id, 10**6, bad_state)])
        if pick < 0.92:
            raw = rng.choice([b"save", b"\xff\xfe", b"hello"])
            tail = rng.choice([b"", b"\x80", b"\x01", b"\x01\x02"])
            return varuint(2) + varbytes(raw) + tail
        return "text frames are not part of the protocol"


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

    async def request(self, user: str, method: str, path: str) -> httpx.Response:
        async with httpx.AsyncClient(trust_env=False, timeout=20) as http:
            return await http.request(method, self.http_url + path, headers=self.auth(user))


StartServer = Callable[..., Awaitable[SubprocessServer]]
"""The ``subprocess_server`` fixture (tests/reliability/conftest.py): ``await
start(users, rtc_config=None)`` gives a started, ready server, stopped after the test."""
