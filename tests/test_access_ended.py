"""What a revoked person gets, on a real server: the access-ended page, JSON for APIs,
counted attempts with throttled notices to the owner, and one log line a minute."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any

from websockets.asyncio.client import ClientConnection

from rtc_presence.pytest_plugin import RTCServer

PAGE = {"Accept": "text/html,application/xhtml+xml", "Sec-Fetch-Mode": "navigate"}


async def _revoke_bob(rtc_server: RTCServer) -> None:
    # alice has used her server, so it knows her display name
    assert (await rtc_server.request("alice", "GET", "api/me")).status_code == 200
    assert (await rtc_server.request("bob", "GET", "api/me")).status_code == 200
    rtc_server.state.gate.evict("bob", by="alice")


def assert_self_contained(html: str) -> None:
    """No request leaves the page: no stylesheet, script, image, font or frame."""
    assert "<style>" in html
    for pattern in (r"<link\b", r"<script\b", r"<img\b", r"<iframe\b", r"url\(", r"@import"):
        assert not re.search(pattern, html, re.IGNORECASE), pattern


async def test_revoked_guest_gets_the_access_ended_page(rtc_server: RTCServer) -> None:
    (rtc_server.root / "notes.txt").write_text("hello\n")
    await _revoke_bob(rtc_server)
    # a page of jupyter_server (view), a file, and a page no handler serves
    for path in ("view/notes.txt", "files/notes.txt", "lab/tree/shared.ipynb"):
        r = await rtc_server.request("bob", "GET", path, headers=PAGE)
        assert r.status_code == 403, (path, r.status_code)
        assert r.headers["content-type"].startswith("text/html")
        html = r.text
        assert "<title>Access ended</title>" in html
        assert "Alice Martin revoked your access to this server." in html
        assert_self_contained(html)
        assert "403 : Forbidden" not in html
    # API requests keep the JSON answer
    r = await rtc_server.request("bob", "GET", "api/contents", headers={"Accept": "*/*"})
    assert r.status_code == 403
    assert r.json()["message"] == "Your access to this server was revoked by its owner."
    # other requests (an asset) get one line of text, not a page
    r = await rtc_server.request("bob", "GET", "lab", headers={"Accept": "text/css"})
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/plain")
    assert "revoked" in r.text
    # the others are unaffected: the owner gets the page
    r = await rtc_server.request("alice", "GET", "view/notes.txt", headers=PAGE)
    assert r.status_code == 200
    assert "Access ended" not in r.text


async def test_page_escapes_the_owner_name(rtc_server: RTCServer) -> None:
    gate = rtc_server.state.gate
    await _revoke_bob(rtc_server)
    gate.identities["alice"] = {**gate.identities["alice"], "display_name": "<b>Al</b> & co"}
    r = await rtc_server.request("bob", "GET", "lab", headers=PAGE)
    assert "&lt;b&gt;Al&lt;/b&gt; &amp; co revoked your access" in r.text
    assert "<b>Al</b>" not in r.text


async def _access_notices(stream: ClientConnection, seconds: float) -> int:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    count = 0
    while (left := deadline - loop.time()) > 0:
        try:
            raw = await asyncio.wait_for(stream.recv(), left)
        except TimeoutError:
            break
        count += json.loads(raw)["type"] == "access"
    return count


async def test_attempts_are_counted_and_the_owner_told_throttled(rtc_server: RTCServer) -> None:
    gate = rtc_server.state.gate
    await _revoke_bob(rtc_server)
    stream = await rtc_server.stream("alice")
    json.loads(await asyncio.wait_for(stream.recv(), 5))  # snapshot
    assert gate.attempts.of("bob") == (0, None)

    # background requests of an old tab are refused but are not attempts
    for _ in range(5):
        r = await rtc_server.request("bob", "GET", "api/kernels")
        assert r.status_code == 403
    assert gate.attempts.of("bob") == (0, None)
    assert await _access_notices(stream, 0.5) == 0

    # six page loads within a second: six attempts, two notices (one at once,
    # one trailing after the 2 s throttle), not six
    for _ in range(6):
        r = await rtc_server.request("bob", "GET", "lab", headers=PAGE)
        assert r.status_code == 403
    attempts, last = gate.attempts.of("bob")
    assert attempts == 6 and last is not None
    assert await _access_notices(stream, 3.0) == 2

    # a new revocation counts from zero; "Allow again" forgets them
    gate.allow("bob")
    assert gate.attempts.of("bob") == (0, None)
    gate.evict("bob", by="alice")
    assert gate.attempts.of("bob") == (0, None)
    await stream.close()


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


async def test_refusals_are_logged_once_a_minute(rtc_server: RTCServer) -> None:
    lines = _Lines()
    logs = (rtc_server.app.log, rtc_server.state.gate.log)  # the server's, rtc-presence's
    for log in logs:
        log.addHandler(lines)
    try:
        await _revoke_bob(rtc_server)
        for _ in range(20):
            r = await rtc_server.request("bob", "GET", "api/contents")
            assert r.status_code == 403
        for _ in range(5):
            r = await rtc_server.request("bob", "GET", "lab", headers=PAGE)
            assert r.status_code == 403
    finally:
        for log in logs:
            log.removeHandler(lines)
    bob = [line for line in lines.lines if "bob" in line or " 403 " in f" {line}"]
    refused = [line for line in bob if line.startswith("rtc-presence: refused bob")]
    assert len(refused) == 1, bob
    # upstream's per-request lines (access log, exception, "wrote error") are muted
    assert not [line for line in lines.lines if line.startswith("403 ")], lines.lines
    assert not [line for line in lines.lines if "wrote error" in line], lines.lines


async def test_owner_display_name_in_info(rtc_server: RTCServer) -> None:
    await rtc_server.request("alice", "GET", "api/me")
    info: dict[str, Any] = (await rtc_server.request("bob", "GET", "api/rtc-presence/info")).json()
    assert info["owner_display_name"] == "Alice Martin"
    assert info["owner"]["display_name"] == "Alice Martin"
