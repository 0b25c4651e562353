"""Activity computed by the server (editing / viewing / active / idle), on a real server,
with a short ``activity_window`` so the time-based changes are seen on the stream."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from typing import Any

import pycrdt
import pytest
from pycrdt import create_update_message
from websockets.asyncio.client import ClientConnection

from rtc_presence.presence import counts_as_activity, is_document_stamp
from rtc_presence.pytest_plugin import RTCServer
from rtc_presence.testing.waiting import until
from rtc_presence.testing.yclient import YClient, append_text

WINDOW = 1.5


@pytest.fixture
def rtc_config() -> dict[str, Any]:
    return {"activity_window": WINDOW}


async def _activity_of(
    stream: ClientConnection, username: str, expected: str, timeout: float
) -> float:
    """Seconds until the stream says ``username``'s activity is ``expected``."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    while True:
        left = t0 + timeout - loop.time()
        if left <= 0:
            raise AssertionError(f"{username} not {expected} within {timeout} s")
        msg = json.loads(await asyncio.wait_for(stream.recv(), left))
        person = msg.get("person") or {}
        if person.get("username") == username and person.get("activity") == expected:
            return loop.time() - t0


async def _rest_activity(rtc_server: RTCServer) -> dict[str, str]:
    r = await rtc_server.request("alice", "GET", "api/rtc-presence/presence")
    return {p["username"]: p["activity"] for p in r.json()["people"]}


def test_background_polls_are_not_activity() -> None:
    for path in ("api/kernels", "api/sessions", "api/contents/dir", "api/me", "api/terminals"):
        assert not counts_as_activity("GET", path)
    for method, path in (
        ("GET", "lab"),
        ("GET", "api/rtc-presence/guests"),
        ("POST", "api/rtc-presence/invites"),
        ("PUT", "api/collaboration/session/a.ipynb"),
        ("POST", "api/kernels"),
        ("PUT", "lab/api/workspaces/default"),
    ):
        assert counts_as_activity(method, path), (method, path)


async def test_activity_follows_what_people_do(rtc_server: RTCServer) -> None:
    path = rtc_server.notebook()
    stream = await rtc_server.stream("alice")
    json.loads(await asyncio.wait_for(stream.recv(), 5))  # snapshot

    # bob's Lab is open (global awareness) and only polls in the background: idle
    bob_global = await rtc_server.global_room("bob")
    await _activity_of(stream, "bob", "idle", 5)
    for poll in ("api/kernels", "api/sessions", "api/contents", "api/me"):
        assert (await rtc_server.request("bob", "GET", poll)).status_code == 200
    assert (await _rest_activity(rtc_server))["bob"] == "idle"

    # any other use of the server (here: creating a file): active, then idle
    r = await rtc_server.request("bob", "POST", "api/contents", body={"type": "file"})
    assert r.status_code == 201, r.text
    await _activity_of(stream, "bob", "active", 2)
    back_to_idle = await _activity_of(stream, "bob", "idle", WINDOW + 2)
    assert back_to_idle <= WINDOW + 1.0, back_to_idle

    # a document open and no edit: viewing
    bob_doc = await rtc_server.room("bob", path)
    await bob_global.set_awareness({"current": f"notebook:RTC:{path}"})
    await _activity_of(stream, "bob", "viewing", 3)
    assert (await _rest_activity(rtc_server))["bob"] == "viewing"

    # an edit: editing, then viewing again once the window has passed
    t_edit = time.monotonic()
    append_text(bob_doc.doc, 0, "typing")
    await _activity_of(stream, "bob", "editing", 3)
    await _activity_of(stream, "bob", "viewing", WINDOW + 2)
    assert time.monotonic() - t_edit >= WINDOW - 0.1

    # document closed, nothing focused: the awareness change is a use of the server
    await bob_doc.close()
    await bob_global.set_awareness({"current": None})
    await _activity_of(stream, "bob", "active", 3)
    await _activity_of(stream, "bob", "idle", WINDOW + 2)

    # the owner busy in the sharing dialog is active, not idle
    alice_global = await rtc_server.global_room("alice")
    await _activity_of(stream, "alice", "idle", 3)
    await rtc_server.request("alice", "GET", "api/rtc-presence/guests")
    await _activity_of(stream, "alice", "active", 2)
    people = await _rest_activity(rtc_server)
    assert people == {"bob": "idle", "alice": "active"}
    for client in (bob_global, alice_global):
        await client.close()
    await stream.close()


def _updates(doc: pycrdt.Doc[Any], change: Any) -> list[bytes]:
    seen: list[bytes] = []
    sub = doc.observe(lambda event: seen.append(create_update_message(event.update)))
    change()
    doc.unobserve(sub)
    return seen


def test_the_document_id_stamp_is_not_an_edit() -> None:
    # What JupyterLab's document provider writes on every sync
    # (@jupyter/docprovider, WebSocketProvider._onSync), seen on a real browser.
    room = "json:notebook:ec45b33e-38f5-4465-97d9-79138dcd9231"
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    state = doc.get("state", type=pycrdt.Map)
    cells = doc.get("cells", type=pycrdt.Array)
    (first,) = _updates(doc, lambda: state.__setitem__("document_id", room))
    assert is_document_stamp(first, room)
    # a second tab writes it again: the struct points at the old value, no parent
    (again,) = _updates(doc, lambda: state.__setitem__("document_id", room))
    assert is_document_stamp(again, room)
    # anything else is an edit
    (other_room,) = _updates(doc, lambda: state.__setitem__("document_id", room + "x"))
    assert not is_document_stamp(other_room, room)
    (dirty,) = _updates(doc, lambda: state.__setitem__("dirty", True))
    assert not is_document_stamp(dirty, room)
    (typing,) = _updates(doc, lambda: cells.append("x"))
    assert not is_document_stamp(typing, room)
    for junk in (b"", b"\x00\x02", b"\x00\x02\x05\x01\x01\x01", first[:-3]):
        assert not is_document_stamp(junk, room)


async def test_opening_a_document_is_viewing_not_editing(rtc_server: RTCServer) -> None:
    path = rtc_server.notebook()
    alice = await rtc_server.room("alice", path)
    url = await rtc_server.room_link("bob", path)
    room_id = urllib.parse.unquote(url.split("/room/")[1].split("?")[0])
    bob = await YClient.connect(url, headers=rtc_server.auth("bob"))
    state = bob.doc.get("state", type=pycrdt.Map)
    with bob.doc.transaction():
        state["document_id"] = room_id  # what JupyterLab sends when it opens a document
    await bob.flush()
    # frames of one socket are handled in order: once alice sees this cursor,
    # the server has handled the stamp before it
    await bob.set_awareness({"cursor": 1})
    await alice.wait_awareness(lambda s: (s.get(bob.client_id) or {}).get("cursor") == 1, 5)
    r = await rtc_server.request("alice", "GET", "api/rtc-presence/presence")
    people = {p["username"]: p for p in r.json()["people"]}
    assert people["bob"]["activity"] == "viewing"
    assert people["bob"]["documents"][0]["edits_recent"] == 0
    append_text(bob.doc, 0, "typing")
    await until(
        lambda: _rest_activity(rtc_server), 5, "bob editing", accept=lambda a: a["bob"] == "editing"
    )
    await bob.close()
    await alice.close()
