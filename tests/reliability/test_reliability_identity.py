"""Hostile and unusual display names (issue 7, part 6).

HTML, right-to-left text (with bidi controls), emoji sequences, decomposed accents and
500 characters: stored and returned as text (JSON, unchanged), shown in awareness
``user`` verbatim, with sane initials (at most two whole, visible graphemes).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from rtc_presence.profiles import make_initials
from rtc_presence.pytest_plugin import RTCServer
from tests.reliability.util import graphemes, is_visible, record

HTML = "<img src=x onerror=alert(1)>"
RTL = "مريم الحسيني"
RTL_OVERRIDE = "\u202eevil.exe\u202c Dan"
EMOJI = "Zoë 👩🏽‍💻 Martin"
DECOMPOSED = "Ame\u0301lie Poulain"
LONG = ("Ünïcödé Ñame 名前 " * 40)[:500]

NAMES: dict[str, str] = {
    "alice": "Alice Martin",
    "bob": HTML,
    "carol": RTL,
    "dan": RTL_OVERRIDE,
    "erin": EMOJI,
    "fay": DECOMPOSED,
    "gus": LONG,
}


@pytest.fixture
def rtc_users() -> dict[str, dict[str, Any]]:
    return {f"{u}-token": {"username": u, "display_name": n} for u, n in NAMES.items()}


def _sane(initials: str, display_name: str) -> None:
    clusters = graphemes(initials)
    assert 1 <= len(clusters) <= 2, (display_name, initials, clusters)


async def _get(rtc_server: RTCServer, user: str, path: str) -> httpx.Response:
    resp = await rtc_server.request(user, "GET", path)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    # never rendered: API answers forbid everything a browser could run
    assert "default-src 'none'" in resp.headers.get("content-security-policy", "")
    assert resp.headers.get("x-content-type-options") == "nosniff"
    return resp


async def test_display_names_round_trip_verbatim(rtc_server: RTCServer) -> None:
    path = rtc_server.notebook()
    assert len(LONG) == 500
    watcher = await rtc_server.room("alice", path)
    clients = {}
    for user in NAMES:
        if user == "alice":
            continue
        clients[user] = await rtc_server.room(user, path)
        # every client claims to be someone else; the server writes the truth
        await clients[user].set_awareness({"user": {"display_name": "Alice Martin"}, "c": 1})
    await watcher.wait_awareness(
        lambda s: all(s.get(c.client_id) is not None for c in clients.values()), 10
    )
    stream = await rtc_server.stream("alice")
    snapshot = json.loads(await asyncio.wait_for(stream.recv(), 5))
    await stream.close()
    listed = {
        p["username"]: p
        for p in (await _get(rtc_server, "alice", "api/rtc-presence/presence")).json()["people"]
    }
    streamed = {p["username"]: p for p in snapshot["people"]}

    for user, name in NAMES.items():
        me = (await _get(rtc_server, user, "api/me")).json()["identity"]
        assert me["display_name"] == name, (user, me)
        info = (await _get(rtc_server, user, "api/rtc-presence/info")).json()
        assert info["me"]["display_name"] == name
        for view in (listed[user], streamed[user]):
            assert view["display_name"] == name
            assert view["initials"] == me["initials"]
        if user != "alice":
            state = watcher.awareness[clients[user].client_id]
            assert state is not None
            assert state["user"]["display_name"] == name
            assert state["user"]["username"] == user
            assert state["user"]["initials"] == me["initials"]
        assert me["initials"] == make_initials(name, user)
        _sane(me["initials"], name)
    # HTML stays text: the raw answers carry it only as a JSON string
    raw = (await _get(rtc_server, "bob", "api/rtc-presence/info")).text
    assert json.dumps(HTML) in raw or json.dumps(HTML, ensure_ascii=False) in raw
    record(
        "display_names",
        {
            "names": len(NAMES),
            "longest": max(len(n) for n in NAMES.values()),
            "views_checked": ["api/me", "info", "presence", "presence stream", "awareness"],
            "altered": 0,
        },
    )


async def test_owner_identity_is_the_same_before_the_owner_connects(
    rtc_server: RTCServer,
) -> None:
    """``info.owner`` is the owner's identity ("Alice Martin", "AM"), as /api/me says,
    even while the owner has no room open (it used to be made up from the user name)."""
    me = (await _get(rtc_server, "alice", "api/me")).json()["identity"]
    info = (await _get(rtc_server, "bob", "api/rtc-presence/info")).json()
    assert info["owner"] == me, (info["owner"], me)


@pytest.mark.parametrize(
    ("display", "expected"),
    [
        ("Zoë 🇫🇷", "Z🇫🇷"),  # a flag is a pair of regional indicators
        ("1️⃣ One", "1️⃣O"),  # keycap: digit + VS16 + U+20E3 (an enclosing mark)
        ("\u202eevil.exe\u202c Dan", "ED"),  # bidi controls are not letters
        ("\u200b\u200b", "Z"),  # only invisible characters: fall back to the user name
        ("ßeta Alpha", "ßA"),  # "ß".upper() is two letters
    ],
    ids=["flag", "keycap", "bidi-override", "zero-width-only", "sharp-s"],
)
def test_initials_are_whole_visible_graphemes(display: str, expected: str) -> None:
    """Known bug: _first_grapheme keeps combining marks (class != 0) but not enclosing
    marks, regional-indicator pairs or tags, and nothing skips format characters."""
    initials = make_initials(display, "zed")
    clusters = graphemes(initials)
    assert len(clusters) <= 2, clusters
    assert all(is_visible(c) for c in clusters), [hex(ord(ch)) for ch in initials]
    assert initials == expected, [hex(ord(ch)) for ch in initials]
