"""Eviction on a real server: every connection of a person closes at once."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from rtc_presence.pytest_plugin import RTCServer
from rtc_presence.testing.waiting import until
from rtc_presence.testing.yclient import append_text, cell_source


async def test_evict_closes_everything_and_refuses_until_allowed(rtc_server: RTCServer) -> None:
    path = rtc_server.notebook()
    alice = await rtc_server.room("alice", path)
    carol = await rtc_server.room("carol", path)
    bob = await rtc_server.room("bob", path)
    bob_global = await rtc_server.global_room("bob")
    bob_stream = await rtc_server.stream("bob")
    await bob.set_awareness({"cursor": 1})
    await alice.wait_awareness(lambda s: s.get(bob.client_id) is not None, 5)

    resp = await rtc_server.request("bob", "POST", "api/kernels", body={"name": "python3"})
    assert resp.status_code == 201, resp.text
    kernel_id = resp.json()["id"]
    kernel_ws = await rtc_server.ws(f"api/kernels/{kernel_id}/channels", "bob")

    loop = asyncio.get_running_loop()
    t0 = loop.time()
    closed = rtc_server.state.gate.evict("bob", by="alice")
    assert closed == 4  # notebook room, global awareness, presence stream, kernel
    # awareness gone for others at once, all sockets closed with 4403
    await alice.wait_awareness(lambda s: s.get(bob.client_id) is None, 1.0)
    for client in (bob, bob_global):
        code, reason = await client.wait_closed(1.0)
        assert (code, reason) == (4403, "access revoked")
    for ws in (bob_stream, kernel_ws):
        try:
            await asyncio.wait_for(ws.recv(), 1.0)
            while True:
                await asyncio.wait_for(ws.recv(), 1.0)
        except ConnectionClosed as exc:
            assert exc.rcvd is not None and exc.rcvd.code == 4403
    elapsed = loop.time() - t0
    assert elapsed < 1.0, elapsed

    # refused over HTTP and websockets until the owner allows again
    resp = await rtc_server.request("bob", "GET", "api/contents")
    assert resp.status_code == 403
    assert "revoked" in resp.json()["message"]
    try:
        await rtc_server.room("bob", path)
        raise AssertionError("revoked guest reconnected")
    except Exception as exc:
        assert "403" in str(exc)

    # the others keep working
    append_text(alice.doc, 0, "after-eviction")
    await carol.wait_until(lambda: "after-eviction" in str(cell_source(carol.doc, 0)), 5)
    people = await rtc_server.request("alice", "GET", "api/rtc-presence/presence")
    assert "bob" not in {p["username"] for p in people.json()["people"]}

    assert rtc_server.state.gate.allow("bob")
    resp = await rtc_server.request("bob", "GET", "api/contents")
    assert resp.status_code == 200
    await rtc_server.request("alice", "DELETE", f"api/kernels/{kernel_id}")


async def test_owner_is_never_evicted(rtc_server: RTCServer) -> None:
    try:
        rtc_server.state.gate.evict("alice", by="bob")
        raise AssertionError("owner evicted")
    except ValueError:
        pass
    resp = await rtc_server.request("alice", "GET", "api/contents")
    assert resp.status_code == 200


async def test_evicted_event(rtc_server: RTCServer) -> None:
    seen = rtc_server.presence_events()
    await rtc_server.global_room("bob")
    rtc_server.state.gate.evict("bob", by="alice")
    await until(
        lambda: seen,
        5,
        "the evicted event",
        accept=lambda s: any(d["action"] == "evicted" for d in s),
    )
    ev = next(d for d in seen if d["action"] == "evicted")
    assert json.loads(json.dumps(ev)) == {
        "action": "evicted",
        "username": "bob",
        "role": "guest",
        "by": "alice",
        "connections": 1,
    }


async def _close_of(ws: Any, timeout: float) -> tuple[int | None, str | None]:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except ConnectionClosed as exc:
        return (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd else (None, None)


async def test_server_stopping_tells_guests_and_spares_the_owner(rtc_server: RTCServer) -> None:
    path = rtc_server.notebook()
    bob_doc = await rtc_server.room("bob", path)
    bob_global = await rtc_server.global_room("bob")
    bob_stream = await rtc_server.stream("bob")
    carol_stream = await rtc_server.stream("carol")
    alice_global = await rtc_server.global_room("alice")
    alice_stream = await rtc_server.stream("alice")
    resp = await rtc_server.request("bob", "POST", "api/kernels", body={"name": "python3"})
    assert resp.status_code == 201, resp.text
    kernel_ws = await rtc_server.ws(f"api/kernels/{resp.json()['id']}/channels", "bob")

    # the extension's own stop hook, as jupyter_server calls it when the server stops
    (extension,) = rtc_server.app.extension_manager.extension_apps["rtc_presence"]
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await extension.stop_extension()
    for client in (bob_doc, bob_global):
        assert await client.wait_closed(1.0) == (4403, "server stopping")
    for ws in (bob_stream, carol_stream, kernel_ws):
        assert await _close_of(ws, 1.0) == (4403, "server stopping")
    assert loop.time() - t0 < 1.5
    # the owner's connections are left to the server's own shutdown
    assert not alice_global.closed
    pong = await alice_stream.ping()
    await asyncio.wait_for(pong, 1.0)
    # no guest websocket is admitted any more; the owner's still are
    with pytest.raises(Exception, match="403"):
        await rtc_server.stream("bob")
    owner_again = await rtc_server.stream("alice")
    await owner_again.close()
    await alice_stream.close()
