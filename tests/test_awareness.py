"""Authoritative awareness on a real server with real Yjs clients."""

from __future__ import annotations

import asyncio

from rtc_presence.frames import encode_awareness
from rtc_presence.pytest_plugin import RTCServer
from rtc_presence.testing.yclient import YClient, append_text, cell_source

FORGED_USER = {"username": "alice", "name": "alice", "display_name": "Alice Martin"}


async def _pair(rtc_server: RTCServer) -> tuple[YClient, YClient, YClient]:
    path = rtc_server.notebook()
    alice = await rtc_server.room("alice", path)
    bob = await rtc_server.room("bob", path)
    carol = await rtc_server.room("carol", path)
    await alice.set_awareness({"user": {"name": "whatever"}, "cursors": [1]})
    for c in (bob, carol):
        await c.wait_awareness(lambda s: s.get(alice.client_id) is not None, 5)
    return alice, bob, carol


async def test_user_field_is_the_verified_identity(rtc_server: RTCServer) -> None:
    alice, bob, carol = await _pair(rtc_server)
    # bob claims to be alice: others see bob, and his other fields unchanged.
    await bob.set_awareness({"user": FORGED_USER, "cursors": [{"head": 3}], "extra": "x"})
    await carol.wait_awareness(lambda s: s.get(bob.client_id) is not None, 5)
    state = carol.awareness[bob.client_id]
    assert state is not None
    assert state["user"]["username"] == "bob"
    assert state["user"]["display_name"] == "Bob Dupont"
    assert state["user"]["initials"] == "BD"
    assert state["user"]["role"] == "guest"
    assert state["cursors"] == [{"head": 3}]
    assert state["extra"] == "x"
    # alice's own state was rewritten to her identity too, same from every viewpoint
    a_seen_by_bob = bob.awareness[alice.client_id]
    a_seen_by_carol = carol.awareness[alice.client_id]
    assert a_seen_by_bob == a_seen_by_carol
    assert a_seen_by_bob is not None and a_seen_by_bob["user"]["role"] == "owner"
    assert a_seen_by_bob["cursors"] == [1]


async def test_user_field_with_extra_or_missing_keys(rtc_server: RTCServer) -> None:
    _alice, bob, carol = await _pair(rtc_server)
    await bob.set_awareness({"user": {"username": "alice", "isAdmin": True, "color": "red"}})
    await carol.wait_awareness(lambda s: s.get(bob.client_id) is not None, 5)
    user = carol.awareness[bob.client_id]["user"]  # type: ignore[index]
    assert "isAdmin" not in user and user["username"] == "bob" and user["color"] != "red"
    await bob.set_awareness({"cursor": 1})  # no user field at all
    await carol.wait_awareness(lambda s: (s.get(bob.client_id) or {}).get("cursor") == 1, 5)
    assert carol.awareness[bob.client_id]["user"]["username"] == "bob"  # type: ignore[index]


async def test_forged_client_id_and_null_state_are_dropped(rtc_server: RTCServer) -> None:
    alice, bob, carol = await _pair(rtc_server)
    before = carol.awareness[alice.client_id]
    # bob reuses alice's client id with a much higher clock, then tries to delete it
    await bob.set_awareness({"user": FORGED_USER, "evil": 1}, client_id=alice.client_id, clock=999)
    await bob.set_awareness(None, client_id=alice.client_id, clock=1000)
    # a marker from bob's own id proves his earlier frames were processed
    await bob.set_awareness({"marker": "after-forgery"})
    await carol.wait_awareness(
        lambda s: (s.get(bob.client_id) or {}).get("marker") == "after-forgery", 5
    )
    assert carol.awareness[alice.client_id] == before
    forged = [e for e in carol.awareness_log if e.client_id == alice.client_id and e.clock >= 999]
    assert forged == []
    # the server's own copy is intact as well
    room = next(iter(rtc_server.state.presence._people["alice"].connections))
    assert room.username == "alice"


async def test_closed_connection_state_removed_at_once(rtc_server: RTCServer) -> None:
    _alice, bob, carol = await _pair(rtc_server)
    await bob.set_awareness({"cursor": 5})
    await carol.wait_awareness(lambda s: s.get(bob.client_id) is not None, 5)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await bob.close()
    await carol.wait_awareness(lambda s: s.get(bob.client_id) is None, 1.0)
    assert loop.time() - t0 < 1.0


async def test_crashed_client_dropped_by_ping(rtc_server: RTCServer) -> None:
    _alice, bob, carol = await _pair(rtc_server)
    await bob.set_awareness({"cursor": 5})
    await carol.wait_awareness(lambda s: s.get(bob.client_id) is not None, 5)
    # Simulate a frozen peer: stop reading, so pongs never come back.
    bob.websocket.transport.pause_reading()
    cfg = rtc_server.state.settings
    budget = cfg.ping_interval + cfg.ping_timeout + 1.5
    await carol.wait_awareness(lambda s: s.get(bob.client_id) is None, budget)


async def test_edits_still_flow_and_malformed_frames_close_only_sender(
    rtc_server: RTCServer,
) -> None:
    alice, bob, carol = await _pair(rtc_server)
    bad_frames = [
        b"",
        b"\x07",
        b"\x00\x02\x05abc",  # sync update, truncated payload
        b"\x00\x02\x03\xff\xff\xff",  # sync update, garbage payload
        b"\x00\x09\x00",  # unknown sync type
        b"\x01\x05\x01\x01",  # awareness, truncated
        encode_awareness([(bob.client_id, 1, "[1,2]")]),  # state not an object
        b"\x01\x06\x01\x07\x01\x02\xff\xfe",  # invalid UTF-8 state
    ]
    for frame in bad_frames:
        mallory = await rtc_server.room("mallory", "shared.ipynb")
        await mallory.send_raw(frame)
        code, reason = await mallory.wait_closed(5)
        assert code == 4400, (frame, code, reason)
        assert reason and reason.startswith("malformed message")
    append_text(alice.doc, 0, "still-alive")
    await bob.wait_until(lambda: "still-alive" in str(cell_source(bob.doc, 0)), 5)
    await carol.wait_until(lambda: "still-alive" in str(cell_source(carol.doc, 0)), 5)


async def test_awareness_flood_is_closed(rtc_server: RTCServer) -> None:
    alice, bob, carol = await _pair(rtc_server)
    limit = rtc_server.state.settings.awareness_rate_limit
    for i in range(int(limit * 3)):
        if bob.closed:
            break
        await bob.set_awareness({"n": i})
    code, reason = await bob.wait_closed(5)
    assert code == 4429, reason
    await alice.set_awareness({"ok": True})
    await carol.wait_awareness(lambda s: (s.get(alice.client_id) or {}).get("ok") is True, 5)


async def test_global_awareness_room_is_enforced(rtc_server: RTCServer) -> None:
    alice = await rtc_server.global_room("alice")
    bob = await rtc_server.global_room("bob")
    await bob.set_awareness({"user": FORGED_USER, "current": "notebook:RTC:shared.ipynb"})
    await alice.wait_awareness(lambda s: s.get(bob.client_id) is not None, 5)
    assert alice.awareness[bob.client_id]["user"]["username"] == "bob"  # type: ignore[index]
    assert alice.awareness[bob.client_id]["current"] == "notebook:RTC:shared.ipynb"  # type: ignore[index]
