"""The presence registry through its REST list and its websocket stream."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection

from rtc_presence.presence import PresenceRegistry
from rtc_presence.pytest_plugin import RTCServer
from rtc_presence.testing.waiting import until
from rtc_presence.testing.yclient import append_text


async def _next(ws: ClientConnection, pred: Any, timeout: float = 5) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        raw = await asyncio.wait_for(ws.recv(), max(0.01, deadline - loop.time()))
        msg: dict[str, Any] = json.loads(raw)
        if pred(msg):
            return msg


async def _people(rtc_server: RTCServer, user: str = "alice") -> dict[str, Any]:
    resp = await rtc_server.request(user, "GET", "api/rtc-presence/presence")
    assert resp.status_code == 200
    return {p["username"]: p for p in resp.json()["people"]}


async def test_presence_rest_and_stream(rtc_server: RTCServer) -> None:
    path = rtc_server.notebook()
    stream = await rtc_server.stream("alice")
    snap = json.loads(await asyncio.wait_for(stream.recv(), 5))
    assert snap == {"type": "snapshot", "people": []}

    # bob: two tabs (two global awareness connections) + one document
    g1 = await rtc_server.global_room("bob")
    joined = await _next(stream, lambda m: m["type"] == "join")
    assert joined["person"]["username"] == "bob" and joined["person"]["role"] == "guest"
    g2 = await rtc_server.global_room("bob")
    doc = await rtc_server.room("bob", path)
    await g1.set_awareness({"current": f"notebook:RTC:{path}"})
    update = await _next(stream, lambda m: m["type"] == "update" and m["person"]["current"] == path)
    assert update["person"]["connections"] == 3

    people = await _people(rtc_server)
    assert list(people) == ["bob"]  # one row per person, not per tab
    bob = people["bob"]
    assert bob["display_name"] == "Bob Dupont" and bob["initials"] == "BD"
    assert bob["connections"] == 3
    assert [d["path"] for d in bob["documents"]] == [path]
    assert bob["current"] == path

    # edits are attributed to the connection that sent them
    append_text(doc.doc, 0, "typing")
    await _next(
        stream,
        lambda m: (
            m["type"] == "update" and any(d["edits_recent"] > 0 for d in m["person"]["documents"])
        ),
    )
    people = await _people(rtc_server, "bob")
    assert people["bob"]["documents"][0]["edits_recent"] >= 1
    assert people["bob"]["documents"][0]["last_edit"] is not None

    # closing all of bob's connections: leave
    for c in (g1, g2, doc):
        await c.close()
    left = await _next(stream, lambda m: m["type"] == "leave")
    assert left == {"type": "leave", "username": "bob"}
    assert await _people(rtc_server) == {}
    await stream.close()


async def test_presence_requires_authentication(rtc_server: RTCServer) -> None:
    resp = await rtc_server.request(None, "GET", "api/rtc-presence/presence")
    assert resp.status_code == 403
    try:
        ws = await rtc_server.stream(None)
    except Exception as exc:  # websockets raises InvalidStatus on 403
        assert "403" in str(exc)
    else:
        await ws.close()
        raise AssertionError("anonymous presence stream was accepted")


async def test_join_leave_events_are_emitted(rtc_server: RTCServer) -> None:
    seen = rtc_server.presence_events()
    path = rtc_server.notebook()
    client = await rtc_server.room("carol", path)
    await client.close()
    await until(
        lambda: seen,
        5,
        "carol's leave event",
        accept=lambda s: any(d["action"] == "leave" for d in s),
    )
    actions = [(d["action"], d["username"], d.get("path")) for d in seen]
    assert ("join", "carol", path) in actions and ("leave", "carol", path) in actions


async def test_a_membership_listener_gets_joins_and_leaves_and_costs_no_updates() -> None:
    registry = PresenceRegistry(update_delay=0.0)
    members: list[dict[str, Any]] = []
    registry.subscribe(members.append, membership_only=True)
    identity = {"username": "bob", "name": "Bob", "role": "guest"}
    conn = registry.connect(identity, "json:notebook:1", "a.ipynb")
    registry.record_edit(conn)
    registry.record_awareness(conn, {"cell": 1})
    # Nobody shows rows: no update is built or even scheduled.
    assert registry._flush_handle is None and registry._expiry is None
    everyone: list[dict[str, Any]] = []
    registry.subscribe(everyone.append)
    registry.record_edit(conn)
    await until(lambda: everyone, 5, "an update for the stream")
    registry.disconnect(conn)
    assert [m["type"] for m in members] == ["join", "leave"]
    assert [m["type"] for m in everyone] == ["update", "leave"]
